import { C2CError } from './errors.js';

/**
 * Cancellation: a runner cancels a job with SIGINT, then SIGTERM about 7.5 s later, then kills it
 * (GitHub Actions; CodeBuild and CircleCI send SIGTERM). The engine gets one AbortSignal for both and
 * ends what it started where it stands (see runDeploy): it never just dies half-way.
 */
export class CancelledError extends C2CError {
  override name = 'CancelledError';
}

/** The reason a signal gives, in words: "SIGINT". */
export function cancelReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'cancelled';
}

/** Throws CancelledError when the signal has fired; `when` says where the run stood. */
export function throwIfCancelled(signal: AbortSignal | undefined, when: string): void {
  if (signal?.aborted) throw new CancelledError(`Cancelled (${cancelReason(signal)}) ${when}.`);
}

/**
 * The process's termination signals as one AbortSignal: the first SIGINT or SIGTERM aborts it (its
 * reason: the signal's name) and `said` is told; later ones are only told (the run is finishing up:
 * Node's default, exiting at once, would leave the half-done work behind). dispose() takes the
 * handlers off again.
 */
export function onTermination(said: (message: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      said(`${name} received: finishing or undoing what is in progress, then stopping.`);
      controller.abort(name);
    } else said(`${name} received again: still finishing up.`);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}

/** Waits `ms`, or less when the signal fires (then throws CancelledError saying `when`). */
export function cancellableSleep(ms: number, signal: AbortSignal | undefined, when: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(`Cancelled (${cancelReason(signal)}) ${when}.`));
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new CancelledError(`Cancelled (${cancelReason(signal!)}) ${when}.`));
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
