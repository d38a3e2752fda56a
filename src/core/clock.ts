/**
 * A monotonic clock in milliseconds, for timing phases. It reads process.hrtime, which Node has
 * loaded already: the `performance` global loads perf_hooks on first use (about 2 ms of start-up,
 * which the hash-base skip path would pay for one phase timing).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
