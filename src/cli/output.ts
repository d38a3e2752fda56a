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

/** A duration for people (now in src/core/inputs.ts, shared with the engine). */
export { shortDuration } from '../core/index.js';

/** The outputs of a command as `name=value` lines (a value with a newline as a JSON string). */
export function outputLines(outputs: Record<string, string>, o: { skipEmpty?: boolean } = {}): string {
  return Object.entries(outputs)
    .filter(([, v]) => !o.skipEmpty || v)
    .map(([k, v]) => `${k}=${v.includes('\n') ? JSON.stringify(v) : v}\n`)
    .join('');
}
