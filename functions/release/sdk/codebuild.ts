/** What the check of lost legs needs of CodeBuild; loaded on first use, off every other invocation's path. */
export { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
