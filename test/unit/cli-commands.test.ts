import { describe, expect, it } from 'vitest';
import { commandHelp } from '../../src/cli/command.js';
import { COMMANDS, allCommands, flagsOf, isGroup } from '../../src/cli/commands/index.js';
import { HASH_PREFIX } from '../../src/cli/commands/plan.js';
import { listedTable } from '../../src/cli/commands/feature-env.js';
import { repositoryOfRemote } from '../../src/cli/context.js';
import { UsageError, parseFlags } from '../../src/cli/flags.js';
import { shortDuration, table } from '../../src/cli/output.js';
import { DEPLOY_INPUTS } from '../../src/deploy/inputs.js';
import { FEATURE_ENV_INPUTS } from '../../src/featureenv/inputs.js';
import { HASH_BASE_INPUTS } from '../../src/baseimage/inputs.js';

const names = (o: object) => (o instanceof Set ? [...(o as Set<string>)] : Object.keys(o)).sort();

describe('c2c commands and their flags', () => {
  it('has hash-base, deploy, plan and feature-env up|down|reap|list', () => {
    expect(allCommands().map((c) => c.name)).toEqual([
      'hash-base',
      'deploy',
      'plan',
      'feature-env up',
      'feature-env down',
      'feature-env reap',
      'feature-env list',
    ]);
  });

  it("each action command takes its action's inputs as flags, same names and defaults", () => {
    expect(names(flagsOf('hash-base')!)).toEqual(
      names({ ...HASH_BASE_INPUTS, workspace: 1, json: 1, verbose: 1, help: 1 }),
    );
    expect(names(flagsOf('deploy')!)).toEqual(
      names({ ...DEPLOY_INPUTS, render: 1, workspace: 1, json: 1, verbose: 1, help: 1 }),
    );
    // The action's `command` input is the subcommand.
    const { command: _c, ...fe } = FEATURE_ENV_INPUTS;
    for (const sub of ['up', 'down'])
      expect(names(flagsOf(`feature-env ${sub}`)!)).toEqual(
        names({ ...fe, repository: 1, workspace: 1, json: 1, verbose: 1, help: 1 }),
      );
    const { 'pull-request': _p, ...reap } = fe;
    expect(names(flagsOf('feature-env reap')!)).toEqual(
      names({ ...reap, repository: 1, workspace: 1, json: 1, verbose: 1, help: 1 }),
    );
    expect(names(flagsOf('feature-env list')!)).toEqual(
      names({
        isolation: 1,
        kubeconfig: 1,
        'cluster-name': 1,
        'aws-region': 1,
        repository: 1,
        workspace: 1,
        json: 1,
        verbose: 1,
        help: 1,
      }),
    );
    // The defaults are the action's: the same table, not a copy.
    const sourceOf = (command: string, flag: string): { default?: string } | undefined => {
      const table = (t: object) => (t as Record<string, { default?: string }>)[flag];
      if (command === 'hash-base') return table(HASH_BASE_INPUTS);
      if (command === 'deploy') return table(DEPLOY_INPUTS);
      if (command === 'plan')
        return flag.startsWith(HASH_PREFIX)
          ? (HASH_BASE_INPUTS as Record<string, { default?: string }>)[flag.slice(HASH_PREFIX.length)]
          : table(DEPLOY_INPUTS);
      return table(FEATURE_ENV_INPUTS);
    };
    for (const c of allCommands())
      for (const [k, def] of Object.entries(c.inputs))
        expect(def.default, `${c.name} --${k}`).toBe(sourceOf(c.name, k)?.default);
  });

  it("plan: deploy's flags as they are, hash-base's with the prefix hash-, none meaning two things", () => {
    const plan = flagsOf('plan')!;
    const left = ['dry-run', 'environment', 'environment-url', 'token'];
    for (const k of Object.keys(DEPLOY_INPUTS)) expect(plan.has(k), k).toBe(!left.includes(k));
    for (const k of Object.keys(HASH_BASE_INPUTS)) expect(plan.has(`hash-${k}`), k).toBe(true);
    expect(Object.keys(DEPLOY_INPUTS).filter((k) => k.startsWith(HASH_PREFIX))).toEqual([]);
    const inputs = allCommands().find((c) => c.name === 'plan')!.inputs;
    expect(Object.keys(inputs)).toHaveLength(
      Object.keys(DEPLOY_INPUTS).length - left.length + Object.keys(HASH_BASE_INPUTS).length,
    );
    // hash-files is not required: without it no base image is planned.
    expect(inputs['hash-files']!.required).toBe(false);
  });

  it('--help of every command lists every flag it takes, and the exit codes', () => {
    for (const c of allCommands()) {
      const help = commandHelp(c);
      expect(help).toMatch(new RegExp(`^usage: c2c ${c.name} \\[flags\\]`));
      for (const flag of flagsOf(c.name)!)
        if (flag !== 'help') expect(help, `${c.name}`).toContain(`--${flag}`);
      expect(help).toContain('exit codes: 0 success, 1 failure, 2 bad usage');
    }
    for (const c of Object.values(COMMANDS)) if (isGroup(c)) expect(Object.keys(c.commands)).toHaveLength(4);
  });
});

