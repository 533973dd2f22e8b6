/** Anything with the SDK clients' `send`. */
export interface Sender {
  // biome-ignore lint/suspicious/noExplicitAny: accepts every command of a client, as the SDK's own signature does
  send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any>;
}
