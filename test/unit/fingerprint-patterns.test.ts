import { describe, expect, it } from 'vitest';
import { compilePatterns } from '../../src/fingerprint/patterns.js';

/**
 * The matcher's fast paths (plain paths, plain directory + `**`) against minimatch itself
 * (`exact`): for every pattern and every path, the same answer from match and partialMatch.
 */
const PATTERNS = [
  '**',
  '!.c2c-bench-complete',
  'a',
  'a/',
  'a/**',
  'a/**/',
  '!a/b',
  'a/b/c.txt',
  '.hidden',
  '.hidden/**',
  'a b/c',
  'x+(y)',
  '{a,b}',
  '#c',
  'é/ü',
  '**/a',
  '*.txt',
  'a/*',
  'a/**/c.txt',
  './a',
  'a//b',
  'a\\*b',
  '[a]/b',
  '/ws/a',
  '/ws/**',
  '~/x',
  '!~/x',
  '!/home/u/x/**',
];

function pathsUnder(ws: string): string[] {
  const rel = [
    '',
    '/',
    'a',
    'a/',
    'a/b',
    'a/b/',
    'a/b/c.txt',
    'a/.x',
    'a/./b',
    'a/../b',
    'a/.',
    'a/..',
    'a//b',
    'ab',
    'a-b',
    '.hidden',
    '.hidden/x',
    '.c2c-bench-complete',
    '.c2c-bench-complete/x',
    'a b/c',
    'x+(y)',
    '{a,b}',
    '#c',
    'é/ü',
    'é/ü/v',
    'x/a',
    'x/y/a',
    'c.txt',
    'a*b',
    'a\\*b',
  ];
  const base = ws === '/' ? '' : ws;
  return [
    ws,
    `${ws}/`,
    ws === '/' ? '/' : `${ws}x/a`,
    ws === '/' ? '/' : ws.slice(0, ws.lastIndexOf('/')) || '/',
    '/',
    '/home/u/x',
    '/home/u/x/y',
    ...rel.map((r) => `${base}/${r}`),
  ];
}

describe.each(['/ws', '/tmp/deep/ws', '/', '/tmp/w[1]', '/tmp/w*'])('workspace %s', (ws) => {
  it.each(PATTERNS)('%s: match and partialMatch agree with minimatch', (pattern) => {
    const patterns = pattern === '**' ? ['**'] : ['**', pattern];
    for (const set of [[pattern], patterns]) {
      const compile = (exact: boolean) => {
        try {
          return compilePatterns(set, ws, { homedir: '/home/u', exact });
        } catch (e) {
          return (e as Error).message; // a comment only, or outside the workspace
        }
      };
      const fast = compile(false);
      const exact = compile(true);
      if (typeof exact === 'string' || typeof fast === 'string') {
        expect(fast).toEqual(exact);
        continue;
      }
      expect(fast.searchPaths).toEqual(exact.searchPaths);
      for (const p of pathsUnder(ws)) {
        expect([p, fast.match(p)], `${set.join(' ')} on ${p}`).toEqual([p, exact.match(p)]);
        expect([p, fast.partialMatch(p)], `${set.join(' ')} on ${p}`).toEqual([p, exact.partialMatch(p)]);
      }
    }
  });
});
