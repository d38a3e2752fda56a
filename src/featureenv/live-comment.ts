import { errorMessage, type Logger } from '../core/index.js';
import type { GitHubClient } from '../github/index.js';
import { COMMENT_MARKER } from './comment.js';

/** The fewest milliseconds between two edits of the live comment (GitHub limits content writes). */
export const COMMENT_EDIT_INTERVAL_MS = 5_000;

/**
 * The environment's one sticky comment while an up runs: the first body at once (the comment made
 * then if there is none), later ones at most one edit every `intervalMs` (a body set inside that
 * window is written when it ends; only the newest counts), and the last one (`finish`) at once,
 * after the edit in flight. A failed edit is a warning: the deploy goes on.
 */
export class LiveComment {
  private id: number | undefined;
  /** When the last write ended (GitHub has it then). */
  private lastAt = -Infinity;
  private wanted: string | undefined;
  private written: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private warned = false;
  private done = false;

  constructor(
    private readonly github: GitHubClient,
    private readonly number: number,
    private readonly logger: Logger,
    private readonly o: { intervalMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** A new state to show: written now, or once the interval since the last edit has passed. */
  set(body: string): void {
    if (this.done) return;
    this.wanted = body;
    if (!this.timer && !this.busy) this.schedule();
  }

  /** The last state: written at once (after the edit in flight); later `set`s are ignored. */
  async finish(body: string): Promise<void> {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wanted = undefined;
    await this.busy;
    await this.write(body);
  }

  private schedule(): void {
    const wait = Math.max(0, this.lastAt + (this.o.intervalMs ?? COMMENT_EDIT_INTERVAL_MS) - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const body = this.wanted;
      this.wanted = undefined;
      if (body === undefined || this.done) return;
      this.busy = this.write(body).then(() => {
        this.busy = undefined;
        if (this.wanted !== undefined && !this.done) this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  private async write(body: string): Promise<void> {
    if (body === this.written) return;
    try {
      if (this.id === undefined) {
        const r = await this.github.upsertComment(this.number, COMMENT_MARKER, body);
        this.id = r.comment.id;
      } else await this.github.editComment(this.number, this.id, COMMENT_MARKER, body);
      this.written = body;
    } catch (e) {
      // Deleted meanwhile (someone removed it): the next write finds or makes it again.
      this.id = undefined;
      if (!this.warned || this.done)
        this.logger.warning(`could not write the pull request comment: ${errorMessage(e)}`);
      this.warned = true;
    } finally {
      this.lastAt = this.now();
    }
  }
}
