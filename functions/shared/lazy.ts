/**
 * A value made on first use and shared afterwards: for SDK clients a function needs only on some
 * paths, loaded with a dynamic `import()` so that their code is not part of every cold start
 * (scripts/build.mjs splits them into chunks beside the entry).
 */

/** Runs `load` on the first call and returns its promise to every caller; a failed load is tried again. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** Whether an endpoint is configured for the SDK (`AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`). */
export function endpointConfigured(service: string, env: Record<string, string | undefined>): boolean {
  return Boolean(env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL);
}
