import { describe, expect, it } from 'vitest';
import { codeSpan, escapeMarkdown, escapeMarkdownLine, markdownLink } from '../../src/core/markdown.js';
import { renderDeploySummary } from '../../src/deploy/summary.js';

describe('renderDeploySummary', () => {
  it('renders a table of workloads with old -> new image, duration, result and the deployment link', () => {
    const md = renderDeploySummary({
      result: 'rolled-back',
      rows: [
        {
          kind: 'Deployment',
          namespace: 'prod',
          name: 'web',
          images: [{ container: 'web', from: '127.0.0.1:5000/web:1', to: '127.0.0.1:5000/web@sha256:abc' }],
          durationMs: 12_300,
          result: 'success',
        },
        {
          kind: 'StatefulSet',
          namespace: 'prod',
          name: 'db',
          images: [
            { container: 'db', from: 'postgres:16', to: 'postgres:16' },
            { container: 'exporter', to: 'ghcr.io/org/exp:2' },
          ],
          durationMs: 600_000,
          result: 'rolled-back',
          note: 'Waiting for 1 pods to be ready...',
        },
      ],
      deployment: { url: 'https://github.com/org/repo/deployments/production', environment: 'production' },
    });
    expect(md).toBe(
      [
        '## Deploy',
        '',
        'Result: **rolled-back**',
        '',
        '| Workload | Image (old → new) | Rollout | Result |',
        '| --- | --- | --- | --- |',
        '| `Deployment/prod/web` | `127.0.0.1:5000/web:1` → `127.0.0.1:5000/web@sha256:abc` | 12.3s | ✅ success |',
        '| `StatefulSet/prod/db` | db: `postgres:16` (unchanged)<br>exporter: `ghcr.io/org/exp:2` (new) | 10m0s | ↩️ rolled back: Waiting for 1 pods to be ready... |',
        '',
        '[GitHub Deployment to production](https://github.com/org/repo/deployments/production)',
        '',
      ].join('\n'),
    );
  });

  it('escapes values so they cannot break the table or inject markup', () => {
    const md = renderDeploySummary({
      rows: [
        {
          kind: 'Job',
          name: 'x|y',
          images: [],
          result: 'failed',
          note: 'line1\n<script>alert(1)</script> *bold* [l](http://e)',
        },
      ],
    });
    const row = md.split('\n').find((l) => l.startsWith('| `Job/'))!;
    // exactly the 5 cell separators of a 4-column row; every other | is escaped
    expect(row.replace(/\\\|/g, '').match(/\|/g)).toHaveLength(5);
    expect(row).toContain('x\\|y');
    expect(row).toContain('line1<br>&lt;script&gt;alert(1)&lt;/script&gt; \\*bold\\* \\[l\\](http\\://e)');
    expect(row).not.toContain('<script>');
    expect(row).toContain('| – |');
  });

  it('says when nothing was applied, and only links http(s) URLs', () => {
    expect(renderDeploySummary({ rows: [] })).toContain('No workloads were applied.');
    expect(markdownLink('x', 'javascript:alert(1)')).toBe('x');
    expect(markdownLink('a b', 'https://e.com/a b(c)')).toBe('[a b](https://e.com/a%20b%28c%29)');
    expect(escapeMarkdown('a_b`c')).toBe('a\\_b\\`c');
    // Readable raw: no escapes where Markdown needs none; a line that would start a list is escaped.
    expect(escapeMarkdown('rolled-back sample-app: ready... (2 of 2)')).toBe(
      'rolled-back sample-app: ready... (2 of 2)',
    );
    expect(escapeMarkdownLine('- not a list')).toBe('\\- not a list');
    expect(escapeMarkdownLine('1. not a list')).toBe('1\\. not a list');
    // In a table cell nothing starts a block: left as it is.
    expect(escapeMarkdown('0.3 s')).toBe('0.3 s');
  });

  it('puts names and images in code spans that survive backticks and pipes', () => {
    expect(codeSpan('ghcr.io/org/app:1')).toBe('`ghcr.io/org/app:1`');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`x`')).toBe('`` `x` ``');
    expect(codeSpan('a|b\nc')).toBe('`a\\|b c`');
  });
});
