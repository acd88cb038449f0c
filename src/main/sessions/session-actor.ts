/**
 * The main thread's side of one MCP session: its record, its mailbox, and the actor thread that
 * currently serves it (if any).
 *
 * Mailbox rules:
 * - Requests run one at a time, in arrival order. A request beyond `mailboxDepth` queued ones is
 *   answered "session busy" and never runs.
 * - Control traffic bypasses the queue: `notifications/cancelled` (a queued request is dropped
 *   and answered; a running one has its AbortSignal fired), responses to server-initiated
 *   requests (so a tool that asks its client cannot deadlock its own mailbox), and `ping`.
 * - Every request has a deadline, counted from arrival. When it passes the client is answered
 *   with a timeout and the handler's signal fires; a handler that has still not settled after
 *   the grace period has its thread terminated, and the actor restarts.
 *
 * Faults: when the thread dies, the running request is answered with an error naming the cause;
 * queued requests stay queued and run, in order, on the restarted thread, which replays the
 * session's handshake (initialize params, logging level, subscriptions) so the client keeps its
 * session id. The session supervisor decides whether and when to restart (intensity, backoff).
 */
import { rpcError, type ErrorCode, type JsonRpcId } from '../../shared/errors.js';
import type { Logger } from '../observability/log.js';
import type { ParsedMessage, ParsedNotification, ParsedRequest } from '../protocol/jsonrpc.js';
import type { ChildExit, ChildSpec, Supervisor } from '../supervision/supervisor.js';
import type { ActorExit, ActorHost } from '../threads/actor-thread.js';
import type { FromActor, Handshake, OutKind, ToActor } from '../../shared/actor-messages.js';
import type { SessionRecord } from './session-record.js';
import { Transferring } from '../transferring.js';
import { keyString, type ActorKey, type ActorKind, type LeaseOwner } from '../directory.js';

export interface Outbound {
  json: string;
  kind: OutKind;
  id?: JsonRpcId;
  rel?: JsonRpcId;
  /** Set on error responses. */
  err?: true;
  /** Set on a tool result with `isError`. */
  toolError?: true;
  /** The HTTP status a 2026-07-28 answer that ends its exchange before any stream calls for. */
  status?: number;
}

/** Where a session's outbound traffic goes: the HTTP edge's streams, or stdout. */
export interface SessionSink {
  deliver(out: Outbound): void;
  closeStream(requestId: JsonRpcId): void;
  closeStandaloneStream(): void;
  ended(reason: string): void;
  /** Whether the client holds a stream open (such a session is not idle-timed-out). */
  connected?(): boolean;
}

export interface SessionLimits {
  mailboxDepth: number;
  deadlineGraceMs: number;
  shutdownTimeoutMs: number;
  restartIntensity: { maxRestarts: number; periodMs: number };
  /** How long binding a thread (incl. handshake replay) may take. */
  bindTimeoutMs: number;
}

export type SessionPhase = 'idle' | 'starting' | 'active' | 'restarting' | 'stopping' | 'ended';

/** What the session reports for metrics and logs. */
export interface SessionObserver {
  requestDone(method: string, tool: string | undefined, ms: number, outcome: 'ok' | 'error' | ErrorCode): void;
  deadlineExpired(method: string, tool: string | undefined): void;
  mailboxRejected(): void;
  threadExited(exit: ActorExit): void;
  /** The session's thread died and will be restarted after `delayMs`. */
  restarting(actor: SessionActor, exit: ChildExit, delayMs: number): void;
  phaseChanged(from: SessionPhase, to: SessionPhase): void;
}

/** A session's hold on one actor thread. It ends when the thread dies, or when it is handed back. */
export class Tenancy {
  readonly exited: Promise<ActorExit>;
  private releaseFn!: (e: ActorExit) => void;

  constructor(readonly thread: ActorHost) {
    const released = new Promise<ActorExit>((resolve) => (this.releaseFn = resolve));
    this.exited = Promise.race([thread.exited, released]);
  }

  /** The thread was renewed for another session: for this session it stopped normally. */
  released(): void {
    this.releaseFn({ reason: 'normal', normal: true, code: 0 });
  }
}

