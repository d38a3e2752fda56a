import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The hot path: sha256 of many files. Small sets are hashed on the calling thread with synchronous
 * reads into one large buffer (no per-file promise or stream); large sets go to worker threads in
 * batches, dispatched while the walk is still going, with a few batches in flight per worker so no
 * worker waits for the next one.
 */

/** Outcome for one path. */
export type DigestOutcome =
  | { kind: 'file'; digest: Buffer; executable: boolean; size: number }
  | { kind: 'dir' }
  | { kind: 'error'; code: string; message: string };

export interface DigestTuning {
  /** Worker threads to use; 0 hashes on the calling thread. Default: min(4, available cores), 0 on one core. */
  workers?: number;
  /** Number of files from which workers are used (below: only when the files are large). */
  threshold?: number;
  /** Files per batch sent to a worker. */
  batch?: number;
}

const BUFFER_SIZE = 1 << 20;
const DEFAULT_THRESHOLD = 64;
const DEFAULT_BATCH = 32;
const IN_FLIGHT = 3;
const BIG_SET_BYTES = 64 << 20;

const F_FILE = 0;
const F_EXEC = 1;
const F_DIR = 2;
const F_ERROR = 3;

function describeType(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}

let mainBuffer: Buffer | undefined;

/** Hashes one file on the calling thread (same logic as the worker below). */
export function digestSync(path: string, follow: boolean): DigestOutcome {
  const buf = (mainBuffer ??= Buffer.allocUnsafe(BUFFER_SIZE));
  const C = fs.constants;
  let fd = -1;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; it changes nothing for regular files.
    fd = fs.openSync(path, C.O_RDONLY | C.O_NONBLOCK | (follow ? 0 : C.O_NOFOLLOW));
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) return { kind: 'dir' };
    if (!st.isFile()) return { kind: 'error', code: 'ENOTREG', message: describeType(st) };
    const h = crypto.createHash('sha256');
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0)
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    return { kind: 'file', digest: h.digest(), executable: (st.mode & 0o100) !== 0, size: st.size };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'error', code: e.code ?? 'EIO', message: e.message };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * The worker, as CommonJS source evaluated by `new Worker(src, { eval: true })`: no separate file,
 * so it survives bundling into one dist/index.js.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const C = fs.constants;
