/**
 * The supervisor's OTP semantics, with real worker threads as children.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { RestartIntensity, backoffDelay } from '../../src/main/supervision/restart-policy.js';
import { Supervisor, type ChildExit, type ChildSpec, type RestartType } from '../../src/main/supervision/supervisor.js';
import { waitFor } from '../support/wait.js';

// A child thread: 'crash' throws, 'quit' exits 0, 'stop' exits 0 unless it was told to be stubborn.
const CHILD = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m === 'crash') setImmediate(() => { throw new Error('boom'); });
  if (m === 'quit') process.exit(0);
  if (m === 'stop' && !workerData.stubborn) process.exit(0);
});
parentPort.postMessage('up');`;

interface Child {
  worker: Worker;
  exited: Promise<ChildExit>;
  stopping: boolean;
}

function startChild(stubborn = false): Promise<Child> {
  const worker = new Worker(CHILD, { eval: true, workerData: { stubborn } });
  let error: Error | undefined;
  worker.on('error', (e) => (error = e));
  const child: Child = { worker, stopping: false, exited: undefined as unknown as Promise<ChildExit> };
  child.exited = new Promise((resolve) =>
    worker.once('exit', (code) => resolve(error ? { reason: 'crash', normal: false, message: error.message } : { reason: code === 0 ? 'normal' : 'killed', normal: code === 0 || child.stopping })),
  );
  return new Promise((resolve) => worker.once('message', () => resolve(child)));
}

function spec(id: string, restart: RestartType, starts: Child[], extra: Partial<ChildSpec<Child>> = {}): ChildSpec<Child> {
  return {
    id,
    restart,
    shutdownMs: 300,
    start: async () => {
      const c = await startChild(id.includes('stubborn'));
      starts.push(c);
      return c;
    },
    exited: (c) => c.exited,
    stop: (c) => {
      c.stopping = true;
      c.worker.postMessage('stop');
    },
    kill: async (c) => {
      await c.worker.terminate();
    },
    ...extra,
  };
}

function supervisor(maxRestarts = 10, periodMs = 10_000): Supervisor {
  return new Supervisor({ name: 'test', intensity: { maxRestarts, periodMs }, backoff: { baseMs: 10, maxMs: 1000, jitter: 0 } });
}

/** Waits (at most 5 s) until the supervisor has done what `cond` looks for. */
const until = (what: string, cond: () => boolean) => waitFor(what, cond, 5_000);

describe('Supervisor', () => {
  it('restarts a permanent child after a crash and after a normal exit', async () => {
    const sup = supervisor();
    const starts: Child[] = [];
    await sup.startChild(spec('p', 'permanent', starts));
    starts[0]!.worker.postMessage('crash');
    await until('a restart after the crash', () => starts.length === 2);
    starts[1]!.worker.postMessage('quit');
    await until('a restart after the normal exit', () => starts.length === 3);
    expect(sup.childOf<Child>('p')).toBe(starts[2]);
    await sup.shutdown();
  });

  it('restarts a transient child only after an abnormal exit; never a temporary one', async () => {
    const sup = supervisor();
    const t: Child[] = [];
    const tmp: Child[] = [];
    await sup.startChild(spec('t', 'transient', t));
    await sup.startChild(spec('tmp', 'temporary', tmp));
    t[0]!.worker.postMessage('crash');
    tmp[0]!.worker.postMessage('crash');
    await until('the transient child to restart', () => t.length === 2);
    t[1]!.worker.postMessage('quit');
    await t[1]!.exited;
    await new Promise((r) => setTimeout(r, 100)); // deliberate: 10 times the 10 ms backoff, for a restart that must not come
    expect(t).toHaveLength(2);
    expect(tmp).toHaveLength(1);
    expect(sup.has('t')).toBe(false);
    expect(sup.has('tmp')).toBe(false);
    await sup.shutdown();
  });

  it('gives up a child past its own intensity, leaving the others alone', async () => {
    const sup = supervisor();
    const gaveUp: string[] = [];
    sup.on('gave-up', (id) => gaveUp.push(id));
    const a: Child[] = [];
    const b: Child[] = [];
    await sup.startChild(spec('a', 'permanent', a, { intensity: { maxRestarts: 2, periodMs: 10_000 } }));
    await sup.startChild(spec('b', 'permanent', b));
    for (let i = 0; i < 3; i++) {
      a[i]!.worker.postMessage('crash');
      await until(`restart ${i + 1} or giving up`, () => a.length === i + 2 || gaveUp.length > 0);
    }
    expect(a).toHaveLength(3); // started once + 2 restarts
    expect(gaveUp).toEqual(['a']);
    expect(sup.has('a')).toBe(false);
    expect(sup.childOf<Child>('b')).toBe(b[0]);
    await sup.shutdown();
  });

  it('escalates past the supervisor-wide intensity: terminates all children', async () => {
    const sup = supervisor(1, 10_000);
    let escalated = false;
    sup.on('escalated', () => (escalated = true));
    const a: Child[] = [];
    const b: Child[] = [];
    await sup.startChild(spec('a', 'permanent', a));
    await sup.startChild(spec('b', 'permanent', b));
    a[0]!.worker.postMessage('crash');
    await until('a restart', () => a.length === 2);
    a[1]!.worker.postMessage('crash');
    await until('the escalation', () => escalated);
    await b[0]!.exited;
    expect(sup.size).toBe(0);
    await expect(sup.startChild(spec('c', 'permanent', []))).rejects.toThrow(/shut down/);
  });

  it('backs off exponentially between restarts', async () => {
    const sup = supervisor();
    const delays: number[] = [];
    sup.on('restarting', (_id, _exit, ms) => delays.push(ms));
    const c: Child[] = [];
    await sup.startChild(spec('c', 'permanent', c));
    for (let i = 0; i < 3; i++) {
      c[i]!.worker.postMessage('crash');
      await until(`restart ${i + 1}`, () => c.length === i + 2);
    }
    expect(delays).toEqual([10, 20, 40]);
    await sup.shutdown();
  });

  it('kills a child that does not stop within its shutdown timeout', async () => {
    const sup = supervisor();
    const c: Child[] = [];
    await sup.startChild(spec('stubborn', 'permanent', c));
    const t0 = Date.now();
    await sup.terminateChild('stubborn');
    const exit = await c[0]!.exited;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(exit.reason).toBe('killed');
    expect(c).toHaveLength(1); // not restarted
  });
});

describe('restart policy', () => {
  it('counts restarts in a sliding window', () => {
    const w = new RestartIntensity({ maxRestarts: 2, periodMs: 1000 });
    expect(w.admit(0)).toBe(true);
    expect(w.admit(100)).toBe(true);
    expect(w.admit(200)).toBe(false);
    expect(w.admit(1101)).toBe(true); // the first two left the window
  });

  it('keeps jittered delays within [delay·(1−jitter), delay] and under the cap', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      for (const r of [0, 0.5, 0.999]) {
        const d = backoffDelay(attempt, { baseMs: 100, maxMs: 5000, jitter: 0.5 }, () => r);
        const full = Math.min(5000, 100 * 2 ** (attempt - 1));
        expect(d).toBeGreaterThanOrEqual(Math.floor(full * 0.5));
        expect(d).toBeLessThanOrEqual(full);
      }
    }
  });
});