/** An initialize answered without a thread: the JSON-RPC reply and, on success, the negotiated revision. */
export interface InitializeReply {
  json: string;
  protocolVersion?: string;
}

export interface SessionActorDeps {
  limits: SessionLimits;
  acquireThread(): Promise<ActorHost>;
  /** Lets go of a thread the session no longer needs (renewed for another session, or stopped). */
  leaveThread(tenancy: Tenancy): Promise<void>;
  /**
   * Lazy activation: answers `initialize` from the toolsets' known capabilities without a thread
   * (undefined when lazy activation is off); the actor starts on the session's first real request,
   * replaying the handshake.
   */
  initialize(msg: ParsedRequest): InitializeReply | undefined;
  supervisor: Supervisor;
  deadlineFor(msg: ParsedRequest): number;
  log: Logger;
  observer: SessionObserver;
  /** The session is gone for good (ended by DELETE, idle timeout, restart intensity…). */
  onEnded(actor: SessionActor, reason: string): void;
  /** The session has nothing queued, running or awaiting a reply any more (a drain waits for this). */
  onIdle(actor: SessionActor): void;
  /** Answers a `call` the actor thread made (session stats, ending a session, leases…). */
  call(actor: SessionActor, op: string, args: Record<string, unknown>): Promise<unknown>;
  /** An incarnation of the session let go of its thread: whatever it leased is released. */
  incarnationEnded(owner: LeaseOwner): void;
  /**
   * The record changed (handshake, logging level, subscriptions, state): cluster mode stores it,
   * resolving once stored; the answer of the request that changed it waits for that.
   */
  recordChanged?(actor: SessionActor): Promise<void> | undefined;
  /** A list change or resource update the actor published (for every listener and session). */
  onEvent(event: Extract<FromActor, { t: 'event' }>['event']): void;
}

interface Job {
  msg: ParsedRequest;
  seq: number;
  receivedAt: number;
  deadlineAt: number;
  answered: boolean;
  timer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
}

const EXIT_ERRORS: Record<ActorExit['reason'], ErrorCode> = {
  normal: 'SESSION_ENDED',
  crash: 'ACTOR_CRASHED',
  exit: 'ACTOR_CRASHED',
  oom: 'ACTOR_OOM',
  killed: 'ACTOR_KILLED',
};

function toolOf(msg: ParsedRequest): string | undefined {
  if (msg.method !== 'tools/call') return undefined;
  const name = msg.params?.name;
  return typeof name === 'string' ? name : undefined;
}

export class SessionActor {
  phase: SessionPhase = 'idle';
  private thread: ActorHost | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private bypass: Map<JsonRpcId, Job> | undefined;
  /** Ids of requests not yet answered (created on first use: idle sessions hold none). */
  private inflightIds: Set<JsonRpcId> | undefined;
  private seq = 0;
  private waiting: ToActor[] = [];
  private boundWaiter: (() => void) | undefined;
  /** The thread being bound (its messages count before it becomes `thread`). */
  private binding: ActorHost | undefined;
  private hibernating = false;
  /** keepAwake() holds from toolsets: no hibernation while positive. */
  pins = 0;
  /** The current incarnation (thread tenancy): the owner of its leases. */
  private currentOwner: LeaseOwner;
  /** End the session once the running request has been answered (a session ending itself). */
  private endAfterCurrent: string | undefined;
  /** The record's latest change is being stored (cluster mode): answers wait for it. */
  private recordStored: Promise<void> | undefined;
  /** Messages held until the actor is registered (holdUntil). */
  private held: ParsedMessage[] | undefined;

  /** Its key in the actor directory. */
  readonly key: ActorKey;

  constructor(
    readonly record: SessionRecord,
    private readonly sink: SessionSink,
    private readonly deps: SessionActorDeps,
    kind: ActorKind = 'session',
  ) {
    this.key = { kind, id: record.id };
    this.currentOwner = { key: this.key, incarnation: 0, principal: record.principal };
  }

  get id(): string {
    return this.record.id;
  }

