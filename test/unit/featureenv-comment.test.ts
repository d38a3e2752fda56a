import { describe, expect, it } from 'vitest';
import { formatWhen } from '../../src/core/index.js';
import { renderUpComment } from '../../src/featureenv/comment.js';
import { renderFeatureEnvSummary } from '../../src/featureenv/summary.js';
import { emptyResult } from '../../src/featureenv/context.js';

/** Issue 16 item 1 (its first part): times in the comment and the summary are written for people. */
const NOW = Date.UTC(2026, 11, 2, 6, 41, 21); // Wed 2 Dec 2026 06:41:21 UTC

describe('times for people', () => {
  it('formatWhen: how far, then the day and time in UTC', () => {
    expect(formatWhen('2026-12-05T06:41:21.389Z', NOW)).toBe('in 3 days, Sat 5 Dec 06:41 UTC');
    expect(formatWhen(NOW + 5 * 3_600_000, NOW)).toBe('in 5 hours, Wed 2 Dec 11:41 UTC');
    expect(formatWhen(NOW + 12 * 60_000, NOW)).toBe('in 12 minutes, Wed 2 Dec 06:53 UTC');
    expect(formatWhen(NOW + 20_000, NOW)).toBe('in 1 minute, Wed 2 Dec 06:41 UTC');
    expect(formatWhen(NOW - 2 * 3_600_000, NOW)).toBe('2 hours ago, Wed 2 Dec 04:41 UTC');
    expect(formatWhen('2027-01-04T00:00:00Z', NOW)).toBe('in 33 days, Mon 4 Jan 2027 00:00 UTC');
    expect(formatWhen('not a time', NOW)).toBe('not a time');
  });

  it('the PR comment says when the environment expires in those words, not as an ISO stamp', () => {
    const body = renderUpComment({
      number: 42,
      sha: 'abcdef0123456789',
      namespace: 'fe-3fa2c1-pr-42',
      urls: [{ service: 'web', url: 'https://web-pr-42.preview.example.com' }],
      images: [],
      links: [],
      expiresAt: '2026-12-05T06:41:21.389Z',
      now: NOW,
      readyMs: 4200,
      fromPool: true,
      updated: false,
    });
    expect(body).toContain(
      'Expires in 3 days, Sat 5 Dec 06:41 UTC unless the pull request is updated before',
    );
    expect(body).not.toContain('2026-12-05T06:41:21.389Z');
  });

  it('the job summary: "What happened", and the expiry for people with its exact time beside', () => {
    const md = renderFeatureEnvSummary(
      {
        ...emptyResult('up', 'made for this pull request from a warm spare'),
        number: 42,
        expiresAt: '2026-12-05T06:41:21.389Z',
      },
      { now: NOW },
    );
    expect(md).toContain('| What happened | made for this pull request from a warm spare |');
    expect(md).toContain('| Expires | in 3 days, Sat 5 Dec 06:41 UTC (`2026-12-05T06:41:21.389Z`) |');
    expect(md).not.toContain('| Why |');
  });
});
