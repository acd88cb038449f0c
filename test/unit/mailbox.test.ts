/**
 * The mailbox: SessionActor (src/main/sessions/session-actor.ts) driven directly, without HTTP,
 * on real session actor threads (the compiled worker with the diagnostics toolset) under a real
 * Supervisor, with a SessionSink that records what is delivered. Covers: one request at a time in
 * arrival order and onIdle; SESSION_BUSY past mailboxDepth; cancellation of a queued request, of a
 * running one that yields and of one that does not (killed after deadlineGraceMs); deadlines, for
 * a running handler (yielding or hung) and for a queued request; ping bypassing the queue; a crash
 * (ACTOR_CRASHED, queued requests run in order on the restarted thread, handshake and state
 * replayed); hibernate/wake; end() answering everything pending with SESSION_ENDED.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Handshake } from '../../src/shared/actor-messages.js';
import type { JsonRpcId } from '../../src/shared/errors.js';
import type { LeaseOwner } from '../../src/main/directory.js';
import { createLogger } from '../../src/main/observability/log.js';
import { parseMessage } from '../../src/main/protocol/jsonrpc.js';
import { SessionActor, type Outbound, type SessionLimits, type SessionSink, type Tenancy } from '../../src/main/sessions/session-actor.js';
import { newSessionRecord } from '../../src/main/sessions/session-record.js';
import { Supervisor } from '../../src/main/supervision/supervisor.js';
import { ActorThread, type ActorExit } from '../../src/main/threads/actor-thread.js';
import { UNIT_BOOT, actorThread } from './threads.js';

const BOOT = UNIT_BOOT;
const INITIALIZE = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'unit', version: '1' } };

/**
 * Real actor threads, kept as the runtime keeps them: one booting ahead of need, and a thread a
 * session lets go of renewed (recycled) for the next session unless it died.
 */
const threads: ActorThread[] = [];
const spares: ActorThread[] = [];
function spawn(): ActorThread {
  const t = actorThread(BOOT);
  threads.push(t);
  return t;
}
async function takeThread(): Promise<ActorThread> {
  const t = spares.shift() ?? spawn();
  if (spares.length === 0) spares.push(spawn());
  await t.ready;
  return t;
}
async function leaveThread(tenancy: Tenancy): Promise<void> {
  if (await tenancy.thread.recycle()) {
    tenancy.released();
    spares.push(tenancy.thread);
  } else {
    tenancy.thread.stop();
  }
}

interface Who {
  threadId: number;
  seq: number;
  executed: number;
  inFlight: number;
  startedAt: number;
  finishedAt: number;
}
interface Reply {
  id: JsonRpcId;
  result?: { structuredContent?: Who; isError?: boolean };
  error?: { code: number; message: string; data: { code: string } };
}

/** A SessionSink that records everything delivered and lets a test await a request's reply. */
class RecordingSink implements SessionSink {
  readonly delivered: Outbound[] = [];
  readonly endings: string[] = [];
  private readonly awaiting = new Map<JsonRpcId, (r: Reply) => void>();

  deliver(out: Outbound): void {
    this.delivered.push(out);
    if (out.kind !== 'response' || out.id === undefined) return;
    this.awaiting.get(out.id)?.(JSON.parse(out.json) as Reply);
    this.awaiting.delete(out.id);
  }
  closeStream(): void {}
  closeStandaloneStream(): void {}
  ended(reason: string): void {
    this.endings.push(reason);
  }
  /** Every response so far, in delivery order. */
  get replies(): Reply[] {
    return this.delivered.filter((o) => o.kind === 'response').map((o) => JSON.parse(o.json) as Reply);
  }
  repliesTo(id: JsonRpcId): Reply[] {
    return this.replies.filter((r) => r.id === id);
  }
  reply(id: JsonRpcId): Promise<Reply> {
    const done = this.repliesTo(id)[0];
    return done ? Promise.resolve(done) : new Promise((resolve) => this.awaiting.set(id, resolve));
  }
}

const code = (r: Reply) => r.error?.data.code;
const who = (r: Reply) => r.result!.structuredContent!;

const sessions: TestSession[] = [];

/** One SessionActor with its dependencies, and what it reported. */
class TestSession {
  readonly sink = new RecordingSink();
  readonly actor: SessionActor;
  readonly exits: ActorExit[] = [];
  /** The handshake carried by each `bind` the actor sent (recorded on its way to the real thread). */
  readonly binds: Array<Handshake | undefined> = [];
  readonly ownersEnded: LeaseOwner[] = [];
  /** For each onIdle call: whether the actor was idle, and how many replies had been delivered. */
  readonly idle: Array<{ isIdle: boolean; replies: number }> = [];
  rejected = 0;
  expired = 0;
  endedWith: string | undefined;
  private lastId = 0;
  private exitWaiters: Array<(e: ActorExit) => void> = [];

