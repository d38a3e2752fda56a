import { describe, expect, it } from 'vitest';
import {
  digestOf,
  nextLink,
  normaliseScopes,
  parseScope,
  parseWwwAuthenticate,
  pickPlatform,
  scopesCover,
} from '../../src/registry/index.js';

describe('parseWwwAuthenticate', () => {
  it('parses a Bearer challenge with realm, service and scope', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      },
    ]);
  });

  it('parses Basic, spaces after commas, unquoted values, escapes and an error parameter', () => {
    expect(parseWwwAuthenticate('Basic realm="Registry \\"Realm\\""')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "Realm"' } },
    ]);
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://r/t", service=reg, scope="repository:a/b:pull,push",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://r/t',
          service: 'reg',
          scope: 'repository:a/b:pull,push',
          error: 'insufficient_scope',
        },
      },
    ]);
  });

  it('splits several challenges in one header and in several headers', () => {
    const both = parseWwwAuthenticate('Basic realm="a", Bearer realm="https://t",service="s"');
    expect(both.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(both[1]!.params).toEqual({ realm: 'https://t', service: 's' });
    expect(parseWwwAuthenticate(['Basic realm="x"', 'Bearer realm="y"']).map((c) => c.scheme)).toEqual([
      'basic',
      'bearer',
    ]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });
});

describe('scopes', () => {
  it('parses names containing slashes and registry:catalog:*', () => {
    expect(parseScope('repository:org/app:pull,push')).toEqual({
      type: 'repository',
      name: 'org/app',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('nonsense')).toBeUndefined();
  });

  it('merges scopes of one resource and sorts them', () => {
    expect(normaliseScopes(['repository:b:push', 'repository:a:pull', 'repository:b:pull'])).toEqual([
      'repository:a:pull',
      'repository:b:pull,push',
    ]);
  });

  it('a pull,push token covers pull but not another repository or a wider action set', () => {
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:pull,push'])).toBe(false);
    expect(scopesCover(['repository:a:pull,push'], ['repository:b:pull'])).toBe(false);
    expect(scopesCover(['repository:a:*'], ['repository:a:pull,push,delete'])).toBe(true);
    expect(
      scopesCover(
        ['repository:a:pull,push', 'repository:b:pull'],
        ['repository:b:pull', 'repository:a:push'],
      ),
    ).toBe(true);
  });
});

describe('nextLink', () => {
  it('finds rel="next" among several links, relative or absolute', () => {
    expect(nextLink('</v2/app/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/app/tags/list?last=b&n=2');
    expect(nextLink('<https://r/v2/x?last=1>; rel="prev", <https://r/v2/x?last=3>; rel=next')).toBe(
      'https://r/v2/x?last=3',
    );
    expect(nextLink('</a>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

describe('pickPlatform', () => {
  const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
  it('prefers linux/amd64, skips attestations, else takes the first image', () => {
    expect(
      pickPlatform([
        { digest: d(1), platform: { os: 'linux', architecture: 'arm64' } },
        { digest: d(2), platform: { os: 'linux', architecture: 'amd64' } },
      ])!.digest,
    ).toBe(d(2));
    expect(
      pickPlatform([
        {
          digest: d(3),
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        },
        { digest: d(4), platform: { os: 'linux', architecture: 'arm64' } },
      ])!.digest,
    ).toBe(d(4));
    expect(pickPlatform([])).toBeUndefined();
  });
});

describe('digestOf', () => {
  it('is the sha256 of the bytes, sha512 on request, and refuses other algorithms', () => {
    expect(digestOf('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(digestOf('abc', 'sha512')).toMatch(/^sha512:ddaf35a1/);
    expect(() => digestOf('x', 'md5')).toThrow(/unsupported digest algorithm/);
  });
});