const buf = Buffer.allocUnsafe(${BUFFER_SIZE});
function describeType(st) {
  if (st.isFIFO()) return 'a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}
parentPort.on('message', (m) => {
  const n = m.paths.length;
  const digests = new Uint8Array(32 * n);
  const flags = new Uint8Array(n);
  const sizes = new Float64Array(n);
  const errors = [];
  const flagsOpen = C.O_RDONLY | C.O_NONBLOCK | (m.follow ? 0 : C.O_NOFOLLOW);
  for (let i = 0; i < n; i++) {
    let fd = -1;
    try {
      fd = fs.openSync(m.paths[i], flagsOpen);
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) { flags[i] = ${F_DIR}; continue; }
      if (!st.isFile()) { flags[i] = ${F_ERROR}; errors.push({ i, code: 'ENOTREG', message: describeType(st) }); continue; }
      const h = crypto.createHash('sha256');
      let r;
      while ((r = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(r === buf.length ? buf : buf.subarray(0, r));
      digests.set(h.digest(), 32 * i);
      flags[i] = (st.mode & 0o100) ? ${F_EXEC} : ${F_FILE};
      sizes[i] = st.size;
    } catch (e) {
      flags[i] = ${F_ERROR};
      errors.push({ i, code: (e && e.code) || 'EIO', message: String(e && e.message) });
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }
  parentPort.postMessage({ id: m.id, digests, flags, sizes, errors }, [digests.buffer, flags.buffer, sizes.buffer]);
});
`;

interface BatchResult {
  id: number;
  digests: Uint8Array;
  flags: Uint8Array;
  sizes: Float64Array;
  errors: { i: number; code: string; message: string }[];
}

function defaultWorkers(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores <= 1 ? 0 : Math.min(4, cores);
}

/**
 * Collects paths while a walk runs (`add`), starts hashing as soon as it is worth it, and gives all
 * outcomes in the order the paths were added (`finish`).
 */
export class Digester {
  private readonly paths: string[] = [];
  private readonly outcomes: (DigestOutcome | undefined)[] = [];
  private readonly workerCount: number;
  private readonly threshold: number;
  private readonly batchSize: number;
  private workers: { worker: Worker; inFlight: number }[] = [];
  private next = 0; // first path not yet dispatched
  private batches = new Map<number, number>(); // batch id -> first index
  private batchId = 0;
  private failure: Error | undefined;
  private settle: (() => void) | undefined;

  constructor(
    private readonly follow: boolean,
    tuning: DigestTuning = {},
  ) {
    this.workerCount = tuning.workers ?? defaultWorkers();
    this.threshold = tuning.threshold ?? DEFAULT_THRESHOLD;
    this.batchSize = Math.max(1, tuning.batch ?? DEFAULT_BATCH);
  }

  /** Queues a path; returns its index. */
  add(path: string): number {
    const i = this.paths.push(path) - 1;
    if (this.workerCount > 0 && this.workers.length === 0 && this.paths.length >= this.threshold)
      this.startWorkers();
    if (this.workers.length) this.pump(false);
    return i;
  }

  get size(): number {
    return this.paths.length;
  }

  async finish(): Promise<DigestOutcome[]> {
    if (this.workers.length === 0 && this.workerCount > 0 && this.paths.length >= 2 && this.worthWorkers())
      this.startWorkers();
    if (this.workers.length === 0) {
      for (let i = 0; i < this.paths.length; i++) this.outcomes[i] = digestSync(this.paths[i]!, this.follow);
      return this.outcomes as DigestOutcome[];
    }
    try {
      await new Promise<void>((resolve) => {
        this.settle = resolve;
        this.pump(true);
      });
      if (this.failure) throw this.failure;
      return this.outcomes as DigestOutcome[];
    } finally {
      await Promise.all(this.workers.map((w) => w.worker.terminate()));
      this.workers = [];
    }
  }

  /** A small set is still worth the workers when its files are big. */
  private worthWorkers(): boolean {
    let bytes = 0;
    for (const p of this.paths) {
      try {
        bytes += fs.statSync(p).size;
      } catch {
        /* reported when hashed */
      }
      if (bytes >= BIG_SET_BYTES) return true;
    }
    return false;
  }

  private startWorkers(): void {
    const n = Math.min(this.workerCount, Math.max(1, this.paths.length));
    for (let k = 0; k < n; k++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const slot = { worker, inFlight: 0 };
      worker.on('message', (r: BatchResult) => this.onResult(slot, r));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0 && this.settle) this.fail(new Error(`hashing worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  /** Sends batches to workers with room. During the walk only full batches go out. */
  private pump(final: boolean): void {
    for (;;) {
      const remaining = this.paths.length - this.next;
      if (remaining === 0 || (!final && remaining < this.batchSize)) break;
      let slot = this.workers[0]!;
      for (const w of this.workers) if (w.inFlight < slot.inFlight) slot = w;
      if (slot.inFlight >= IN_FLIGHT) break;
      const start = this.next;
      const end = Math.min(this.paths.length, start + this.batchSize);
      this.next = end;
      const id = this.batchId++;
      this.batches.set(id, start);
      slot.inFlight++;
      slot.worker.postMessage({ id, follow: this.follow, paths: this.paths.slice(start, end) });
    }
    if (final) this.checkDone();
  }

  private onResult(slot: { inFlight: number }, r: BatchResult): void {
    slot.inFlight--;
    const start = this.batches.get(r.id)!;
    this.batches.delete(r.id);
    const errors = new Map(r.errors.map((e) => [e.i, e]));
    const digests = Buffer.from(r.digests.buffer, r.digests.byteOffset, r.digests.byteLength);
    for (let i = 0; i < r.flags.length; i++) {
      const f = r.flags[i];
      if (f === F_DIR) this.outcomes[start + i] = { kind: 'dir' };
      else if (f === F_ERROR) {
        const e = errors.get(i)!;
        this.outcomes[start + i] = { kind: 'error', code: e.code, message: e.message };
      } else
        this.outcomes[start + i] = {
          kind: 'file',
          digest: digests.subarray(32 * i, 32 * i + 32),
          executable: f === F_EXEC,
          size: r.sizes[i]!,
        };
    }
    this.pump(this.settle !== undefined);
  }

  private checkDone(): void {
    if (this.settle && this.next === this.paths.length && this.batches.size === 0) {
      const s = this.settle;
      this.settle = undefined;
      s();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.settle) {
      const s = this.settle;
      this.settle = undefined;
      s();
    }
  }
}
