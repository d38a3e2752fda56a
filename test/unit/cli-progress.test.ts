import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLiveTerminal, progressLogger } from '../../src/cli/progress.js';

/** A stream that records what is written, optionally claiming to be a terminal of some width. */
function stream(tty: { columns: number } | false = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text(): string };
  let text = '';
  s.on('data', (d) => (text += d));
  if (tty) {
    s.isTTY = true;
    s.columns = tty.columns;
  }
  s.text = () => text;
  return s;
}

const ESC = '\x1b';

describe('progress: where a rewritten status line goes', () => {
  it('only to an interactive terminal: a TTY, not in CI, not TERM=dumb', () => {
    expect(isLiveTerminal(stream({ columns: 80 }), {})).toBe(true);
    expect(isLiveTerminal(stream(false), {})).toBe(false);
    // CircleCI gives its steps a TTY, but its log is a file.
    expect(isLiveTerminal(stream({ columns: 80 }), { CI: 'true' })).toBe(false);
    expect(isLiveTerminal(stream({ columns: 80 }), { CI: 'false' })).toBe(true);
    expect(isLiveTerminal(stream({ columns: 80 }), { TERM: 'dumb' })).toBe(false);
  });
});

describe('progress logger', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  /** Advances both the logger's clock and the timers. */
  const advance = async (ms: number) => {
    clock += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };

  it('plain: lines only (no carriage return, no escape), the phase named first, its time when it took a while', async () => {
    const out = stream();
    const err = stream();
    const log = progressLogger({ out, err, live: false, now: () => clock });
    log.info('start');
    await log.group('Build and push reg/app:v1', async () => {
      log.info('STEP 1/2: FROM base');
      await advance(5_000);
      log.warning('slow');
    });
    await log.group('Apply', async () => {
      log.info('created ConfigMap/shop/a');
    });
    log.close();
    expect(out.text()).toBe(
      [
        'start',
        '== Build and push reg/app:v1',
        '  STEP 1/2: FROM base',
        '  done in 5.0s',
        '== Apply',
        '  created ConfigMap/shop/a',
        '',
      ].join('\n'),
    );
    expect(err.text()).toBe('  warning: slow\n');
    expect(out.text() + err.text()).not.toContain('\r');
    expect(out.text() + err.text()).not.toContain(ESC);
  });

  it('plain: a phase silent for the heartbeat says it is still running (no silent minute in a CI log)', async () => {
    const out = stream();
    const log = progressLogger({ out, err: stream(), live: false, now: () => clock, heartbeatMs: 30_000 });
    const done = log.group('Watch 3 rollout(s)', async () => {
      await advance(29_000);
      log.info('Deployment/shop/api: 1 of 2 updated');
      await advance(29_000); // 29 s since the last line: quiet still
      await advance(2_000);
      await advance(31_000);
    });
    await done;
    log.close();
    const lines = out.text().split('\n');
    expect(lines.filter((l) => l.includes('still running'))).toEqual([
      '  … still running: Watch 3 rollout(s) (1m00s)',
      '  … still running: Watch 3 rollout(s) (1m31s)',
    ]);
    expect(lines.at(-2)).toBe('  done in 1m31s');
  });

  it('live: a status line rewritten with a spinner and the elapsed time; lines scroll above it; one ✓ line per phase', async () => {
    const out = stream({ columns: 60 });
    const err = stream();
    const log = progressLogger({ out, err, live: true, now: () => clock, intervalMs: 100 });
    await log.group('Build and push reg/app:v1', async () => {
      await advance(1_000);
      expect(out.text()).toContain(`\r${ESC}[2K⠋ Build and push reg/app:v1 0s`);
      expect(out.text()).toMatch(new RegExp(`\\r${ESC}\\[2K. Build and push reg/app:v1 1s$`));
      // Nothing printed inside yet: no header line.
      expect(out.text()).not.toContain('== Build');
      log.info('pushed reg/app@sha256:abc');
      await advance(1_500);
    });
    await log.group('Check the cluster', async () => {
      await advance(300);
    });
    log.close();
    // What remains on the screen once each \r\x1b[2K has erased the status line.
    const screen = out
      .text()
      .split('\n')
      .map((l) => l.split(`\r${ESC}[2K`).at(-1));
    expect(screen).toEqual([
      '== Build and push reg/app:v1',
      '  pushed reg/app@sha256:abc',
      '✓ Build and push reg/app:v1 2.5s',
      '✓ Check the cluster 300ms',
      '',
    ]);
  });

  it('live: nested phases, a failing phase, a status line cut to the terminal width, secrets masked', async () => {
    const out = stream({ columns: 30 });
    const log = progressLogger({ out, err: out, live: true, now: () => clock, intervalMs: 100 });
    log.secret('s3cr3t-token');
    await expect(
      log.group('Deploy', async () => {
        await log.group('Watch 1 rollout(s) of a very long name s3cr3t-token', async () => {
          await advance(200);
          const status = out.text().split(`\r${ESC}[2K`).at(-1)!;
          expect(status.length).toBeLessThanOrEqual(29);
          expect(status.endsWith('…')).toBe(true);
          throw new Error('boom');
        });
      }),
    ).rejects.toThrow('boom');
    log.close();
    const screen = out
      .text()
      .split('\n')
      .map((l) => l.split(`\r${ESC}[2K`).at(-1));
    expect(screen).toEqual([
      '== Deploy',
      '  ✗ Watch 1 rollout(s) of a very long name *** failed after 200ms',
      '✗ Deploy failed after 200ms',
      '',
    ]);
    expect(out.text()).not.toContain('s3cr3t-token');
  });
});
