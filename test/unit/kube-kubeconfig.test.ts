import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { InputError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { loadKubeconfig } from '../../src/kube/kubeconfig.js';

const PEM = (what: string) =>
  `-----BEGIN ${what}-----\nMIIBfake${what.replace(/ /g, '')}\n-----END ${what}-----\n`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function config(
  over: { cluster?: object; user?: object | null; context?: object; current?: string | null } = {},
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    ...(over.current === null ? {} : { 'current-context': over.current ?? 'ctx' }),
    clusters: [
      {
        name: 'k',
        cluster: {
          server: 'https://10.0.0.1:6443',
          'certificate-authority-data': b64(PEM('CERTIFICATE')),
          ...over.cluster,
        },
      },
    ],
    users: over.user === null ? [] : [{ name: 'u', user: over.user ?? { token: 'tok-123456' } }],
    contexts: [{ name: 'ctx', context: { cluster: 'k', user: 'u', ...over.context } }],
  });
}

describe('loadKubeconfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves server, CA, token and namespace of the current context; masks the token', async () => {
    const logger = memoryLogger();
    const c = await loadKubeconfig({ content: config({ context: { namespace: 'apps' } }) }, logger);
    expect(c).toMatchObject({
      server: 'https://10.0.0.1:6443',
      token: 'tok-123456',
      namespace: 'apps',
      contextName: 'ctx',
    });
    expect(c.ca).toBe(PEM('CERTIFICATE'));
    logger.info('using tok-123456');
    expect(logger.text()).toBe('info: using ***');
  });

  it('reads certificate files and token files relative to the kubeconfig file; $KUBECONFIG is used when no path is given', async () => {
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    writeFileSync(path.join(dir, 'certs', 'ca.crt'), PEM('CERTIFICATE'));
    writeFileSync(path.join(dir, 'certs', 'client.crt'), PEM('CERTIFICATE'));
    writeFileSync(path.join(dir, 'certs', 'client.key'), PEM('EC PRIVATE KEY'));
    writeFileSync(path.join(dir, 'token'), 'file-token\n');
    const file = path.join(dir, 'config');
    writeFileSync(
      file,
      config({
        cluster: {
          'certificate-authority-data': undefined,
          'certificate-authority': 'certs/ca.crt',
          'tls-server-name': 'kubernetes',
        },
        user: {
          'client-certificate': 'certs/client.crt',
          'client-key': 'certs/client.key',
          tokenFile: 'token',
        },
      }),
    );
    const c = await loadKubeconfig(
      { env: { KUBECONFIG: `${file}${path.delimiter}/nonexistent` } },
      memoryLogger(),
    );
    expect(c.ca).toBe(PEM('CERTIFICATE'));
    expect(c.key).toBe(PEM('EC PRIVATE KEY'));
    expect(c.token).toBe('file-token');
    expect(c.tlsServerName).toBe('kubernetes');
    expect(c.namespace).toBe('default');
  });

  it('picks a named context over current-context', async () => {
    const text = stringify({
      'current-context': 'a',
      clusters: [
        { name: 'ka', cluster: { server: 'https://a:6443' } },
        { name: 'kb', cluster: { server: 'https://b:6443', 'insecure-skip-tls-verify': true } },
      ],
      users: [],
      contexts: [
        { name: 'a', context: { cluster: 'ka' } },
        { name: 'b', context: { cluster: 'kb' } },
      ],
    });
    const c = await loadKubeconfig({ content: text, context: 'b' }, memoryLogger());
    expect(c).toMatchObject({ server: 'https://b:6443', insecureSkipVerify: true });
  });

  const bad: [string, string, RegExp][] = [
    ['not YAML', 'a: [', /is not valid YAML/],
    ['a list', '- a\n- b\n', /is not a kubeconfig/],
    ['no current-context', config({ current: null }), /has no current-context/],
    [
      'an unknown context',
      config({ current: 'other' }),
      /context 'other' is not defined.*Expected one of: ctx/,
    ],
    ['no server', config({ cluster: { server: '' } }), /has no server/],
    ['a server that is not a URL', config({ cluster: { server: 'not a url' } }), /invalid server URL/],
    [
      'a CA that is not base64 PEM',
      config({ cluster: { 'certificate-authority-data': 'bm90IGEgcGVt' } }),
      /certificate-authority-data is not base64 of a PEM block/,
    ],
    [
      'a certificate without key',
      config({ user: { 'client-certificate-data': b64(PEM('CERTIFICATE')) } }),
      /client certificate without its key/,
    ],
    [
      'an unreadable token file',
      config({ user: { tokenFile: '/nonexistent/token' } }),
      /tokenFile \/nonexistent\/token cannot be read/,
    ],
    [
      'an auth-provider',
      config({ user: { 'auth-provider': { name: 'gcp' } } }),
      /auth-provider, which is not supported/,
    ],
    [
      'exec without command',
      config({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1' } } }),
      /exec plugin without a command/,
    ],
  ];
  it.each(bad)('rejects %s with an InputError naming the input', async (_what, text, msg) => {
    const err = await loadKubeconfig({ content: text }, memoryLogger()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^Input 'kubeconfig': /);
    expect((err as Error).message).toMatch(msg);
  });

  it('a missing file names the file', async () => {
    await expect(loadKubeconfig({ path: path.join(dir, 'nope') }, memoryLogger())).rejects.toThrow(
      /cannot read kubeconfig file .*nope/,
    );
  });

  it('an exec plugin printing a token with an expiry', async () => {
    const script = path.join(dir, 'plugin.sh');
    writeFileSync(
      script,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"exec-tok","expirationTimestamp":"2030-01-01T00:00:00Z"}}'\n`,
      { mode: 0o755 },
    );
    const c = await loadKubeconfig(
      { content: config({ user: { exec: { command: script } } }) },
      memoryLogger(),
    );
    expect(c.token).toBe('exec-tok');
    expect(c.expiresAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(await c.refresh!()).toMatchObject({ token: 'exec-tok' });
  });
});
