import { C2CError, errorMessage } from './errors.js';

/**
 * The one retry helper: exponential backoff with full jitter, bounded attempts and bounded total
 * time, honouring Retry-After. Every network call of the engine goes through it.
 */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  attempts?: number;
  /** First backoff, doubled each time. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff (Retry-After included). Default 10 s. */
  maxDelayMs?: number;
  /** Total time bound: no attempt starts after it. Default 60 s. */
  deadlineMs?: number;
  /** Whether an error is worth another attempt. Default: isTransient. */
  retryable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** An error that says when to try again (from a Retry-After header). */
export interface HasRetryAfter {
  retryAfterMs?: number;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Network failures, 408, 429 and 5xx other than 501 are transient. */
export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; status?: number; transient?: boolean; cause?: unknown; message?: string };
  if (typeof e.transient === 'boolean') return e.transient;
  if (typeof e.status === 'number')
    return e.status === 408 || e.status === 429 || (e.status >= 500 && e.status !== 501);
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  if (e.message && /socket hang up|ECONNRESET|timed out/i.test(e.message)) return true;
  return e.cause ? isTransient(e.cause) : false;
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export class RetryExhaustedError extends C2CError {
  override name = 'RetryExhaustedError';
  constructor(
    what: string,
    readonly attempts: number,
    elapsedMs: number,
    readonly last: unknown,
  ) {
    super(
      `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${(elapsedMs / 1000).toFixed(1)}s: ${errorMessage(last)}`,
      {
        cause: last,
      },
    );
  }
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function retry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 250;
  const cap = opts.maxDelayMs ?? 10_000;
  const deadline = opts.deadlineMs ?? 60_000;
  const retryable = opts.retryable ?? isTransient;
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const elapsed = Date.now() - start;
      // A permanent failure (401, 404, bad input) is the caller's to explain: passed on as it is.
      if (!retryable(err)) throw err;
      const retryAfter = (err as HasRetryAfter)?.retryAfterMs;
      const backoff = Math.min(cap, base * 2 ** (attempt - 1));
      const delay = Math.min(cap, retryAfter !== undefined ? retryAfter : Math.round(random() * backoff));
      if (attempt >= attempts || elapsed + delay > deadline)
        throw new RetryExhaustedError(what, attempt, elapsed, err);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
