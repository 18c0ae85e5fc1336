// The page's one worker client, made on first use. Tests put a fake in its place with
// setClient(); nothing here touches tensors (DESIGN §3: store → worker/client).
import { createCalmClient, defaultModelsUrl, proxyCallback, transferBundle } from '../worker/client';

export type CalmClient = ReturnType<typeof createCalmClient>;
export type CalmApi = CalmClient['api'];

let client: CalmClient | null = null;

export function getClient(): CalmClient {
  return (client ??= createCalmClient());
}

export function setClient(c: CalmClient | null): void {
  client = c;
}

let probeFactory: () => CalmClient = () => createCalmClient();

/** A throwaway worker of the same code, for work that must not hold up the page's own (timing backends). */
export function createProbeClient(): CalmClient {
  return probeFactory();
}

/** Tests put a fake maker of throwaway workers in place (null: the real one). */
export function setProbeClientFactory(f: (() => CalmClient) | null): void {
  probeFactory = f ?? (() => createCalmClient());
}

/** The worker's API, looked up on each call (a restart replaces it). */
export function api(): CalmApi {
  return getClient().api;
}

export { defaultModelsUrl, proxyCallback, transferBundle };

/** An error's one-line message, for people. */
export function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] || 'unknown error';
}
