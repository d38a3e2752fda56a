import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/**
 * Static checks of workflows-examples/ that actionlint cannot make: it knows nothing of this suite's
 * actions, so it cannot tell a misspelt input of action-deploy-k8s, a required input left out, or an
 * action referenced under another owner or tag.
 */

/** How the examples reference the suite: one placeholder owner, the moving major tag. */
export const SUITE_OWNER = 'your-org';
export const SUITE_REF = 'v1';
const SUITE_USES = /^([^/]+)\/commit-to-cloud\/(action-[a-z0-9-]+)@(.+)$/;

export interface WorkflowFile {
  name: string;
  text: string;
}

export interface ActionMeta {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs?: Record<string, unknown>;
}

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

/** The workflow files of a directory (.yml / .yaml), sorted. */
export function readWorkflows(dir: string): WorkflowFile[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(path.join(dir, f), 'utf8') }));
}

/** Every step of every job, with where it is. */
export function stepsOf(wf: WorkflowFile): Array<{ job: string; index: number; step: Step }> {
  const doc = YAML.parse(wf.text) as { jobs?: Record<string, { steps?: Step[] }> };
  return Object.entries(doc.jobs ?? {}).flatMap(([job, j]) =>
    (j.steps ?? []).map((step, index) => ({ job, index, step })),
  );
}

/**
 * The findings for the suite's actions used in `wf`: a `with:` key the referenced action.yml does not
 * declare, a required input (required, no default) not given, a reference to another owner or ref
 * than the examples' convention, or an action that does not exist. `loadAction` reads
 * <dir>/action.yml (undefined when there is none).
 */
export function checkSuiteSteps(
  wf: WorkflowFile,
  loadAction: (dir: string) => ActionMeta | undefined,
): string[] {
  const findings: string[] = [];
  for (const { job, index, step } of stepsOf(wf)) {
    const m = step.uses ? SUITE_USES.exec(step.uses) : null;
    if (!m) continue;
    const [, owner, dir, ref] = m as unknown as [string, string, string, string];
    const where = `${wf.name}: jobs.${job}.steps[${index}]${step.id ? ` (${step.id})` : ''}`;
    if (owner !== SUITE_OWNER) findings.push(`${where}: owner '${owner}', not '${SUITE_OWNER}'`);
    if (ref !== SUITE_REF) findings.push(`${where}: ref '${ref}', not '${SUITE_REF}'`);
    const meta = loadAction(dir);
    if (!meta) {
      findings.push(`${where}: ${dir}/action.yml does not exist`);
      continue;
    }
    const given = Object.keys(step.with ?? {});
    for (const key of given)
      if (!(key in meta.inputs))
        findings.push(`${where}: input '${key}' is not declared by ${dir}/action.yml`);
    for (const [name, def] of Object.entries(meta.inputs))
      if (def.required && def.default === undefined && !given.includes(name))
        findings.push(`${where}: required input '${name}' of ${dir} is not given`);
  }
  return findings;
}

/**
 * `permissions:` lines without a comment saying why. Every `name: level` line inside a
 * `permissions:` block (top level or a job's) must carry a `# why`.
 */
export function uncommentedPermissions(wf: WorkflowFile): string[] {
  const out: string[] = [];
  const lines = wf.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)permissions:\s*(#.*)?$/.exec(lines[i]!);
    if (!head) continue;
    const indent = head[1]!.length;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!;
      if (!line.trim() || /^\s*#/.test(line)) continue;
      if (line.length - line.trimStart().length <= indent) break;
      if (!/#\s*\S/.test(line)) out.push(`${wf.name}:${j + 1}: '${line.trim()}' says not why`);
    }
  }
  return out;
}
