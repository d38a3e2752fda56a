/**
 * A monotonic clock in milliseconds, for timing phases. It reads process.hrtime, which Node has
 * loaded already: the `performance` global loads perf_hooks on first use (about 2 ms of start-up,
 * which the hash-base skip path would pay for one phase timing).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A time for people, relative to `now` and then as a date: "in 3 days, Thu 5 Dec 06:41 UTC",
 * "in 5 hours, …", "in 12 minutes, …", "2 hours ago, …" (UTC: the runners' and the logs' zone).
 */
export function formatWhen(at: string | number | Date, now: number): string {
  const t = new Date(at).getTime();
  if (Number.isNaN(t)) return String(at);
  const d = new Date(t);
  const date = `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}${d.getUTCFullYear() !== new Date(now).getUTCFullYear() ? ` ${d.getUTCFullYear()}` : ''} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
  const ms = Math.abs(t - now);
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const span =
    ms < 90_000
      ? unit(Math.max(1, Math.round(ms / 60_000)), 'minute')
      : ms < 90 * 60_000
        ? unit(Math.round(ms / 60_000), 'minute')
        : ms < 36 * 3_600_000
          ? unit(Math.round(ms / 3_600_000), 'hour')
          : unit(Math.round(ms / 86_400_000), 'day');
  return `${t >= now ? `in ${span}` : `${span} ago`}, ${date}`;
}
