import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allCommands, flagsOf } from '../../src/cli/commands/index.js';
import { GLOBAL_FLAGS } from '../../src/cli/flags.js';
import { ROOT } from '../e2e/runner.js';

/**
 * workflows-examples/other-ci/: the CodeBuild buildspec and the CircleCI config that run the suite
 * with the `c2c` command line. Each is parsed as YAML, its shell commands are read, and every c2c
 * invocation in them is checked against the command's flags (its action's input spec): a renamed or
 * removed input breaks this test, as it would break the pipeline.
 */
const DIR = path.join(ROOT, 'workflows-examples/other-ci');
/** A parsed YAML document: read with care. */
type Yaml = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Invocation {
  command: string;
  flags: string[];
  /** Problems found in it: unknown command or flag, a value missing, a stray argument. */
  problems: string[];
  line: string;
}

/** Shell words of one simple command (quotes removed); stops at a redirection. */
function words(segment: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let has = false;
  for (const ch of segment) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (has || cur) out.push(cur);
  const redirect = out.findIndex((w) => /^\d?[<>]/.test(w));
  return redirect >= 0 ? out.slice(0, redirect) : out;
}

const BOOLEAN = new Set([
  ...Object.entries(GLOBAL_FLAGS)
    .filter(([, d]) => d.boolean)
    .map(([k]) => k),
  ...allCommands().flatMap((c) =>
    Object.entries(c.own ?? {})
      .filter(([, d]) => d.boolean)
      .map(([k]) => k),
  ),
]);

/** Every `c2c` / `commit-to-cloud` invocation in a shell script. */
export function invocations(script: string): Invocation[] {
  const out: Invocation[] = [];
  // Continuation lines joined; then each simple command of a list (&&, ||, ;, |) on its own.
  for (const line of script.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    for (const segment of line.split(/&&|\|\||;|\|/)) {
      const w = words(segment);
      const at = w.findIndex((x) => x === 'c2c' || x === 'commit-to-cloud');
      if (at < 0) continue;
      const problems: string[] = [];
      let i = at + 1;
      let command = w[i++] ?? '';
      if (command === 'feature-env') command += ` ${w[i++] ?? ''}`;
      const known = flagsOf(command);
      if (!known) problems.push(`unknown command '${command}'`);
      const flags: string[] = [];
      for (; i < w.length; i++) {
        const t = w[i]!;
        if (!t.startsWith('--')) {
          problems.push(`unexpected argument '${t}'`);
          continue;
        }
        const [name, value] = t.slice(2).split(/=(.*)/s);
        flags.push(name!);
        if (known && !known.has(name!)) problems.push(`unknown flag '--${name}'`);
        if (value === undefined && !BOOLEAN.has(name!)) {
          const next = w[i + 1];
          if (next === undefined || next.startsWith('--')) problems.push(`flag '--${name}' has no value`);
          else i++;
        }
      }
      const spec = allCommands().find((c) => c.name === command);
      for (const r of new Set([
        ...(spec?.required ?? []),
        ...Object.entries(spec?.inputs ?? {})
          .filter(([, d]) => d.required)
          .map(([k]) => k),
      ]))
        // 'a|b': one of them.
        if (!r.split('|').some((f) => flags.includes(f)))
          problems.push(
            `required flag ${r
              .split('|')
              .map((f) => `'--${f}'`)
              .join(' or ')} missing`,
          );
      out.push({ command, flags, problems, line: segment.trim() });
    }
  }
  return out;
}

/** The shell scripts of a CodeBuild buildspec: phases.<phase>.commands (and finally). */
function buildspecScripts(doc: Record<string, Yaml>): string[] {
  return Object.values(doc.phases ?? {}).flatMap((p: Yaml) => [...(p.commands ?? []), ...(p.finally ?? [])]);
}

/** The shell scripts of a CircleCI config: every `run` step of its jobs and reusable commands. */
function circleScripts(doc: Record<string, Yaml>): string[] {
  const steps = [...Object.values(doc.jobs ?? {}), ...Object.values(doc.commands ?? {})].flatMap(
    (j: Yaml) => j.steps ?? [],
  );
  return steps
    .filter((s: Yaml) => s && typeof s === 'object' && 'run' in s)
    .map((s: Yaml) => (typeof s.run === 'string' ? s.run : s.run.command));
}

