/**
 * The engine's only view of where it runs. The actions adapt @actions/core to it, the CLI writes to
 * the terminal, the tests record. Nothing in the engine prints any other way.
 */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string, where?: SourceLocation): void;
  error(message: string, where?: SourceLocation): void;
  /** Runs fn inside a collapsible group (a phase of the job log). */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Registers a secret before its first use: from now on it never reaches a log. */
  secret(value: string): void;
  /**
   * The text as this logger would print it: every registered secret replaced by ***. For text that
   * leaves through another way than a log line (an error message, a command line in an error).
   */
  mask?(text: string): string;
}

/** Replaces every registered secret in a text by ***. */
export class Masker {
  private readonly secrets = new Set<string>();

  add(value: string): void {
    if (!value) return;
    this.secrets.add(value);
    // Multi-line secrets (a kubeconfig, a PEM key) are also masked line by line, as the runner does.
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 4) this.secrets.add(line.trim());
  }

  mask(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
    return out;
  }
}

function formatWhere(where?: SourceLocation): string {
  if (!where) return '';
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.column ? `:${where.column}` : ''}: `;
}

/** A Logger for terminals and CI logs outside GitHub (the c2c CLI). */
export function consoleLogger(
  opts: { verbose?: boolean; out?: NodeJS.WritableStream; err?: NodeJS.WritableStream } = {},
): Logger {
  const masker = new Masker();
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const write = (stream: NodeJS.WritableStream, text: string) => stream.write(masker.mask(text) + '\n');
  let depth = 0;
  const indent = () => '  '.repeat(depth);
  return {
    debug: (m) => {
      if (opts.verbose) write(err, `${indent()}debug: ${m}`);
    },
    info: (m) => write(out, `${indent()}${m}`),
    warning: (m, w) => write(err, `${indent()}warning: ${formatWhere(w)}${m}`),
    error: (m, w) => write(err, `${indent()}error: ${formatWhere(w)}${m}`),
    group: async (name, fn) => {
      write(out, `${indent()}== ${name}`);
      depth++;
      try {
        return await fn();
      } finally {
        depth--;
      }
    },
    secret: (v) => masker.add(v),
    mask: (t) => masker.mask(t),
  };
}

export interface RecordedLine {
  level: 'debug' | 'info' | 'warning' | 'error' | 'group';
  message: string;
  where?: SourceLocation;
}

/** A Logger that keeps every (masked) line: for tests, and for the engine's own summaries. */
export function memoryLogger(): Logger & { lines: RecordedLine[]; text(): string } {
  const masker = new Masker();
  const lines: RecordedLine[] = [];
  const push = (level: RecordedLine['level'], message: string, where?: SourceLocation) =>
    lines.push({ level, message: masker.mask(message), ...(where ? { where } : {}) });
  return {
    lines,
    text: () => lines.map((l) => `${l.level}: ${formatWhere(l.where)}${l.message}`).join('\n'),
    debug: (m) => push('debug', m),
    info: (m) => push('info', m),
    warning: (m, w) => push('warning', m, w),
    error: (m, w) => push('error', m, w),
    group: async (name, fn) => {
      push('group', name);
      return fn();
    },
    secret: (v) => masker.add(v),
    mask: (t) => masker.mask(t),
  };
}

/** Discards everything; still honours the interface. */
export const nullLogger: Logger = {
  debug: () => {},
  info: () => {},
  warning: () => {},
  error: () => {},
  group: (_n, fn) => fn(),
  secret: () => {},
};
