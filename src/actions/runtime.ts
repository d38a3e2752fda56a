import {
  C2CError,
  ProblemsError,
  errorMessage,
  closeHttpAgents,
  renderFailureSummary,
  Masker,
  type Logger,
  type SourceLocation,
} from '../core/index.js';
import type { InputSpec, RawInputs } from '../core/index.js';
import * as runner from './commands.js';

/**
 * What every action entry shares: the Logger over the runner's workflow commands (commands.ts, the
 * protocol @actions/core speaks, without loading it), reading the inputs a spec declares (and no
 * others), setting outputs, and turning an error into one clear failure. Inputs are read from the
 * environment exactly as core.getInput reads them.
 */

/** What core.getInput(name) gives: INPUT_<NAME> with spaces as underscores, trimmed. */
function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim();
}

function annotation(where?: SourceLocation): runner.AnnotationProperties | undefined {
  if (!where) return undefined;
  return {
    file: where.file,
    ...(where.line ? { startLine: where.line } : {}),
    ...(where.column ? { startColumn: where.column } : {}),
  };
}

let inGroup = false;

/**
 * The Logger over the runner's commands. A group is opened only when its first line is written, so a phase
 * with nothing to say leaves no empty group in the log.
 */
export function actionLogger(): Logger {
  // The runner masks what reaches the log; this copy masks the text that leaves otherwise (messages).
  const masker = new Masker();
  let pending: string | undefined;
  const open = () => {
    if (pending === undefined) return;
    const name = pending;
    runner.startGroup(name);
    pending = undefined;
  };
  return {
    debug: (m) => {
      if (process.env.RUNNER_DEBUG === '1') open(); // core.isDebug()
      runner.debug(m);
    },
    info: (m) => {
      open();
      runner.info(m);
    },
    warning: (m, w) => {
      open();
      runner.warning(m, annotation(w));
    },
    error: (m, w) => {
      open();
      runner.error(m, annotation(w));
    },
    group: async (name, fn) => {
      // GitHub's log has no nested groups: an inner group's lines go in the outer one.
      if (inGroup) return fn();
      pending = name;
      inGroup = true;
      try {
        return await fn();
      } finally {
        inGroup = false;
        if (pending === undefined) runner.endGroup();
        pending = undefined;
      }
    },
    secret: (v) => {
      if (!v) return;
      runner.setSecret(v);
      masker.add(v);
    },
    mask: (t) => masker.mask(t),
  };
}

/** Reads exactly the inputs of the spec; secrets are masked before anything else sees them. */
export function readInputs<S extends InputSpec>(spec: S): RawInputs<S> {
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(spec)) {
    const v = getInput(name);
    if (def.secret && v) runner.setSecret(v);
    out[name] = v === '' ? (def.default ?? '') : v;
  }
  return out as RawInputs<S>;
}

export function setOutputs(outputs: Record<string, string | number | boolean | undefined>): void {
  for (const [k, v] of Object.entries(outputs)) runner.setOutput(k, v === undefined ? '' : String(v));
}

let summaryWritten = false;

/** Writes the job summary (once per step: a failure after it does not write another). */
export async function writeSummary(markdown: string): Promise<void> {
  summaryWritten = true;
  await runner.appendSummary(markdown);
}

/**
 * Runs an action's main: any error fails the step with its message (and an annotation when it has
 * a place); when main wrote no summary, the summary lists what was wrong.
 */
export async function runAction(main: () => Promise<void>, opts: { title?: string } = {}): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!summaryWritten && opts.title) {
      try {
        await writeSummary(renderFailureSummary(opts.title, err));
      } catch {
        // no summary file (outside a runner): the error below still says everything
      }
    }
    if (err instanceof C2CError) {
      // Several problems (every bad manifest at once): one annotation each, on its file and line.
      if (err instanceof ProblemsError) {
        for (const p of err.problems) if (p.where) runner.error(p.message, annotation(p.where));
      } else if (err.where) runner.error(err.message, annotation(err.where));
      runner.setFailed(err.message);
    } else {
      runner.setFailed(errorMessage(err));
      if (err instanceof Error && err.stack) runner.debug(err.stack);
    }
  } finally {
    closeHttpAgents();
  }
}