  constructor(limits: Partial<SessionLimits> = {}, deadlines: Record<string, number> = {}) {
    sessions.push(this);
    const supervisor = new Supervisor({ name: 'unit', intensity: { maxRestarts: 100, periodMs: 1_000 }, backoff: { baseMs: 5, maxMs: 50, jitter: 0 } });
    this.actor = new SessionActor(newSessionRecord(), this.sink, {
      limits: { mailboxDepth: 16, deadlineGraceMs: 300, shutdownTimeoutMs: 2_000, restartIntensity: { maxRestarts: 5, periodMs: 10_000 }, bindTimeoutMs: 15_000, ...limits },
      acquireThread: async () => {
        const t = await takeThread();
        // Pass every message on to the real thread, noting the handshake each `bind` carries.
        t.post = (m, transfer) => {
          if (m.t === 'bind') this.binds.push(m.handshake);
          ActorThread.prototype.post.call(t, m, transfer);
        };
        return t;
      },
      leaveThread,
      initialize: () => undefined, // no lazy activation: the thread answers initialize itself
      supervisor,
      deadlineFor: (msg) => deadlines[String(msg.params?.name ?? msg.method)] ?? 10_000,
      log: createLogger('silent'),
      observer: {
        requestDone: () => {},
        deadlineExpired: () => this.expired++,
        mailboxRejected: () => this.rejected++,
        threadExited: (e) => {
          this.exits.push(e);
          for (const w of this.exitWaiters.splice(0)) w(e);
        },
        restarting: () => {},
        phaseChanged: () => {},
      },
      onEnded: (_actor, reason) => (this.endedWith = reason),
      onIdle: (actor) => this.idle.push({ isIdle: actor.isIdle, replies: this.sink.replies.length }),
      call: async (_actor, op) => {
        throw new Error(`no runtime call ${op} in these tests`);
      },
      incarnationEnded: (owner) => this.ownersEnded.push(owner),
    });
  }

  send(method: string, params?: Record<string, unknown>): JsonRpcId {
    const id = ++this.lastId;
    this.actor.submit(parseMessage(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    return id;
  }
  tool(name: string, args: Record<string, unknown> = {}): JsonRpcId {
    return this.send('tools/call', { name, arguments: args });
  }
  notify(method: string, params?: Record<string, unknown>): void {
    this.actor.submit(parseMessage(JSON.stringify({ jsonrpc: '2.0', method, params })));
  }
  cancel(id: JsonRpcId): void {
    this.notify('notifications/cancelled', { requestId: id, reason: 'test' });
  }
  reply(id: JsonRpcId): Promise<Reply> {
    return this.sink.reply(id);
  }
  nextExit(): Promise<ActorExit> {
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }
  /** initialize + initialized, as a client opens a session; resolves once the thread answered. */
  async open(): Promise<this> {
    const r = await this.reply(this.send('initialize', INITIALIZE));
    expect(r.result).toBeDefined();
    this.notify('notifications/initialized');
    return this;
  }
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.actor.end('test over')));
});
afterAll(async () => {
  await Promise.all(threads.map((t) => t.kill('tests over')));
});

