// The face of src/core: what other rooms may use of it.
export { closeHttpAgents } from './agents.js';
export { CancelledError, cancelReason, cancellableSleep, onTermination, throwIfCancelled } from './cancel.js';
export { formatWhen, monotonicMs } from './clock.js';
export { eachLimit } from './concurrency.js';
export { C2CError, InputError, ProblemsError, ToolMissingError, errorMessage, withNote } from './errors.js';
export { ExecError, exec, which } from './exec.js';
export { splitCommandLine } from './words.js';
export { HttpError, fetchWithRetry, redactUrl, request, requestStream } from './http.js';
export type { HttpRequest, HttpResponse, TlsOptions } from './http.js';
export { parseInputs, pickInputs, pickValues, withDefaults } from './input-spec.js';
export type { InputDef, InputSpec, ParsedInputs, RawInputs } from './input-spec.js';
export {
  asBool,
  asCount,
  asDuration,
  asLines,
  asTrimmed,
  formatDuration,
  oneOf,
  parseBool,
  parseDuration,
  parseEnum,
  parseKeyValues,
  parseList,
  shortDuration,
} from './inputs.js';
export { Masker, nullLogger } from './logger.js';
export type { Logger, SourceLocation } from './logger.js';
export {
  codeSpan,
  escapeMarkdown,
  escapeMarkdownLine,
  markdownLink,
  renderFailureSummary,
} from './markdown.js';
export { RetryExhaustedError, isTransient, parseRetryAfter, retry } from './retry.js';
export type { RetryOptions } from './retry.js';
