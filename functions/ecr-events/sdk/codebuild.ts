/** The CodeBuild client and the command the handler reads a build's exported digest with, for a dynamic import() (sweep/running-builds.ts imports the sweeper's commands). */
export { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
