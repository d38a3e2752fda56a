import { formatDuration, Masker, type Logger, type SourceLocation } from '../core/index.js';

/**
 * The engine's Logger as the `c2c` command shows it. The engine speaks in phases (`group`) and lines;
 * how they look depends on where they go:
 *
 * - **live** (an interactive terminal): the running phase is a status line at the bottom, rewritten
 *   ten times a second with a spinner and the time it has taken (`⠹ Build and push … 14s`); the lines
 *   a phase prints scroll above it under the phase's name, and each phase ends with one line
 *   `✓ name 14.2s` (or `✗ name failed after 3.1s`).
 * - **plain** (a pipe, a file, a CI log): lines only, never a carriage return or an escape sequence:
 *   `== name` when a phase starts, its lines indented, `done in 14.2s` when a phase took a while, and
 *   a `… still running` line when a phase has been silent for `heartbeatMs` (no silent minute in a CI log).
 *
 * Live needs the stream to be a TTY, and no `CI` variable (CircleCI gives its steps a TTY, but its
 * log is a file) and no `TERM=dumb`.
 */
export interface ProgressOptions {
  verbose?: boolean;
  /** Where log lines (and the status line) go. */
  out: NodeJS.WritableStream;
  /** Where warnings, errors and debug lines go. */
  err: NodeJS.WritableStream;
  /** Rewrite a status line (default: isLiveTerminal(out)). */
  live?: boolean;
  now?: () => number;
  /** Live: how often the status line is redrawn. Default 100 ms. */
  intervalMs?: number;
  /** Plain: a phase silent this long says it is still running. Default 30 s. */
  heartbeatMs?: number;
  /** Plain: a phase that took at least this long says so when it ends. Default 2 s. */
  reportAfterMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

/** Whether a stream is an interactive terminal that a rewritten status line suits. */
export function isLiveTerminal(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!(stream as { isTTY?: boolean }).isTTY) return false;
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false;
  return env.TERM !== 'dumb';
}

function formatWhere(where?: SourceLocation): string {
  if (!where) return '';
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.column ? `:${where.column}` : ''}: `;
}

/** Whole seconds while a phase runs (`14s`, `2m05s`): the status line changes once a second. */
function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

interface Frame {
  name: string;
  start: number;
  depth: number;
  /** Its `== name` line has been printed (live: only once something is printed inside it). */
  shown: boolean;
  lastLine: number;
}

export interface ProgressLogger extends Logger {
  /** Stops the timers and clears the status line (the process can then end at once). */
  close(): void;
}

export function progressLogger(opts: ProgressOptions): ProgressLogger {
  const masker = new Masker();
  const now = opts.now ?? Date.now;
  const live = opts.live ?? isLiveTerminal(opts.out);
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const reportAfterMs = opts.reportAfterMs ?? 2_000;
  const frames: Frame[] = [];
  let statusShown = false;
  let tick = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const indent = (depth: number) => '  '.repeat(depth);
  const columns = () => {
    const c = (opts.out as { columns?: number }).columns;
    return c && c > 0 ? c : 80; // a pty without a size says 0
  };

  const clearStatus = () => {
    if (statusShown) opts.out.write(CLEAR_LINE);
    statusShown = false;
  };
  const drawStatus = () => {
    const f = frames[frames.length - 1];
    if (!live || !f) return;
    const text = masker.mask(`${FRAMES[tick % FRAMES.length]} ${f.name} ${elapsed(now() - f.start)}`);
    // Wider than the terminal, the line would wrap and \r would rewrite only its last part.
    const width = Math.max(columns() - 1, 10);
    opts.out.write(`${CLEAR_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    statusShown = true;
  };

  /** Prints the names of the phases a line appears in that have not said their name yet. */
  const showFrames = () => {
    for (const f of frames)
      if (!f.shown) {
        opts.out.write(masker.mask(`${indent(f.depth)}== ${f.name}`) + '\n');
        f.shown = true;
      }
  };

  const write = (stream: NodeJS.WritableStream, text: string) => {
    clearStatus();
    showFrames();
    const depth = frames.length;
    stream.write(masker.mask(`${indent(depth)}${text}`) + '\n');
    const t = now();
    for (const f of frames) f.lastLine = t;
    drawStatus();
  };

  const startTimer = () => {
    if (timer) return;
    if (live)
      timer = setInterval(() => {
        tick++;
        drawStatus();
      }, opts.intervalMs ?? 100);
    else
      timer = setInterval(
        () => {
          const f = frames[frames.length - 1];
          if (!f) return;
          const t = now();
          if (t - f.lastLine < heartbeatMs) return;
          opts.out.write(
            masker.mask(`${indent(frames.length)}… still running: ${f.name} (${elapsed(t - f.start)})`) +
              '\n',
          );
          for (const g of frames) g.lastLine = t;
        },
        Math.min(heartbeatMs, 1000),
      );
    timer.unref?.();
  };
  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  const logger: ProgressLogger = {
    debug: (m) => {
      if (opts.verbose) write(opts.err, `debug: ${m}`);
    },
    info: (m) => write(opts.out, m),
    warning: (m, w) => write(opts.err, `warning: ${formatWhere(w)}${m}`),
    error: (m, w) => write(opts.err, `error: ${formatWhere(w)}${m}`),
    group: async (name, fn) => {
      clearStatus();
      const frame: Frame = { name, start: now(), depth: frames.length, shown: false, lastLine: now() };
      frames.push(frame);
      if (!live) showFrames();
      startTimer();
      drawStatus();
      let ok = false;
      try {
        const r = await fn();
        ok = true;
        return r;
      } finally {
        const ms = now() - frame.start;
        clearStatus();
        const at = frames.indexOf(frame);
        if (at >= 0) frames.splice(at, 1);
        if (live) {
          // The phases around it say their names first: its line belongs under them.
          showFrames();
          opts.out.write(
            masker.mask(
              `${indent(frame.depth)}${ok ? '✓' : '✗'} ${name} ${ok ? formatDuration(ms) : `failed after ${formatDuration(ms)}`}`,
            ) + '\n',
          );
        } else if (ms >= reportAfterMs)
          opts.out.write(
            masker.mask(
              `${indent(frame.depth + 1)}${ok ? 'done in' : 'failed after'} ${formatDuration(ms)}`,
            ) + '\n',
          );
        if (frames.length === 0) stopTimer();
        else drawStatus();
      }
    },
    secret: (v) => masker.add(v),
    mask: (t) => masker.mask(t),
    close: () => {
      stopTimer();
      clearStatus();
    },
  };
  return logger;
}
