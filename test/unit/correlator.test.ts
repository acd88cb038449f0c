/**
 * The correlator (src/shared/correlator.ts), the request/reply bookkeeping of every call that
 * crosses a thread: each call gets a fresh id handed to `send`, settles once with its answer,
 * rejects at its deadline with the code the correlator was built with (late answers are then
 * ignored), fails at once when `send` throws, and `close()` rejects everything pending and every
 * later call with the peer's error. Real timers, short deadlines, wide margins.
 */
import { describe, expect, it } from 'vitest';
import { Correlator } from '../../src/shared/correlator.js';
import { CodedError } from '../../src/shared/errors.js';

/** Starts a call and returns its promise together with the id `send` was given. */
function start<T>(c: Correlator, timeoutMs = 5_000, what = 'test call'): { id: number; done: Promise<T> } {
  let id = -1;
  const done = c.call<T>((i) => (id = i), timeoutMs, what);
  return { id, done };
}

describe('Correlator', () => {
  it('gives every call its own id and settles each with its own answer', async () => {
    const c = new Correlator();
    const calls = [start<string>(c), start<string>(c), start<string>(c)];
    const ids = calls.map((x) => x.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    expect(ids[2]).toBeGreaterThan(ids[1]!);
    expect(c.size).toBe(3);
    // Answered out of order: each promise still gets its own value.
    c.resolve(ids[2]!, 'third');
    c.reject(ids[0]!, new Error('first failed'));
    c.resolve(ids[1]!, 'second');
    await expect(calls[0]!.done).rejects.toThrow('first failed');
    await expect(calls[1]!.done).resolves.toBe('second');
    await expect(calls[2]!.done).resolves.toBe('third');
    expect(c.size).toBe(0);
  });

  it('settles a call once: a second answer and answers to unknown ids are ignored', async () => {
    const c = new Correlator();
    const { id, done } = start<number>(c);
    c.resolve(id, 1);
    c.resolve(id, 2);
    c.reject(id, new Error('too late'));
    c.resolve(id + 1000, 3);
    c.reject(id + 1000, new Error('nobody asked'));
    await expect(done).resolves.toBe(1);
    expect(c.size).toBe(0);
  });

  it('rejects at the deadline with the configured code, and ignores the late answer', async () => {
    const c = new Correlator('OP_TIMEOUT');
    const started = Date.now();
    const { id, done } = start(c, 100, 'resource op get_ticker');
    const err = (await done.catch((e: unknown) => e)) as CodedError;
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(CodedError);
    expect(err.code).toBe('OP_TIMEOUT');
    expect(err.message).toContain('resource op get_ticker');
    expect(err.message).toContain('100 ms');
    expect(waited).toBeGreaterThanOrEqual(90); // timers may fire a hair early, never much
    expect(waited).toBeLessThan(3_000);
    expect(c.size).toBe(0);
    expect(() => c.resolve(id, 'late')).not.toThrow();
    expect(c.size).toBe(0);
  });

  it('uses CALL_TIMEOUT when built without a code', async () => {
    const c = new Correlator();
    await expect(start(c, 20).done).rejects.toMatchObject({ code: 'CALL_TIMEOUT' });
  });

  it('fails the call at once when send throws', async () => {
    const c = new Correlator();
    const done = c.call(() => {
      throw new Error('port closed');
    }, 5_000, 'test call');
    await expect(done).rejects.toThrow('port closed');
    expect(c.size).toBe(0);
  });

  it('close() rejects everything pending and every later call with the peer error', async () => {
    const c = new Correlator();
    const a = start(c);
    const b = start(c);
    const gone = new CodedError('RESOURCE_LOST', 'the host thread exited');
    c.close(gone);
    await expect(a.done).rejects.toBe(gone);
    await expect(b.done).rejects.toBe(gone);
    expect(c.size).toBe(0);
    // Later calls never reach the wire, and a second close does not replace the first cause.
    c.close(new Error('another cause'));
    let sent = false;
    await expect(c.call(() => (sent = true), 5_000, 'after close')).rejects.toBe(gone);
    expect(sent).toBe(false);
    // Answers for the closed calls are ignored.
    expect(() => c.resolve(a.id, 'late')).not.toThrow();
  });
});
