import { describe, expect, it } from 'vitest';
import { withDefaults } from '../../src/core/input-spec.js';
import {
  FEATURE_ENV_INPUTS,
  parseFeatureEnvInputs,
  type FeatureEnvRaw,
} from '../../src/featureenv/inputs.js';
import { decide } from '../../src/featureenv/event.js';
import type { GitHubContext } from '../../src/github/index.js';

const parse = (raw: Partial<FeatureEnvRaw>) =>
  parseFeatureEnvInputs(withDefaults(FEATURE_ENV_INPUTS, raw as Record<string, string>), process.cwd(), {
    sha: 'a'.repeat(40),
    pullRequest: 7,
  });

describe('feature-env inputs: bad input is one clear error, before anything', () => {
  it.each([
    [{ ttl: 'soon' }, /Input 'ttl'/],
    [{ 'warm-pool': '-1' }, /Input 'warm-pool': '-1' is not a count.*0 to 20/],
    [{ database: 'rds-snapshot' }, /Input 'db-source-instance': is empty, but 'database' is rds-snapshot/],
    [{ database: 'postgres-template', 'db-template': 'tpl' }, /Input 'db-url': is empty/],
    [{ database: 'mysql' }, /Input 'database'/],
    [
      { 'host-template': '{service}.{branch}.{domain}' },
      /Input 'host-template': has unknown placeholder\(s\) \{branch\}/,
    ],
    [
      { 'host-template': '{service}.preview.{domain}' },
      /Input 'host-template': '\{service\}.preview.\{domain\}' has neither \{number\} nor \{namespace\}, so every environment would get the same hosts. Expected a template that tells environments apart, e.g. '\{service\}.pr-\{number\}.\{domain\}'/,
    ],
    [{ 'host-template': 'web.example.com' }, /Input 'host-template': 'web.example.com' has neither/],
    [{ 'required-permission': 'owner' }, /Input 'required-permission'/],
    [{ links: 'Logs' }, /Input 'links': 'Logs' has no '='/],
    [{ links: 'Logs=ftp://x' }, /Input 'links': 'Logs' has no http\(s\) URL/],
    [{ 'namespace-prefix': 'FE_' }, /Input 'namespace-prefix'/],
    [{ command: 'up', manifests: '' }, /Input 'manifests': is empty, but 'command' is up/],
  ] as Array<[Partial<FeatureEnvRaw>, RegExp]>)('%o', (raw, message) => {
    expect(() => parse({ manifests: raw.command ? '' : 'k8s/', ...raw })).toThrow(message);
  });

  it('a host-template with {number} or {namespace} is taken', () => {
    for (const t of ['{service}-{number}.{domain}', '{service}.{namespace}.preview.example.com'])
      expect(parse({ manifests: 'k8s/', 'host-template': t }).hostTemplate).toBe(t);
  });

  it('the default tag of a built image is pr-<number>-<7 hex>', () => {
    const o = parse({
      manifests: 'test/',
      'build-context': 'test',
      image: 'ghcr.io/acme/web',
      dockerfile: '../package.json',
    });
    expect(o.deploy?.build?.tag).toBe('pr-7-aaaaaaa');
  });
});

describe('command: auto decides from the event', () => {
  const opts = parse({ manifests: 'k8s/' });
  const gh = (o: Partial<GitHubContext>): GitHubContext =>
    ({
      apiUrl: '',
      serverUrl: '',
      graphqlUrl: '',
      payload: {},
      eventName: 'pull_request',
      ...o,
    }) as GitHubContext;
  const pr = (labels: string[]) => ({ number: 7, labels });
  it.each([
    [gh({ action: 'labeled', label: 'feature-env', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'labeled', label: 'bug', pullRequest: pr(['bug']) }), 'skipped'],
    [gh({ action: 'synchronize', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'synchronize', pullRequest: pr([]) }), 'skipped'],
    [gh({ action: 'reopened', pullRequest: pr(['feature-env']) }), 'up'],
    [gh({ action: 'unlabeled', label: 'feature-env', pullRequest: pr([]) }), 'down'],
    [gh({ action: 'unlabeled', label: 'bug', pullRequest: pr(['feature-env']) }), 'skipped'],
    [gh({ action: 'closed', pullRequest: pr(['feature-env']) }), 'down'],
    [gh({ eventName: 'schedule' }), 'reap'],
    [gh({ eventName: 'workflow_dispatch' }), 'reap'],
    [gh({ eventName: 'push' }), 'skipped'],
  ])('%#: %o → %s', (context, command) => {
    expect(decide({ ...opts, pullRequest: undefined } as never, context).command).toBe(command);
  });
});
