import { describe, expect, it } from 'vitest';
import {
  canonicalName,
  formatReference,
  ImageReferenceError,
  parseImageReference,
  repositoryName,
} from '../../src/images/reference.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

function parseError(value: string): string {
  try {
    parseImageReference(value);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageReferenceError);
    return (e as Error).message;
  }
  throw new Error(`'${value}' parsed, an error was expected`);
}

describe('parseImageReference: Docker Hub', () => {
  // Every spelling of one Docker Hub repository is one canonical name.
  const officialSpellings = [
    'nginx',
    'library/nginx',
    'docker.io/nginx',
    'docker.io/library/nginx',
    'index.docker.io/nginx',
    'index.docker.io/library/nginx',
    'registry-1.docker.io/nginx',
    'registry-1.docker.io/library/nginx',
  ];

  it.each(officialSpellings)('%s is docker.io/library/nginx', (spelling) => {
    const ref = parseImageReference(spelling);
    expect(ref).toEqual({ registry: 'docker.io', repository: 'library/nginx' });
    expect(canonicalName(ref)).toBe('docker.io/library/nginx');
    expect(repositoryName(ref)).toBe('nginx');
  });

  it.each(officialSpellings)('%s with a tag and a digest keeps both', (spelling) => {
    const ref = parseImageReference(`${spelling}:1.27@${D('a')}`);
    expect(ref).toEqual({ registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: D('a') });
    expect(formatReference(ref)).toBe(`nginx:1.27@${D('a')}`);
  });

  it.each([
    'bitnami/redis',
    'docker.io/bitnami/redis',
    'index.docker.io/bitnami/redis',
    'registry-1.docker.io/bitnami/redis',
  ])('%s (a user repository) is docker.io/bitnami/redis, no library/ added', (spelling) => {
    const ref = parseImageReference(`${spelling}:7`);
    expect(ref).toEqual({ registry: 'docker.io', repository: 'bitnami/redis', tag: '7' });
    expect(formatReference(ref)).toBe('bitnami/redis:7');
  });

  it('registry host names are case-insensitive: DOCKER.IO and Index.Docker.IO are Docker Hub', () => {
    expect(canonicalName(parseImageReference('DOCKER.IO/nginx'))).toBe('docker.io/library/nginx');
    expect(canonicalName(parseImageReference('Index.Docker.IO/nginx:1'))).toBe('docker.io/library/nginx');
    expect(parseImageReference('GHCR.io/org/app:v1').registry).toBe('ghcr.io');
  });
});

describe('parseImageReference: registries, tags and digests', () => {
  it.each([
    ['ghcr.io/org/app', { registry: 'ghcr.io', repository: 'org/app' }],
    ['ghcr.io/org/team/app:v1.2', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2' }],
    ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', repository: 'app' }],
    ['127.0.0.1:5000/app:5000', { registry: '127.0.0.1:5000', repository: 'app', tag: '5000' }],
    [
      `127.0.0.1:5000/shop/api:v2@${D('b')}`,
      { registry: '127.0.0.1:5000', repository: 'shop/api', tag: 'v2', digest: D('b') },
    ],
    [
      `registry.example.com:443/app@${D('c')}`,
      { registry: 'registry.example.com:443', repository: 'app', digest: D('c') },
    ],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:latest', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }],
    ['[::1]/app', { registry: '[::1]', repository: 'app' }],
    [
      `[2001:db8::1]:5000/org/app:v1@${D('d')}`,
      { registry: '[2001:db8::1]:5000', repository: 'org/app', tag: 'v1', digest: D('d') },
    ],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app-base:deps-0123456789abcdef',
      {
        registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        repository: 'app-base',
        tag: 'deps-0123456789abcdef',
      },
    ],
    [
      'nginx:Stable_1.27-Alpine',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'Stable_1.27-Alpine' },
    ],
  ])('%s', (value, expected) => {
    expect(parseImageReference(value)).toEqual(expected);
  });

  it('a registry with a port or an IPv6 host is written back with it', () => {
    expect(formatReference(parseImageReference(`127.0.0.1:5000/app:1@${D('e')}`))).toBe(
      `127.0.0.1:5000/app:1@${D('e')}`,
    );
    expect(formatReference(parseImageReference('[2001:db8::1]:5000/org/app:v1'))).toBe(
      '[2001:db8::1]:5000/org/app:v1',
    );
  });

  it('one host with different ports is different registries', () => {
    expect(canonicalName(parseImageReference('127.0.0.1:5000/app'))).not.toBe(
      canonicalName(parseImageReference('127.0.0.1:5001/app')),
    );
  });
});

describe('parseImageReference: rejected, saying what is wrong', () => {
  it.each([
    ['Nginx', "path component 'Nginx': repository names must be lowercase"],
    ['library/NGINX:1', "path component 'NGINX': repository names must be lowercase"],
    ['ghcr.io/Org/app', "path component 'Org': repository names must be lowercase"],
    ['127.0.0.1:5000/App:2', "path component 'App': repository names must be lowercase"],
    ['index.docker.io/Nginx', "path component 'Nginx': repository names must be lowercase"],
    ['[::1]:5000/App', "path component 'App': repository names must be lowercase"],
  ])('uppercase in the path: %s', (value, why) => {
    expect(parseError(value)).toBe(`'${value}' is not a valid image reference: ${why}`);
  });

  it.each([
    ['', 'it is empty'],
    ['nginx latest', 'it contains whitespace'],
    ['nginx:', "'' is not a valid tag"],
    ['nginx:-1', "'-1' is not a valid tag"],
    ['nginx@sha256:123', 'is not a digest'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'a sha256 digest has 64 lowercase hex characters'],
    ['ghcr.io//app', 'empty component'],
    ['ghcr.io/app/', 'empty component'],
    ['my_host.example.com:5000/app', "'my_host.example.com:5000' is not a valid registry host"],
    ['[::1:5000/app', 'is not a valid registry host'],
    ['ghcr.io:port/app', "'ghcr.io:port' is not a valid registry host"],
  ])('%s', (value, why) => {
    expect(parseError(value)).toContain(why);
  });
});
