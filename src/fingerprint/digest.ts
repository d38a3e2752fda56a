import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { monotonicMs } from '../core/index.js';
import type { Worker } from 'node:worker_threads';

/**
 * The hot path: sha256 of many files. Small sets are hashed on the calling thread with synchronous
 * reads into one large buffer (no per-file promise or stream). Large sets are cut into batches as
 * the walk finds them, and every batch is sent to every worker thread; a worker or the calling
 * thread takes the next batch by incrementing a shared counter (Atomics), so the work balances
 * itself and nobody waits for the calling thread: it walks, then hashes batches itself like a
 * worker, then collects what the workers did. Workers: one fewer than the cores (the calling thread
 * is the last one), at most 3.
 */

/** What hashing one path gave: a file, a directory (a followed symlink), or an error. */
export const F_FILE = 0;
export const F_EXEC = 1;
export const F_DIR = 2;
export const F_ERROR = 3;

/**
 * The outcomes of every path, in the order the paths were added, in flat arrays (no object per
 * file: on 20,000 files the garbage collector notices): a flag each, the raw sha256 of each file,
 * its size, and the errors by index.
 */
export class Digests {
  flags = new Uint8Array(0);
  digests = Buffer.alloc(0);
  sizes = new Float64Array(0);
  readonly errors = new Map<number, { code: string; message: string }>();

  /** Makes room for n outcomes. */
  ensure(n: number): void {
    if (n <= this.flags.length) return;
    const cap = Math.max(n, this.flags.length * 2, 256);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    const digests = Buffer.alloc(32 * cap);
    this.digests.copy(digests);
    const sizes = new Float64Array(cap);
    sizes.set(this.sizes);
    this.flags = flags;
    this.digests = digests;
    this.sizes = sizes;
  }

  /** Every digest as hex, in one string: path i's is at 64 * i. */
  hex(count: number): string {
    return this.digests.toString('hex', 0, 32 * count);
  }
}

export interface DigestTuning {
  /** Worker threads besides the calling thread; 0 hashes on the calling thread alone. Default: cores - 1, at most 3. */
  workers?: number;
  /** Number of files from which workers are used (below: only when the files are large). */
  threshold?: number;
  /** Files per batch sent to a worker. */
  batch?: number;
}

const BUFFER_SIZE = 1 << 20;
const DEFAULT_THRESHOLD = 64;
const DEFAULT_BATCH = 32;
/** How long the calling thread hashes before it lets the event loop run. */
const YIELD_MS = 5;
const BIG_SET_BYTES = 64 << 20;

function describeType(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}

let mainBuffer: Buffer | undefined;

/** Hashes one file on the calling thread into out[i] (same logic as the worker below). */
export function digestInto(path: string, follow: boolean, out: Digests, i: number): void {
  const buf = (mainBuffer ??= Buffer.allocUnsafe(BUFFER_SIZE));
  const C = fs.constants;
  let fd = -1;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; it changes nothing for regular files.
    fd = fs.openSync(path, C.O_RDONLY | C.O_NONBLOCK | (follow ? 0 : C.O_NOFOLLOW));
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) {
      out.flags[i] = F_DIR;
      return;
    }
    if (!st.isFile()) {
      out.flags[i] = F_ERROR;
      out.errors.set(i, { code: 'ENOTREG', message: describeType(st) });
      return;
    }
    const h = crypto.createHash('sha256');
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0)
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    out.digests.set(h.digest(), 32 * i);
    out.flags[i] = (st.mode & 0o100) !== 0 ? F_EXEC : F_FILE;
    out.sizes[i] = st.size;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    out.flags[i] = F_ERROR;
    out.errors.set(i, { code: e.code ?? 'EIO', message: e.message });
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * The worker, as CommonJS source evaluated by `new Worker(src, { eval: true })`: no separate file,
 * so it survives bundling into one dist/index.js. It keeps every batch it is sent, takes the next
 * batch number from the shared counter, hashes that batch once it has it, and posts the result.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const C = fs.constants;
