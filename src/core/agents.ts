/**
 * What closes pooled HTTP connections at exit, kept apart from http.ts: an action that never made
 * a request closes nothing, and loads no network module to find that out.
 */
const closers = new Set<() => void>();

/** Registers a function that closes a connection pool (http.ts registers its agents). */
export function onCloseHttpAgents(close: () => void): void {
  closers.add(close);
}

/** Closes pooled sockets so a process can exit promptly. */
export function closeHttpAgents(): void {
  for (const close of closers) close();
}
