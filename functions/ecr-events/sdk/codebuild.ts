/** The CodeBuild client for the sweeper's build check, for a dynamic import() that bundles only it (builds.ts imports the commands). */
export { CodeBuildClient } from '@aws-sdk/client-codebuild';