const buf = Buffer.allocUnsafe(${BUFFER_SIZE});
const counter = new Int32Array(workerData.counter);
const flagsOpen = C.O_RDONLY | C.O_NONBLOCK | (workerData.follow ? 0 : C.O_NOFOLLOW);
const batches = [];
let total = Infinity;
let claim = -1;
function describeType(st) {
  if (st.isFIFO()) return 'a named pipe (FIFO), not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}
function hash(id, paths) {
  const n = paths.length;
  const digests = new Uint8Array(32 * n);
  const flags = new Uint8Array(n);
  const sizes = new Float64Array(n);
  const errors = [];
  for (let i = 0; i < n; i++) {
    let fd = -1;
    try {
      fd = fs.openSync(paths[i], flagsOpen);
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
  parentPort.postMessage({ id, digests, flags, sizes, errors }, [digests.buffer, flags.buffer, sizes.buffer]);
}
parentPort.on('message', (m) => {
  if (m.total !== undefined) total = m.total;
  else batches[m.id] = m.paths;
  for (;;) {
    if (claim < 0) claim = Atomics.add(counter, 0, 1);
    if (claim >= total) return;
    const paths = batches[claim];
    if (paths === undefined) return; // taken before it was sent: wait for it
    batches[claim] = undefined;
    hash(claim, paths);
    claim = -1;
  }
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
  return Math.max(0, Math.min(3, cores - 1));
}

/**
 * Collects paths while a walk runs (`add`), starts hashing as soon as it is worth it, and gives all
 * outcomes in the order the paths were added (`finish`).
 */
export class Digester {
  private readonly paths: string[] = [];
  private readonly out = new Digests();
  private readonly workerCount: number;
  private readonly threshold: number;
  private readonly batchSize: number;
  private workers: Worker[] = [];
  /** The next batch number to take, shared with the workers. */
  private counter: Int32Array | undefined;
  private sent = 0; // batches sent to the workers
  private done = 0; // batches whose outcomes are in
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
    if (this.workers.length > 0 && this.paths.length - this.sent * this.batchSize >= this.batchSize)
      this.send();
    return i;
  }

  get size(): number {
    return this.paths.length;
  }

  /** The path added at index i. */
  path(i: number): string {
    return this.paths[i]!;
  }

  async finish(): Promise<Digests> {
    const out = this.out;
    out.ensure(this.paths.length);
    if (this.workers.length === 0 && this.workerCount > 0 && this.paths.length >= 2 && this.worthWorkers())
      this.startWorkers();
    if (this.workers.length === 0) {
      for (let i = 0; i < this.paths.length; i++) digestInto(this.paths[i]!, this.follow, out, i);
      return out;
    }
    try {
      while (this.sent * this.batchSize < this.paths.length) this.send();
      const total = this.sent;
      for (const w of this.workers) w.postMessage({ total });
      const allIn = new Promise<void>((resolve) => {
        this.settle = resolve;
        if (this.failure) this.fail(this.failure); // a worker failed while the walk ran
      });
      // This thread takes batches too, until none is left. Every few milliseconds it lets the event
      // loop run: what waits for it (a module loading, an answer from a registry) gets done while
      // the workers hash, rather than after.
      let slice = monotonicMs();
      for (let id = Atomics.add(this.counter!, 0, 1); id < total; id = Atomics.add(this.counter!, 0, 1)) {
        const start = id * this.batchSize;
        const end = Math.min(this.paths.length, start + this.batchSize);
        for (let i = start; i < end; i++) digestInto(this.paths[i]!, this.follow, out, i);
        this.done++;
        if (monotonicMs() - slice > YIELD_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          slice = monotonicMs();
        }
      }
      this.checkDone();
      await allIn;
      if (this.failure) throw this.failure;
      return out;
    } finally {
      await Promise.all(this.workers.map((w) => w.terminate()));
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
    const shared = new SharedArrayBuffer(4);
    this.counter = new Int32Array(shared);
    // worker_threads loads only when a set is big enough for workers: a lockfile or two never pays for it.
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    for (let k = 0; k < this.workerCount; k++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { counter: shared, follow: this.follow },
      });
      worker.on('message', (r: BatchResult) => this.onResult(r));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0 && this.settle) this.fail(new Error(`hashing worker exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  /** Sends the next batch to every worker (whoever takes its number hashes it). */
  private send(): void {
    const id = this.sent++;
    const paths = this.paths.slice(id * this.batchSize, (id + 1) * this.batchSize);
    for (const w of this.workers) w.postMessage({ id, paths });
  }

  private onResult(r: BatchResult): void {
    const start = r.id * this.batchSize;
    const out = this.out;
    out.ensure(start + r.flags.length);
    out.flags.set(r.flags, start);
    out.sizes.set(r.sizes, start);
    out.digests.set(r.digests, 32 * start);
    for (const e of r.errors) out.errors.set(start + e.i, { code: e.code, message: e.message });
    this.done++;
    this.checkDone();
  }

  private checkDone(): void {
    if (this.settle && this.done === this.sent) {
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