describe('parseFlags', () => {
  const inputs = { files: { description: '', required: true }, image: { description: '', default: '' } };

  it('takes --name value and --name=value; a flag given twice adds a line', () => {
    const p = parseFlags(['--files', 'a', '--files=b', '--image=x', '--json'], { inputs });
    expect(p.raw).toEqual({ files: 'a\nb', image: 'x' });
    expect(p.g.json).toBe(true);
  });

  it('bad usage names the flag: unknown, missing value, required, and where a flag belongs', () => {
    const problem = (argv: string[]) => {
      try {
        parseFlags(argv, { inputs, required: ['files'], elsewhere: { render: 'c2c deploy' } });
        return 'no error';
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
    };
    expect(problem(['--files', 'a', '--bogus'])).toBe("unknown flag '--bogus'");
    expect(problem(['--files'])).toBe("flag '--files' needs a value");
    expect(problem(['--image', 'x'])).toBe("flag '--files' is required");
    expect(problem(['--files', ' '])).toBe("flag '--files' is required");
    expect(problem(['--files', 'a', '--render'])).toBe(
      "--render is a flag of 'c2c deploy', not of this command",
    );
    expect(problem(['--files', 'a', 'extra'])).toBe("unexpected argument 'extra': flags are --name value");
    expect(problem(['--files', 'a', '--json=yes'])).toBe("flag '--json' takes no value");
  });
});

describe('what the CLI reads from where it runs', () => {
  it('owner/repo of the git remote origin (https, ssh, scp-like, with credentials); nothing from a path', () => {
    expect(repositoryOfRemote('https://github.com/acme/shop.git')).toBe('acme/shop');
    expect(repositoryOfRemote('https://github.com/acme/shop\n')).toBe('acme/shop');
    expect(repositoryOfRemote('git@github.com:acme/shop.git')).toBe('acme/shop');
    expect(repositoryOfRemote('ssh://git@github.com:22/acme/shop.git')).toBe('acme/shop');
    expect(repositoryOfRemote('https://x-access-token:t0k@github.example.com/acme/my.app')).toBe(
      'acme/my.app',
    );
    expect(repositoryOfRemote('/srv/git/shop.git')).toBeUndefined();
  });
});

describe('human output', () => {
  it('durations in two units at most', () => {
    expect([42, 720, 3 * 3600 + 720, 3600, 2 * 86400 + 3 * 3600, 86400].map(shortDuration)).toEqual([
      '42s',
      '12m',
      '3h12m',
      '1h',
      '2d3h',
      '1d',
    ]);
  });

  it('aligned columns', () => {
    expect(table(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
  });

  it('feature-env list: one environment a line; expiry relative; spares without a pull request', () => {
    const now = Date.parse('2025-01-02T00:00:00Z');
    const text = listedTable(
      [
        {
          namespace: 'fe-pr-7',
          state: 'active',
          number: 7,
          sha: 'abcdef0123456789',
          ageSeconds: 7200,
          expiresAt: '2025-01-04T23:00:00Z',
          expired: false,
          url: 'http://api-pr-7.example.com',
          database: 'fe_pr_7',
          terminating: false,
          keep: false,
        },
        {
          namespace: 'fe-pr-9',
          state: 'active',
          number: 9,
          expiresAt: '2025-01-01T22:00:00Z',
          expired: true,
          terminating: true,
          keep: false,
        },
        {
          namespace: 'fe-pr-11',
          state: 'active',
          number: 11,
          expiresAt: '2025-01-01T22:00:00Z',
          expired: false,
          terminating: false,
          asleepSince: '2025-01-01T23:00:00Z',
          keep: true,
        },
        {
          namespace: 'fe-spare-1a2b3c',
          state: 'spare',
          ageSeconds: 30,
          expired: false,
          terminating: false,
          keep: false,
        },
      ],
      'acme/shop',
      now,
    );
    expect(text.split('\n')).toEqual([
      'PR   STATE                 SHA      AGE  EXPIRES         URL                          DATABASE  NAMESPACE',
      '#7   active                abcdef0  2h   in 2d23h        http://api-pr-7.example.com  fe_pr_7   fe-pr-7',
      '#9   active (terminating)  -        -    expired 2h ago  -                            -         fe-pr-9',
      '#11  active (asleep)       -        -    kept            -                            -         fe-pr-11',
      '-    spare                 -        30s  -               -                            -         fe-spare-1a2b3c',
    ]);
    expect(listedTable([], 'acme/shop')).toBe('No feature environments of acme/shop.');
  });
});