describe('SessionActor mailbox', () => {
  it('runs requests one at a time in arrival order, then reports idle', async () => {
    const s = await new TestSession().open();
    // Shortest last: were they concurrent, the replies would come back in reverse.
    const ids = [s.tool('sleep', { ms: 150 }), s.tool('sleep', { ms: 60 }), s.tool('whoami'), s.tool('whoami')];
    expect(s.actor.queueDepth).toBe(3);
    const replies = await Promise.all(ids.map((id) => s.reply(id)));
    expect(s.sink.replies.slice(-4).map((r) => r.id)).toEqual(ids);
    const [w1, w2] = replies.slice(2).map(who) as [Who, Who];
    expect(w2.seq).toBe(w1.seq + 1); // the mailbox's arrival stamps
    expect([w1.executed, w2.executed]).toEqual([1, 2]);
    expect(w2.startedAt).toBeGreaterThanOrEqual(w1.finishedAt);
    expect(w1.threadId).toBe(s.actor.threadId);
    // onIdle only ever when idle, and once everything was answered.
    expect(s.idle.every((x) => x.isIdle)).toBe(true);
    expect(s.idle.at(-1)!.replies).toBe(s.sink.replies.length);
    expect(s.actor.isIdle).toBe(true);
  });

  it('answers SESSION_BUSY beyond mailboxDepth queued requests, and runs the rest', async () => {
    const s = await new TestSession({ mailboxDepth: 2 }).open();
    const running = s.tool('sleep', { ms: 200 });
    const queued = [s.tool('whoami'), s.tool('whoami')];
    const over = s.tool('whoami');
    // Answered synchronously, without running.
    expect(s.sink.repliesTo(over).map(code)).toEqual(['SESSION_BUSY']);
    expect(s.rejected).toBe(1);
    expect((await s.reply(running)).result?.isError).toBeFalsy();
    const ran = await Promise.all(queued.map((id) => s.reply(id)));
    expect(ran.map((r) => who(r).executed)).toEqual([1, 2]); // the rejected one never executed
  });

  it('drops a cancelled queued request, answering REQUEST_CANCELLED, and runs the next', async () => {
    const s = await new TestSession().open();
    s.tool('sleep', { ms: 200 });
    const dropped = s.tool('whoami');
    const next = s.tool('whoami');
    s.cancel(dropped);
    expect(s.sink.repliesTo(dropped).map(code)).toEqual(['REQUEST_CANCELLED']);
    expect(who(await s.reply(next)).executed).toBe(1); // the dropped one never executed
    expect(s.sink.repliesTo(dropped)).toHaveLength(1);
  });

  it('answers a cancelled running request at once; a handler that yields keeps its thread', async () => {
    const s = await new TestSession({ deadlineGraceMs: 300 }).open();
    const thread = s.actor.threadId;
    const sleeping = s.tool('sleep', { ms: 60_000 });
    const next = s.tool('whoami');
    s.cancel(sleeping);
    expect(s.sink.repliesTo(sleeping).map(code)).toEqual(['REQUEST_CANCELLED']);
    expect(who(await s.reply(next)).threadId).toBe(thread);
    // Deliberately outlive the grace period: the thread must not be killed.
    await new Promise((r) => setTimeout(r, 500));
    expect(s.exits).toEqual([]);
    expect(s.actor.threadId).toBe(thread);
    expect(s.sink.repliesTo(sleeping)).toHaveLength(1); // the aborted handler's own result is not sent
  });

  it('kills the thread of a cancelled handler that does not yield within the grace period', async () => {
    const s = await new TestSession({ deadlineGraceMs: 300 }).open();
    const thread = s.actor.threadId;
    const hung = s.tool('hang');
    const next = s.tool('whoami');
    const exited = s.nextExit();
    const cancelledAt = Date.now();
    s.cancel(hung);
    expect(s.sink.repliesTo(hung).map(code)).toEqual(['REQUEST_CANCELLED']);
    expect((await exited).reason).toBe('killed');
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(280);
    const after = who(await s.reply(next)); // the queued request runs on the restarted thread
    expect(after.threadId).not.toBe(thread);
    expect(after.executed).toBe(1);
    expect(s.sink.repliesTo(hung)).toHaveLength(1); // not answered again with ACTOR_KILLED
    expect(s.actor.record.restarts).toBe(1);
  });

  it('answers DEADLINE_EXCEEDED at the deadline; a handler that yields keeps its thread', async () => {
    const s = await new TestSession({}, { sleep: 300 }).open();
    const thread = s.actor.threadId;
    const started = Date.now();
    const r = await s.reply(s.tool('sleep', { ms: 60_000 }));
    const waited = Date.now() - started;
    expect(code(r)).toBe('DEADLINE_EXCEEDED');
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(5_000);
    expect(s.expired).toBe(1);
    expect(who(await s.reply(s.tool('whoami'))).threadId).toBe(thread);
    expect(s.exits).toEqual([]);
  });

  it('times out a queued request while it waits, and kills a hung handler after deadline + grace', async () => {
    const s = await new TestSession({ deadlineGraceMs: 300 }, { hang: 400, echo: 150 }).open();
    const thread = s.actor.threadId;
    const started = Date.now();
    const hung = s.tool('hang');
    const echo = s.tool('echo', { text: 'never' });
    const last = s.tool('whoami');
    const exited = s.nextExit();

    const waitedOut = await s.reply(echo);
    expect(code(waitedOut)).toBe('DEADLINE_EXCEEDED');
    expect(waitedOut.error!.message).toContain('waited');
    expect(code(await s.reply(hung))).toBe('DEADLINE_EXCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect((await exited).reason).toBe('killed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(680); // deadline + grace
    const after = who(await s.reply(last));
    expect(after.threadId).not.toBe(thread);
    expect(s.sink.repliesTo(hung)).toHaveLength(1);
    expect(s.expired).toBe(2);
  });

  it('answers ping ahead of the queue, and without a thread when the session has none', async () => {
    const idle = new TestSession();
    const early = idle.send('ping');
    expect(idle.sink.repliesTo(early)).toEqual([{ jsonrpc: '2.0', id: early, result: {} }]);
    expect(idle.actor.phase).toBe('idle');
    expect(idle.binds).toEqual([]); // no thread was started for it

    const s = await new TestSession().open();
    const slow = s.tool('sleep', { ms: 5_000 });
    const queued = s.tool('whoami');
    const ping = s.send('ping');
    expect((await s.reply(ping)).result).toEqual({});
    expect(s.sink.repliesTo(slow)).toEqual([]); // still running: ending the session answers it
    expect(s.sink.repliesTo(queued)).toEqual([]);
  });

  it('answers ACTOR_CRASHED for a crash and runs the queued requests in order on the restarted thread', async () => {
    const s = await new TestSession().open();
    const before = who(await s.reply(s.tool('whoami')));
    const firstOwner = s.actor.owner;
    const crash = s.tool('crash');
    const queued = [s.tool('whoami'), s.tool('whoami')];
    expect(code(await s.reply(crash))).toBe('ACTOR_CRASHED');
    const after = (await Promise.all(queued.map((id) => s.reply(id)))).map(who);
    expect(s.sink.replies.slice(-2).map((r) => r.id)).toEqual(queued);
    expect(after.map((w) => w.executed)).toEqual([2, 3]); // state survived the crash
    expect(after.every((w) => w.threadId !== before.threadId)).toBe(true);
    expect(s.exits.map((e) => e.reason)).toEqual(['exit']);
    expect(s.actor.record.restarts).toBe(1);
    // The restarted thread was bound with the session's handshake, as a new incarnation.
    expect(s.binds).toHaveLength(2);
    expect(s.binds[0]).toBeUndefined();
    expect(JSON.parse(s.binds[1]!.initialize)).toEqual(INITIALIZE);
    expect(s.ownersEnded).toContain(firstOwner);
    expect(s.actor.owner).not.toBe(firstOwner);
  });

  it('hibernates only when idle, and wakes on the next request with the handshake replayed', async () => {
    const s = await new TestSession().open();
    expect((await s.reply(s.send('logging/setLevel', { level: 'warning' }))).result).toEqual({});
    const busy = s.tool('sleep', { ms: 100 });
    expect(await s.actor.hibernate()).toBe(false);
    await s.reply(busy);
    const first = who(await s.reply(s.tool('whoami')));

    expect(await s.actor.hibernate()).toBe(true);
    expect(s.actor.phase).toBe('idle');
    expect(s.actor.threadId).toBeUndefined();
    expect(s.exits.map((e) => e.reason)).toEqual(['normal']);

    const woken = who(await s.reply(s.tool('whoami')));
    expect(woken.executed).toBe(first.executed + 1);
    expect(s.actor.record.restarts).toBe(0);
    expect(s.binds).toHaveLength(2);
    expect(s.binds[1]).toMatchObject({ logLevel: 'warning', subscriptions: [] });
    expect(JSON.parse(s.binds[1]!.initialize)).toEqual(INITIALIZE);
  });

  it('sends the client nothing of the handshake it replays on wake', async () => {
    const s = await new TestSession().open();
    await s.reply(s.send('logging/setLevel', { level: 'warning' }));
    expect(await s.actor.hibernate()).toBe(true);
    const before = s.sink.delivered.length;
    const id = s.tool('whoami');
    await s.reply(id);
    // Only the reply: the replayed initialize/setLevel are the runtime's, not the client's.
    expect(s.sink.delivered.slice(before).map((o) => ({ kind: o.kind, id: o.id, rel: o.rel }))).toEqual([{ kind: 'response', id, rel: undefined }]);
  });

  it('end() answers everything pending with SESSION_ENDED, stops the thread and refuses later requests', async () => {
    const s = await new TestSession().open();
    const running = s.tool('sleep', { ms: 60_000 });
    const queued = s.tool('whoami');
    const exited = s.nextExit();
    await s.actor.end('bye');
    expect(s.sink.repliesTo(running).map(code)).toEqual(['SESSION_ENDED']);
    expect(s.sink.repliesTo(queued).map(code)).toEqual(['SESSION_ENDED']);
    expect(s.sink.endings).toEqual(['bye']);
    expect(s.endedWith).toBe('bye');
    expect((await exited).reason).toBe('normal');
    const late = s.tool('whoami');
    expect(s.sink.repliesTo(late).map(code)).toEqual(['SESSION_ENDED']);
    expect(s.actor.phase).toBe('ended');
  });

  it('reports idle (onIdle) once end() has answered the requests that were pending', async () => {
    // A drain (Runtime.drain) waits for onIdle; a busy session that is ended instead must say so.
    const s = await new TestSession().open();
    s.tool('sleep', { ms: 60_000 });
    s.tool('whoami');
    const idleCalls = s.idle.length;
    await s.actor.end('bye');
    expect(s.actor.isIdle).toBe(true);
    expect(s.idle.length).toBeGreaterThan(idleCalls);
  });
});
