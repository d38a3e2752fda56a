import type * as Core from '@actions/core';
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

/**
 * What every action entry shares: the Logger over @actions/core, reading the inputs a spec declares
 * (and no others), setting outputs, and turning an error into one clear failure.
 *
 * @actions/core is loaded in the background, not before the action starts: with what it imports
 * (@actions/http-client with undici, @actions/exec) it takes about as long to load as hashing a
 * few thousand files, and nothing needs it before the first line is printed. Until it is there,
 * log lines, masks and outputs wait in order (a mask always before the lines it hides); runAction
 * waits for them before it returns. Inputs are read from the environment exactly as
 * core.getInput reads them.
 */
type CoreModule = typeof Core;
let core: CoreModule | undefined;
let loading: Promise<CoreModule> | undefined;
const waiting: Array<(c: CoreModule) => void> = [];

/**
 * Starts loading @actions/core on first need, from the event loop: import() compiles the module
 * right away, so it is called only once the thread lets go (during hashing, when it yields).
 */
function loadCore(): Promise<CoreModule> {
  return (loading ??= new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => import('@actions/core'))
    .then((m) => {
      while (waiting.length > 0) waiting.shift()!(m);
      core = m;
      return m;
    }));
}

/** Runs f with @actions/core now when it is loaded, else when it is, in the order of the calls. */
function withCore(f: (c: CoreModule) => void): void {
  if (core) return f(core);
  waiting.push(f);
  loadCore().catch(() => undefined); // a failed load surfaces where runAction awaits it
}

/** What core.getInput(name) gives: INPUT_<NAME> with spaces as underscores, trimmed. */
function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim();
}

function annotation(where?: SourceLocation): Core.AnnotationProperties | undefined {
  if (!where) return undefined;
  return {
    file: where.file,
    ...(where.line ? { startLine: where.line } : {}),
    ...(where.column ? { startColumn: where.column } : {}),
  };
}

let inGroup = false;

/**
 * The Logger over @actions/core. A group is opened only when its first line is written, so a phase
 * with nothing to say leaves no empty group in the log.
 */
export function actionLogger(): Logger {
  // The runner masks what reaches the log; this copy masks the text that leaves otherwise (messages).
  const masker = new Masker();
  let pending: string | undefined;
  const open = () => {
    if (pending === undefined) return;
    const name = pending;
    withCore((c) => c.startGroup(name));
    pending = undefined;
  };
  return {
    debug: (m) => {
      if (process.env.RUNNER_DEBUG === '1') open(); // core.isDebug()
      withCore((c) => c.debug(m));
    },
    info: (m) => {
      open();
      withCore((c) => c.info(m));
    },
    warning: (m, w) => {
      open();
      withCore((c) => c.warning(m, annotation(w)));
    },
    error: (m, w) => {
      open();
      withCore((c) => c.error(m, annotation(w)));
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
        if (pending === undefined) withCore((c) => c.endGroup());
        pending = undefined;
      }
    },
    secret: (v) => {
      if (!v) return;
      withCore((c) => c.setSecret(v));
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
    if (def.secret && v) withCore((c) => c.setSecret(v));
    out[name] = v === '' ? (def.default ?? '') : v;
  }
  return out as RawInputs<S>;
}

export function setOutputs(outputs: Record<string, string | number | boolean | undefined>): void {
  for (const [k, v] of Object.entries(outputs))
    withCore((c) => c.setOutput(k, v === undefined ? '' : String(v)));
}

let summaryWritten = false;

/** Writes the job summary (once per step: a failure after it does not write another). */
export async function writeSummary(markdown: string): Promise<void> {
  summaryWritten = true;
  await (await loadCore()).summary.addRaw(markdown).write();
}

/**
 * Runs an action's main: any error fails the step with its message (and an annotation when it has
 * a place); when main wrote no summary, the summary lists what was wrong.
 */
export async function runAction(main: () => Promise<void>, opts: { title?: string } = {}): Promise<void> {
  try {
    await main();
  } catch (err) {
    const core = await loadCore();
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
        for (const p of err.problems) if (p.where) core.error(p.message, annotation(p.where));
      } else if (err.where) core.error(err.message, annotation(err.where));
      core.setFailed(err.message);
    } else {
      core.setFailed(errorMessage(err));
      if (err instanceof Error && err.stack) core.debug(err.stack);
    }
  } finally {
    await loadCore(); // every line, mask and output written
    closeHttpAgents();
  }
}
