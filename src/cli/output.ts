/** How the `c2c` command shows results to people: aligned tables, short durations, output lines. */

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A duration for people, two units at most: 42s, 12m, 3h12m, 2d3h. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** The outputs of a command as `name=value` lines (a value with a newline as a JSON string). */
export function outputLines(outputs: Record<string, string>, o: { skipEmpty?: boolean } = {}): string {
  return Object.entries(outputs)
    .filter(([, v]) => !o.skipEmpty || v)
    .map(([k, v]) => `${k}=${v.includes('\n') ? JSON.stringify(v) : v}\n`)
    .join('');
}