  // ---- as the Caller of runtime calls --------------------------------------------------------

  get principal(): string | undefined {
    return this.record.principal;
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  get actor(): SessionActor {
    return this;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get inFlightMethod(): string | undefined {
    return this.running?.msg.method;
  }

  /** Who owns the current incarnation's leases (a new value per incarnation, compared by identity). */
  get owner(): LeaseOwner {
    return this.currentOwner;
  }

  /** How long the actor has been in a slot of a shared start thread, in ms (-1: it is not). */
  get sharedFor(): number {
    const t = this.thread;
    return t?.shared === true && t.since !== undefined ? performance.now() - t.since : -1;
  }

  get threadId(): number | undefined {
    return this.thread?.threadId;
  }

  /** True when nothing is queued, running or awaiting a reply. */
  get isIdle(): boolean {
    return !this.running && this.queue.length === 0 && (this.bypass?.size ?? 0) === 0;
  }

  hasInflight(id: JsonRpcId): boolean {
    return this.inflightIds?.has(id) ?? false;
  }

  private get inflight(): Set<JsonRpcId> {
    return (this.inflightIds ??= new Set());
  }

  private setPhase(to: SessionPhase): void {
    const from = this.phase;
    if (from === to) return;
    this.phase = to;
    this.deps.observer.phaseChanged(from, to);
  }

  // ---- inbound -------------------------------------------------------------------------------

  /**
   * Holds every message until `ready` settles (cluster mode: until the directory knows the actor,
   * so its id never reaches a client before any node can find it). Bounded by the mailbox depth.
   */
  holdUntil(ready: Promise<void>): void {
    const held: ParsedMessage[] = [];
    this.held = held;
    const release = () => {
      this.held = undefined;
      for (const m of held) this.submit(m);
    };
    ready.then(release, (err: Error) => {
      this.deps.log.error({ session: this.record.fingerprint, err: err.message }, 'the actor could not be registered; ending it');
      void this.end('it could not be registered in the cluster directory');
      release();
    });
  }

  private recordChanged(): void {
    const stored = this.deps.recordChanged?.(this);
    if (stored) this.recordStored = stored;
  }

  /** Delivers an answer once the record changes made before it are stored. */
  private deliverAnswer(out: Outbound): void {
    const stored = this.recordStored;
    this.recordStored = undefined;
    if (stored) void stored.then(() => this.sink.deliver(out));
    else this.sink.deliver(out);
  }

  submit(m: ParsedMessage): void {
    if (this.held) {
      if (this.held.length < this.deps.limits.mailboxDepth) this.held.push(m);
      else if (m.kind === 'request') this.answer(this.newJob(m), 'SESSION_BUSY', 'the session is still being registered');
      else this.deps.log.warn({ session: this.record.fingerprint }, 'a message for an actor still being registered was refused (too many waiting)');
      return;
    }
    this.record.lastActivity = Date.now();
    if (m.kind === 'request') this.request(m);
    else if (m.kind === 'notification') this.notification(m);
    else this.forward({ t: 'in', json: m.raw }, true);
  }

  private answer(job: Job, code: ErrorCode, detail?: string): void {
    if (job.answered) return;
    job.answered = true;
    const err = rpcError(code, detail);
    this.sink.deliver({ json: JSON.stringify({ jsonrpc: '2.0', id: job.msg.clientId ?? job.msg.id, error: err.toRpcError() }), kind: 'response', id: job.msg.id, err: true });
    this.deps.observer.requestDone(job.msg.method, toolOf(job.msg), Date.now() - job.receivedAt, code);
  }

  private newJob(msg: ParsedRequest): Job {
    const now = Date.now();
    return { msg, seq: 0, receivedAt: now, deadlineAt: now + this.deps.deadlineFor(msg), answered: false, timer: undefined, graceTimer: undefined };
  }

  private request(msg: ParsedRequest): void {
    const job = this.newJob(msg);
    if (this.phase === 'ended') {
      this.answer(job, 'SESSION_ENDED');
      return;
    }
    const lazy = msg.method === 'initialize' && !this.record.handshake && this.phase === 'idle' && this.queue.length === 0 ? this.deps.initialize(msg) : undefined;
    if (lazy) {
      job.answered = true;
      if (lazy.protocolVersion) {
        this.record.handshake = { initialize: JSON.stringify(msg.params ?? {}), subscriptions: [] };
        this.record.protocolVersion = lazy.protocolVersion;
        this.recordChanged();
      }
      this.deliverAnswer({ json: lazy.json, kind: 'response', id: msg.id, ...(lazy.protocolVersion ? {} : { err: true as const }) });
      this.deps.observer.requestDone('initialize', undefined, Date.now() - job.receivedAt, lazy.protocolVersion ? 'ok' : 'error');
      if (!lazy.protocolVersion) void this.end('initialize failed');
      return;
    }
    if (msg.method === 'ping') {
      if (this.phase !== 'active') {
        // The session is alive (its record is here); no need to wake a thread to say so.
        job.answered = true;
        this.sink.deliver({ json: JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} }), kind: 'response', id: msg.id });
        return;
      }
      (this.bypass ??= new Map()).set(msg.id, job);
      this.inflight.add(msg.id);
      job.timer = setTimeout(() => this.expire(job), job.deadlineAt - job.receivedAt);
      this.thread!.post({ t: 'in', json: msg.raw });
      return;
    }
    if (this.queue.length >= this.deps.limits.mailboxDepth) {
      this.deps.observer.mailboxRejected();
      this.answer(job, 'SESSION_BUSY', `${this.queue.length} requests are queued (limit ${this.deps.limits.mailboxDepth})`);
      return;
    }
    job.seq = ++this.seq;
    job.timer = setTimeout(() => this.expire(job), job.deadlineAt - job.receivedAt);
    this.queue.push(job);
    this.inflight.add(msg.id);
    this.pump();
  }

  private notification(msg: ParsedNotification): void {
    if (msg.method === 'notifications/cancelled') {
      const target = msg.params?.requestId as JsonRpcId | undefined;
      if (target === undefined) return;
      const qi = this.queue.findIndex((j) => j.msg.id === target);
      if (qi >= 0) {
        const [job] = this.queue.splice(qi, 1);
        this.drop(job!);
        this.answer(job!, 'REQUEST_CANCELLED');
        this.maybeIdle();
        return;
      }
      const job = this.running?.msg.id === target ? this.running : this.bypass?.get(target);
      if (!job) return;
      this.answer(job, 'REQUEST_CANCELLED');
      this.forward({ t: 'in', json: msg.raw }, true);
      // A cancelled handler gets the same grace as one past its deadline, then its thread goes:
      // the session's next request must not wait for a runaway nobody is waiting for.
      if (job === this.running && !job.graceTimer) job.graceTimer = setTimeout(() => this.killHung(job, 'it was cancelled'), this.deps.limits.deadlineGraceMs);
      return;
    }
    if (msg.method === 'notifications/initialized' && this.phase !== 'active' && this.record.handshake) {
      return; // replayed by the thread itself on (re)activation
    }
    this.forward({ t: 'in', json: msg.raw }, false);
  }

  /** Sends to the thread now, or keeps it for when a thread is bound. */
  private forward(m: ToActor, onlyIfActive: boolean): void {
    if (this.phase === 'active') {
      this.thread!.post(m);
      return;
    }
    if (this.phase === 'ended' || onlyIfActive) {
      this.deps.log.debug({ session: this.record.fingerprint, phase: this.phase }, 'control message for an inactive actor dropped');
      return;
    }
    this.waiting.push(m);
    if (this.phase === 'idle') this.activate();
  }

  private drop(job: Job): void {
    clearTimeout(job.timer);
    clearTimeout(job.graceTimer);
    job.timer = job.graceTimer = undefined;
    this.inflightIds?.delete(job.msg.id);
  }

  // ---- the mailbox ---------------------------------------------------------------------------

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.phase !== 'active') {
      if (this.phase === 'idle') this.activate();
      return;
    }
    const job = this.queue.shift()!;
    this.running = job;
    this.thread!.served++;
    this.thread!.post({ t: 'in', json: job.msg.raw, id: job.msg.id, seq: job.seq, receivedAt: job.receivedAt, deadlineAt: job.deadlineAt, ...(job.msg.delivery && { modern: job.msg.delivery }) });
  }

  private expire(job: Job): void {
    job.timer = undefined;
    const tool = toolOf(job.msg);
    this.deps.observer.deadlineExpired(job.msg.method, tool);
    const ms = job.deadlineAt - job.receivedAt;
    if (this.running === job) {
      this.answer(job, 'DEADLINE_EXCEEDED', `${job.msg.method}${tool ? ` ${tool}` : ''} exceeded ${ms} ms`);
      this.thread?.post({ t: 'abort', id: job.msg.id, reason: `deadline of ${ms} ms exceeded` });
      job.graceTimer ??= setTimeout(() => this.killHung(job, 'its deadline'), this.deps.limits.deadlineGraceMs); // unless a cancellation started it
      return;
    }
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    else this.bypass?.delete(job.msg.id);
    this.drop(job);
    this.answer(job, 'DEADLINE_EXCEEDED', `${job.msg.method}${tool ? ` ${tool}` : ''} waited ${ms} ms without completing`);
    this.maybeIdle();
  }

  /** The grace period after a deadline or a cancellation ended with the handler still running. */
  private killHung(job: Job, after: 'its deadline' | 'it was cancelled'): void {
    job.graceTimer = undefined;
    if (this.running !== job || !this.thread) return;
    const tool = toolOf(job.msg);
    this.deps.log.warn(
      { session: this.record.fingerprint, method: job.msg.method, tool, graceMs: this.deps.limits.deadlineGraceMs, after },
      `handler did not yield within the grace period after ${after}; terminating the actor thread`,
    );
    void this.thread.kill(`${tool ?? job.msg.method} did not yield within ${this.deps.limits.deadlineGraceMs} ms after ${after}`);
  }

  private finish(job: Job, out: Outbound | undefined): void {
    this.drop(job);
    this.record.lastActivity = Date.now();
    if (out && !job.answered) {
      job.answered = true;
      this.observe(job, out);
      this.deliverAnswer(out);
      this.deps.observer.requestDone(job.msg.method, toolOf(job.msg), Date.now() - job.receivedAt, out.err ? 'error' : 'ok');
    } else if (!job.answered) {
      this.answer(job, 'REQUEST_CANCELLED');
    }
    if (this.running === job) this.running = undefined;
    if (this.endAfterCurrent !== undefined) {
      void this.end(this.endAfterCurrent);
      return;
    }
    this.pump();
    this.maybeIdle();
  }

  /** Ends the session after the request now running is answered (or now, if none runs). */
  endSoon(reason: string): boolean {
    if (!this.running) {
      void this.end(reason);
      return false;
    }
    this.endAfterCurrent = reason;
    return true;
  }

  private maybeIdle(): void {
    if (this.isIdle) this.deps.onIdle(this);
  }

  /** Keeps the handshake a restarted thread must replay. */
  private observe(job: Job, out: Outbound): void {
    const method = job.msg.method;
    if (method !== 'initialize' && method !== 'logging/setLevel' && method !== 'resources/subscribe' && method !== 'resources/unsubscribe') return;
    if (out.err) {
      if (method === 'initialize' && !this.record.handshake) queueMicrotask(() => void this.end('initialize failed'));
      return;
    }
    const reply = JSON.parse(out.json) as { result?: { protocolVersion?: string } };
    if (!reply.result) return;
    const params = job.msg.params ?? {};
    if (method === 'initialize') {
      this.record.handshake = { initialize: JSON.stringify(params), subscriptions: [] };
      this.record.protocolVersion = reply.result.protocolVersion;
      this.recordChanged();
      return;
    }
    const h: Handshake | undefined = this.record.handshake;
    if (!h) return;
    if (method === 'logging/setLevel' && typeof params.level === 'string') {
      h.logLevel = params.level;
      this.recordChanged();
      return;
    }
    const uri = params.uri;
    if (typeof uri !== 'string') return;
    if (method === 'resources/subscribe' && !h.subscriptions.includes(uri)) h.subscriptions.push(uri);
    if (method === 'resources/unsubscribe') h.subscriptions = h.subscriptions.filter((u) => u !== uri);
    this.recordChanged();
  }

  // ---- outbound ------------------------------------------------------------------------------

  private onActorMessage(thread: ActorHost, m: FromActor): void {
    if (thread !== this.thread && thread !== this.binding) return;
    switch (m.t) {
      case 'out': {
        if (m.kind === 'response' && m.id !== undefined) {
          if (this.running?.msg.id === m.id) {
            this.finish(this.running, m);
            return;
          }
          const ping = this.bypass?.get(m.id);
          if (ping) {
            this.bypass!.delete(m.id);
            this.drop(ping);
            if (!ping.answered) {
              ping.answered = true;
              this.sink.deliver(m);
            }
            this.maybeIdle();
            return;
          }
          this.deps.log.debug({ session: this.record.fingerprint }, 'late response for an answered request dropped');
          return;
        }
        this.sink.deliver(m);
        return;
      }
      case 'settled':
        if (this.running?.msg.id === m.id) this.finish(this.running, undefined);
        return;
      case 'bound':
        this.boundWaiter?.();
        return;
      case 'close-sse':
        this.sink.closeStream(m.id);
        return;
      case 'close-standalone-sse':
        this.sink.closeStandaloneStream();
        return;
      case 'state':
        if (m.deleted) delete this.record.state[m.key];
        else this.record.state[m.key] = m.value;
        this.recordChanged();
        return;
      case 'log':
        this.deps.log[m.level]({ ...m.data, session: this.record.fingerprint, thread: thread.threadId }, m.msg);
        return;
      case 'pin':
        this.pins = Math.max(0, this.pins + m.delta);
        return;
      case 'call':
        this.deps.call(this, m.op, m.args).then(
          (value) =>
            value instanceof Transferring
              ? thread.post({ t: 'result', cid: m.cid, ok: true, value: value.value }, value.transfer)
              : thread.post({ t: 'result', cid: m.cid, ok: true, value }),
          (err: unknown) =>
            thread.post({
              t: 'result',
              cid: m.cid,
              ok: false,
              error: { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message ?? String(err) },
            }),
        );
        return;
      case 'event':
        this.deps.onEvent(m.event);
        return;
      case 'ready':
      case 'boot-failed':
      case 'listen':
        return;
    }
  }

  // ---- the thread ----------------------------------------------------------------------------

  private childSpec(): ChildSpec<Tenancy> {
    return {
      id: keyString(this.key),
      restart: 'transient',
      shutdownMs: this.deps.limits.shutdownTimeoutMs,
      intensity: this.deps.limits.restartIntensity,
      start: () => this.startThread(),
      exited: (t) => t.exited,
      stop: (t) => this.deps.leaveThread(t),
      kill: (t) => t.thread.kill('did not stop within the shutdown timeout'),
      onRestarting: (exit, delayMs) => this.deps.observer.restarting(this, exit, delayMs),
      onGaveUp: (exit) => {
        this.deps.log.error({ session: this.record.fingerprint, reason: exit.reason }, 'session actor restart intensity exceeded; ending the session');
        void this.end(`restart intensity exceeded (${exit.reason})`);
      },
    };
  }

  /** Starts (or wakes) the actor: a warm thread, bound to this session, handshake replayed. */
  private activate(): void {
    if (this.phase !== 'idle') return;
    this.setPhase('starting');
    this.deps.supervisor.startChild(this.childSpec()).catch((err: unknown) => {
      if (this.phase === 'ended') return;
      this.deps.log.error({ session: this.record.fingerprint, err: (err as Error).message }, 'session actor could not start');
      this.setPhase('idle');
      this.failAll('ACTOR_UNAVAILABLE', (err as Error).message);
      if (!this.record.handshake) this.end('actor could not start');
    });
  }

  private async startThread(): Promise<Tenancy> {
    const thread = await this.deps.acquireThread();
    if (this.phase === 'ended') {
      thread.stop();
      throw new Error('session ended while its actor was starting');
    }
    this.currentOwner = { key: this.key, incarnation: this.currentOwner.incarnation + 1, principal: this.record.principal };
    thread.onMessage = (m) => this.onActorMessage(thread, m);
    this.binding = thread;
    const bound = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`actor did not bind within ${this.deps.limits.bindTimeoutMs} ms`)), this.deps.limits.bindTimeoutMs);
      this.boundWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      void thread.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`actor exited while binding: ${e.message ?? e.reason}`));
      });
    });
    thread.post({ t: 'bind', actor: { kind: this.key.kind, key: this.record.id, principal: this.record.principal }, handshake: this.record.handshake, state: this.record.state });
    try {
      await bound;
    } catch (err) {
      await thread.kill('bind failed');
      throw err;
    } finally {
      this.boundWaiter = undefined;
      this.binding = undefined;
    }
    const tenancy = new Tenancy(thread);
    const owner = this.owner;
    void tenancy.exited.then((exit) => {
      this.deps.incarnationEnded(owner);
      this.onThreadExit(thread, exit);
    });
    this.thread = thread;
    this.hibernating = false;
    this.setPhase('active');
    for (const m of this.waiting.splice(0)) thread.post(m);
    this.pump();
    this.maybeIdle();
    return tenancy;
  }

  private onThreadExit(thread: ActorHost, exit: ActorExit): void {
    if (thread !== this.thread) return;
    this.thread = undefined;
    this.pins = 0; // the holds died with the thread's toolsets
    this.deps.observer.threadExited(exit);
    if (this.phase === 'ended') return;
    // We were stopping it (hibernation): however it ended — renewed, exited, or killed because
    // renewal took longer than the shutdown timeout — the session is now simply idle, and
    // hibernate() wakes it again if work arrived meanwhile.
    if (this.phase === 'stopping') return;
    if (exit.normal) {
      // Hibernated (or stopped on purpose): the record stays, the next message wakes it.
      this.setPhase('idle');
      if (!this.isIdle || this.waiting.length > 0) this.activate();
      return;
    }
    this.record.restarts++;
    const code = EXIT_ERRORS[exit.reason];
    this.deps.log.warn({ session: this.record.fingerprint, reason: exit.reason, detail: exit.message, restarts: this.record.restarts }, 'session actor thread died');
    const job = this.running;
    if (job) {
      this.running = undefined;
      this.drop(job);
      this.answer(job, code, exit.message);
    }
    for (const ping of this.bypass?.values() ?? []) {
      this.drop(ping);
      this.answer(ping, code, exit.message);
    }
    this.bypass?.clear();
    this.setPhase('restarting');
  }

  private failAll(code: ErrorCode, detail?: string): void {
    const jobs = [...this.queue.splice(0)];
    if (this.running) jobs.unshift(this.running);
    this.running = undefined;
    for (const p of this.bypass?.values() ?? []) jobs.push(p);
    this.bypass?.clear();
    for (const job of jobs) {
      this.drop(job);
      this.answer(job, code, detail);
    }
  }

  /** Stops the thread but keeps the session (its record replays on the next message). */
  async hibernate(): Promise<boolean> {
    if (this.phase !== 'active' || !this.isIdle || this.hibernating || this.pins > 0) return false;
    this.hibernating = true;
    this.setPhase('stopping');
    await this.deps.supervisor.terminateChild(keyString(this.key));
    if ((this.phase as SessionPhase) === 'stopping') this.setPhase('idle');
    if (!this.isIdle || this.waiting.length > 0) this.activate();
    return true;
  }

  /** Ends the session for good: everything pending is answered, the thread stops. */
  async end(reason: string): Promise<void> {
    if (this.phase === 'ended') return;
    this.setPhase('ended');
    this.failAll('SESSION_ENDED', reason);
    this.waiting = [];
    this.deps.onEnded(this, reason);
    // Its pending requests are answered: whoever waits for the runtime to go idle may go on.
    this.deps.onIdle(this);
    this.sink.ended(reason);
    await this.deps.supervisor.terminateChild(keyString(this.key));
  }
}

