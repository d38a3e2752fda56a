import type { SourceLocation } from './logger.js';

/** Any failure the engine reports to a user: its message is the whole story, no stack needed. */
export class C2CError extends Error {
  override name = 'C2CError';
  /** Where in a user's file the problem is (for annotations). */
  where?: SourceLocation;

  constructor(message: string, opts: { cause?: unknown; where?: SourceLocation } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.where) this.where = opts.where;
  }
}

/**
 * Bad input: names the input, says what was wrong and what would be right. Raised while validating,
 * before anything is changed anywhere.
 */
export class InputError extends C2CError {
  override name = 'InputError';
  constructor(
    readonly input: string,
    problem: string,
    expected?: string,
    opts: { where?: SourceLocation } = {},
  ) {
    super(`Input '${input}': ${problem}${expected ? `. Expected ${expected}` : ''}.`, opts);
  }
}

/** Several problems at once (every rejected object, say): one annotation each, on its file and line. */
export class ProblemsError extends C2CError {
  override name = 'ProblemsError';
  constructor(
    message: string,
    readonly problems: C2CError[],
    opts: { where?: SourceLocation; cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

/**
 * The same failure with more said after it (what was cleaned up, say): a new error, the original
 * its cause, its place in a file and its problems kept. An error is never edited after it is thrown.
 */
export function withNote(e: unknown, note: string): C2CError {
  const message = `${errorMessage(e)}\n${note}`;
  const where = e instanceof C2CError && e.where ? { where: e.where } : {};
  if (e instanceof ProblemsError) return new ProblemsError(message, e.problems, { ...where, cause: e });
  return new C2CError(message, { ...where, cause: e });
}

/** A program the engine needs is not installed. */
export class ToolMissingError extends C2CError {
  override name = 'ToolMissingError';
  constructor(
    readonly tool: string,
    hint: string,
  ) {
    super(`'${tool}' is not installed or not on PATH: ${hint}.`);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