const files = [
  { file: 'buildspec.yml', scripts: buildspecScripts },
  { file: 'circleci-config.yml', scripts: circleScripts },
];

describe.each(files)('workflows-examples/other-ci/$file', ({ file, scripts }) => {
  const text = readFileSync(path.join(DIR, file), 'utf8');
  const doc = parse(text) as Record<string, Yaml>;
  const calls = scripts(doc).flatMap(invocations);

  it('runs hash-base, then deploy, with the CLI', () => {
    const commands = calls.map((c) => c.command);
    expect(commands).toContain('hash-base');
    expect(commands).toContain('deploy');
    expect(commands.lastIndexOf('deploy')).toBeGreaterThan(commands.indexOf('hash-base'));
  });

  it('gives every c2c command only flags it has, with values, and the required ones', () => {
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.problems.length).map((c) => `${c.line}: ${c.problems.join('; ')}`)).toEqual(
      [],
    );
  });

  it('deploys every service in one step on the base that hash-base gave (its image-ref as --base-image)', () => {
    const deploy = calls.find((c) => c.command === 'deploy')!;
    expect(deploy.flags).toEqual(expect.arrayContaining(['base-image', 'services', 'image']));
    expect(deploy.line).toContain("--services 'services/*'");
    expect(deploy.line).toContain('"$REGISTRY/shop-{service}"');
    expect(text).toMatch(/\['image-ref'\]/);
  });

  it('runs on Node.js 20, 22 or 24 and stores no AWS keys (the CI gives the credentials)', () => {
    const node =
      file === 'buildspec.yml'
        ? String(doc.phases.install['runtime-versions'].nodejs)
        : /^cimg\/node:(\d+)/.exec(String(doc.executors.node.docker[0].image))?.[1];
    expect(['20', '22', '24']).toContain(node);
    expect(text).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|aws_secret/i);
  });
});

describe('workflows-examples/other-ci/circleci-config.yml: the trust boundary (issue 15 item 9)', () => {
  const doc = parse(readFileSync(path.join(DIR, 'circleci-config.yml'), 'utf8')) as Record<string, Yaml>;
  const jobs = (doc.workflows['commit-to-cloud'].jobs as Record<string, Yaml>[]).map((j) => {
    const [name, cfg] = Object.entries(j)[0]!;
    return { name, context: cfg.context as string, branches: cfg.filters?.branches ?? {} };
  });

  it('the plan job, which runs on every branch but main, never gets the deploy context; the deploy context runs on main only', () => {
    const plan = jobs.find((j) => j.name === 'plan')!;
    const deploy = jobs.find((j) => j.name === 'deploy')!;
    expect(plan.branches).toEqual({ ignore: 'main' });
    expect(deploy.branches).toEqual({ only: 'main' });
    expect(plan.context).not.toBe(deploy.context);
    for (const j of jobs.filter((x) => x.context === deploy.context))
      expect(j.branches).toEqual({ only: 'main' });
  });
});

describe('the check of the command lines', () => {
  it('catches a renamed flag, an unknown command, a flag of another command, a missing value', () => {
    const found = invocations(
      [
        'cd x && npx c2c deploy --manifests k8s/ --base-img "$B" --json > out.json',
        'npx commit-to-cloud hash-base --files a --render',
        'npx c2c deploy-k8s --manifests k8s/',
        'npx c2c feature-env up --pull-request 4 --manifests \\',
        '  k8s/ --ttl',
        'npx c2c plan --hash-files a --files b --manifests m',
        'npx c2c deploy --image x',
      ].join('\n'),
    ).map((c) => c.problems);
    expect(found).toEqual([
      ["unknown flag '--base-img'"],
      ["unknown flag '--render'"],
      ["unknown command 'deploy-k8s'"],
      ["flag '--ttl' has no value"],
      ["unknown flag '--files'"],
      ["required flag '--manifests' or '--chart' missing"],
    ]);
  });

  it('reads quoted values, --name=value, and stops at a redirection', () => {
    const [c] = invocations(`npx c2c hash-base --files 'req s.txt' --image="$R/base" --json 2>err > out`);
    expect(c).toMatchObject({ command: 'hash-base', flags: ['files', 'image', 'json'], problems: [] });
  });
});
