// The build inputs both building actions share: `secrets` (id=value) and `secret-files` (id=path),
// read into build secrets; bad lines are one InputError naming the input that never echoes a value.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_INPUT_DEFS, parseBuildCommon, type BuildCommonRaw } from '../../src/builder/inputs.js';
import { InputError } from '../../src/core/errors.js';
import { withDefaults } from '../../src/core/input-spec.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../../src/deploy/inputs.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../../src/baseimage/inputs.js';

const ws = mkdtempSync(path.join(os.tmpdir(), 'c2c-build-inputs-'));
mkdirSync(path.join(ws, 'app'));
mkdirSync(path.join(ws, 'creds'));
writeFileSync(path.join(ws, 'app/Dockerfile'), 'FROM scratch\n');
writeFileSync(path.join(ws, 'Dockerfile.base'), 'FROM scratch\n');
writeFileSync(path.join(ws, 'creds/npmrc'), '//registry.npmjs.org/:_authToken=npm_abcdefgh\n');
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const raw = (over: Partial<BuildCommonRaw> = {}): BuildCommonRaw => ({
  'build-args': '',
  builder: 'auto',
  cache: 'registry',
  'registry-username': '',
  'registry-password': '',
  secrets: '',
  'secret-files': '',
  ...over,
});

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('secrets and secret-files', () => {
  it('are declared as inputs of both building actions; secrets is a secret input', () => {
    for (const spec of [HASH_BASE_INPUTS, DEPLOY_INPUTS] as const) {
      expect(spec.secrets).toBe(BUILD_INPUT_DEFS.secrets);
      expect(spec['secret-files']).toBe(BUILD_INPUT_DEFS['secret-files']);
    }
    expect(BUILD_INPUT_DEFS.secrets).toMatchObject({ secret: true, default: '' });
    expect(BUILD_INPUT_DEFS['secret-files']).toMatchObject({ default: '' });
  });

  it('read id=value lines (a value may hold = and commas) and id=path lines relative to the workspace', () => {
    const c = parseBuildCommon(
      raw({
        secrets: 'token=s3cr=t,value\n\n  npm_token=abc def  \n',
        'secret-files': 'npmrc=creds/npmrc\n',
      }),
      ws,
    );
    expect(c.secrets).toEqual([
      { id: 'token', value: 's3cr=t,value' },
      // Lines are trimmed (as every list input); inside a value, spaces stay.
      { id: 'npm_token', value: 'abc def' },
      { id: 'npmrc', file: path.join(ws, 'creds/npmrc') },
    ]);
    expect(parseBuildCommon(raw(), ws).secrets).toEqual([]);
  });

  it('refuse a line without id=, naming the line, never its content', () => {
    const value = 'ghp_thisLooksLikeAToken0123456789';
    const e = inputError(() => parseBuildCommon(raw({ secrets: `token=ok\n${value}` }), ws));
    expect(e.input).toBe('secrets');
    expect(e.message).toBe(
      "Input 'secrets': line 2 is not id=value (its content is not shown: it may be a secret). Expected one id=value per line, e.g. 'npm_token=${{ secrets.NPM_TOKEN }}'.",
    );
    expect(e.message).not.toContain(value);
  });

  it('refuse an empty value, saying that an unset repository secret expands to nothing', () => {
    const e = inputError(() => parseBuildCommon(raw({ secrets: 'token=' }), ws));
    expect(e.message).toMatch(/^Input 'secrets': secret 'token' is empty/);
    expect(e.message).toContain('a secret that is not set expands to an empty string');
  });

  it('refuse ids that cannot name /run/secrets/<id>, and an id given twice', () => {
    const bad = inputError(() => parseBuildCommon(raw({ secrets: 'a/b=x' }), ws));
    expect(bad.message).toMatch(
      /^Input 'secrets': 'a\/b' is not a valid secret id\. Expected letters, digits/,
    );
    const twice = inputError(() =>
      parseBuildCommon(raw({ secrets: 'npmrc=x', 'secret-files': 'npmrc=creds/npmrc' }), ws),
    );
    expect(twice.input).toBe('secret-files');
    expect(twice.message).toMatch(/secret id 'npmrc' is given twice/);
  });

  it('refuse a secret file that does not exist, a directory, and a path with a comma', () => {
    const missing = inputError(() => parseBuildCommon(raw({ 'secret-files': 'x=creds/nope' }), ws));
    expect(missing.message).toBe(
      `Input 'secret-files': the file of secret 'x', 'creds/nope', does not exist (looked for ${path.join(ws, 'creds/nope')}). Expected id=path with the path of a file, relative to the workspace.`,
    );
    const dir = inputError(() => parseBuildCommon(raw({ 'secret-files': 'x=creds' }), ws));
    expect(dir.message).toMatch(/'creds' is not a regular file/);
    const comma = inputError(() => parseBuildCommon(raw({ 'secret-files': 'x=creds/a,b' }), ws));
    expect(comma.message).toMatch(/contains a comma/);
  });

  it('reach the options of hash-base and of deploy', () => {
    const hb = parseHashBaseInputs(
      withDefaults(HASH_BASE_INPUTS, {
        files: 'Dockerfile.base',
        secrets: 'token=abc123',
        'secret-files': 'npmrc=creds/npmrc',
      }),
      ws,
    );
    expect(hb.secrets).toEqual([
      { id: 'token', value: 'abc123' },
      { id: 'npmrc', file: path.join(ws, 'creds/npmrc') },
    ]);
    const d = parseDeployInputs(
      withDefaults(DEPLOY_INPUTS, {
        manifests: 'k8s/',
        'build-context': 'app',
        image: '127.0.0.1:5000/app',
        tag: 'v1',
        secrets: 'token=abc123',
      }),
      ws,
    );
    expect(d.build?.secrets).toEqual([{ id: 'token', value: 'abc123' }]);
  });
});
