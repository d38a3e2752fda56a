import * as core from '@actions/core';
import { C2CError, errorMessage } from '../core/errors.js';
import { closeHttpAgents } from '../core/http.js';
import type { InputSpec, RawInputs } from '../core/input-spec.js';
import type { Logger, SourceLocation } from '../core/logger.js';

/**
 * What every action entry shares: the Logger over @actions/core, reading the inputs a spec declares
 * (and no others), setting outputs, and turning an error into one clear failure.
 */
function annotation(where?: SourceLocation): core.AnnotationProperties | undefined {
  if (!where) return undefined;
  return {
    file: where.file,
    ...(where.line ? { startLine: where.line } : {}),
    ...(where.column ? { startColumn: where.column } : {}),
  };
}

export function actionLogger(): Logger {
  return {
    debug: (m) => core.debug(m),
    info: (m) => core.info(m),
    warning: (m, w) => core.warning(m, annotation(w)),
    error: (m, w) => core.error(m, annotation(w)),
    group: (name, fn) => core.group(name, fn),
    secret: (v) => {
      if (v) core.setSecret(v);
    },
  };
}

/** Reads exactly the inputs of the spec; secrets are masked before anything else sees them. */
export function readInputs<S extends InputSpec>(spec: S): RawInputs<S> {
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(spec)) {
    const v = core.getInput(name);
    if (def.secret && v) core.setSecret(v);
    out[name] = v === '' ? (def.default ?? '') : v;
  }
  return out as RawInputs<S>;
}

export function setOutputs(outputs: Record<string, string | number | boolean | undefined>): void {
  for (const [k, v] of Object.entries(outputs)) core.setOutput(k, v === undefined ? '' : String(v));
}

/** Runs an action's main: any error fails the step with its message (and an annotation when it has a place). */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof C2CError) {
      // Several problems (every bad manifest at once): one annotation each, on its file and line.
      const problems = (err as { problems?: unknown }).problems;
      if (Array.isArray(problems)) {
        for (const p of problems)
          if (p instanceof C2CError && p.where) core.error(p.message, annotation(p.where));
      } else if (err.where) core.error(err.message, annotation(err.where));
      core.setFailed(err.message);
    } else {
      core.setFailed(errorMessage(err));
      if (err instanceof Error && err.stack) core.debug(err.stack);
    }
  } finally {
    closeHttpAgents();
  }
}
