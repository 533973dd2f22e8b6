/**
 * The command-line tool's programmatic interface: planning, packing and uploading a build context
 * exactly as `ecr-pipeline submit` does. Other parts of the project (the local cloud, its demo and
 * benchmarks, the end-to-end tests) import this module, as a user of the tool would; the rest of
 * `cli/` is the tool's own. Following an upload to its build is `follow/upload.ts`.
 */
export {
  type ContextOptions,
  type ContextPlan,
  type PackProgress,
  packContext,
  planContext,
} from './context.ts';
export { UploadInterrupted, type UploadRequest, type UploadResult, uploadContext } from './upload.ts';
