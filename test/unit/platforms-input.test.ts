import { describe, expect, it } from 'vitest';
import { platformList } from '../../src/builder/inputs.js';

describe('platforms (shared by hash-base, deploy-k8s, feature-env)', () => {
  it('takes commas and newlines, drops duplicates, keeps the order', () => {
    expect(platformList('linux/amd64, linux/arm64\nlinux/amd64\nlinux/arm/v7', 'platforms')).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
    ]);
    expect(platformList('', 'platforms')).toEqual([]);
  });
  it.each([
    ['linux', "'linux' is not a platform"],
    ['Linux/amd64', "'Linux/amd64' is not a platform"],
    ['linux/amd64/v3/x', "'linux/amd64/v3/x' is not a platform"],
    [
      'darwin/arm64',
      "'darwin' is not an operating system images are built for. Expected one of linux, windows",
    ],
    ['linux/x86_64', "'x86_64' is not a known architecture. Expected one of amd64, arm64"],
    ['linux/arm/v9', "'v9' is not a variant of arm. Expected one of v5, v6, v7, or none"],
    ['linux/386/v2', "'v2' is not a variant of 386. Expected no variant ('linux/386')"],
  ])('refuses %s, naming what would be right', (value, message) => {
    expect(() => platformList(value, 'platforms')).toThrow(`Input 'platforms': `);
    expect(() => platformList(value, 'platforms')).toThrow(message);
  });
});
