/**
 * The stateless pool: MCP 2026-07-28 requests that carry no state handle run here, on long-lived
 * actor threads (one at start, more while all are busy, up to `threads`), each serving up to
 * `concurrency` requests at once on one SDK server (no thread per request, no session per client).
 *
 * Isolation per request:
 * - a request goes to the thread with the fewest requests in flight (ties: the one whose oldest
 *   request is youngest), among the threads that are not stuck: a thread with requests in flight
 *   that has not said anything for STUCK_MS is presumably running a CPU-bound handler, and a
 *   request sent there would wait for it: requests wait for room on a responsive thread instead,
 *   and go to a stuck one only when every thread is stuck;
 * - a request a thread has not taken up CLAIM_MS after it was sent (it went there just before the
 *   thread's handler started hogging it, or the thread died first) is withdrawn and runs on another
 *   thread. Exactly once: the thread takes a request up, and the pool withdraws one, with a
 *   compare-and-swap on the request's slot in memory both share (PoolThread.claims), so one of
 *   the two wins and a withdrawn request's message is dropped when the thread reads it;
 * - past its deadline a request is answered with a timeout and its handler's signal fires; one
 *   that has not settled `deadlineGraceMs` later has its thread replaced. The other requests that
 *   thread was running fail with an error saying so; nothing else is touched;
 * - a crash or an out-of-memory ends only the thread it happened on: its requests in flight each
 *   get an error, the thread is replaced (with a backoff if replacements keep dying);
 * - a request whose client went away is cancelled (the spec: closing the stream cancels), and
 *   treated like one past its deadline if it does not yield;
 * - at most `maxQueue` requests wait for a thread; past that, 503 with Retry-After.
 */
import { rpcError, type CodedError, type ErrorCode, type JsonRpcId } from '../../shared/errors.js';
import type { FromActor, ToActor } from '../../shared/actor-messages.js';
import type { Caller } from '../calls.js';
import type { LeaseOwner } from '../directory.js';
import type { Logger } from '../observability/log.js';
import type { ParsedRequest } from '../protocol/jsonrpc.js';
import type { Outbound } from '../sessions/session-actor.js';
import { Transferring } from '../transferring.js';
import type { ActorExit, ActorThread } from '../threads/actor-thread.js';

export interface StatelessPoolOptions {
  threads: number;
  concurrency: number;
  maxQueue: number;
  deadlineGraceMs: number;
  spawn(): ActorThread;
  deadlineFor(msg: ParsedRequest): number;
  log: Logger;
  /** A runtime call from a pool thread (leases, session stats…). */
  call(caller: Caller, op: string, args: Record<string, unknown>): Promise<unknown>;
  /** A list change or resource update a pool thread published. */
  onEvent(event: Extract<FromActor, { t: 'event' }>['event']): void;
  /** The thread's incarnation ended: whatever it leased is released. */
  incarnationEnded(owner: LeaseOwner): void;
  /** Every request taken has been answered (a drain waits for this). */
  onIdle(): void;
  observer: {
    requestDone(method: string, tool: string | undefined, ms: number, outcome: 'ok' | 'error' | ErrorCode): void;
    deadlineExpired(method: string, tool: string | undefined): void;
    threadExited(exit: ActorExit): void;
    rejected(): void;
  };
}

/** Where a request's messages go: its HTTP exchange or the stdio writer. */
export type RequestSink = (out: Outbound) => void;

interface Job {
  msg: ParsedRequest;
  sink: RequestSink;
  receivedAt: number;
  deadlineAt: number;
  answered: boolean;
  worker: PoolThread | undefined;
  timer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  /** Its slot in its thread's claims while it is there, and its token in it. */
  claim: { slot: number; token: number } | undefined;
  claimTimer: NodeJS.Timeout | undefined;
}

const EXIT_ERRORS: Record<ActorExit['reason'], ErrorCode> = {
  normal: 'POOL_THREAD_CRASHED',
  crash: 'POOL_THREAD_CRASHED',
  exit: 'POOL_THREAD_CRASHED',
  oom: 'POOL_THREAD_OOM',
  killed: 'POOL_THREAD_KILLED',
};

function toolOf(msg: ParsedRequest): string | undefined {
  const name = msg.method === 'tools/call' ? msg.params?.name : undefined;
  return typeof name === 'string' ? name : undefined;
}

let serial = 0;

/** Silence after which a thread with requests in flight counts as stuck (see pick()). */
const STUCK_MS = 100;
/** A request its thread has not taken up this long after it was sent is withdrawn and sent to another thread. */
const CLAIM_MS = 100;

let lastToken = 0;
/** A request's token in a claims slot: positive, unique among the requests a slot sees in turn. */
function nextToken(): number {
  lastToken = lastToken >= 0x7fffffff ? 1 : lastToken + 1;
  return lastToken;
}

/** One thread of the pool: the runtime calls it makes are its own (a lease owner of kind stateless). */
class PoolThread implements Caller {
  readonly key;
  readonly owner: LeaseOwner;
  readonly principal = undefined;
  readonly actor = undefined;
  readonly jobs = new Map<JsonRpcId, Job>();
  ended = false;
  bound = false;
  /** When the thread last posted anything, or last went from idle to busy (performance.now()). */
  lastHeard = performance.now();
  /** A request sent to it went untaken for CLAIM_MS; it counts as stuck until it posts again. */
  unresponsive = false;
  /**
   * Shared with the thread (sent in its bind): one slot per request it may have in flight. A slot
   * holds the token of a request sent there (> 0); the thread swaps it for -token when it takes the
   * request up, the pool for 0 when it withdraws it; whoever swaps first wins.
   */
  readonly claims: Int32Array;
  private readonly freeSlots: number[];

  constructor(
    readonly thread: ActorThread,
    slots: number,
  ) {
    this.key = { kind: 'stateless' as const, id: `pool-${++serial}` };
    this.owner = { key: this.key, incarnation: 1, principal: undefined };
    this.claims = new Int32Array(new SharedArrayBuffer(4 * slots));
    this.freeSlots = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  /** A slot for a request sent now, with its token stored (undefined when all are taken). */
  claimSlot(): { slot: number; token: number } | undefined {
    const slot = this.freeSlots.pop();
    if (slot === undefined) return undefined;
    const token = nextToken();
    Atomics.store(this.claims, slot, token);
    return { slot, token };
  }

  /** Withdraws a request the thread has not taken up; false when it has (it runs there). */
  withdraw(claim: { slot: number; token: number }): boolean {
    return Atomics.compareExchange(this.claims, claim.slot, claim.token, 0) === claim.token;
  }

  releaseSlot(claim: { slot: number; token: number }): void {
    this.freeSlots.push(claim.slot);
  }

  get load(): number {
    return this.jobs.size;
  }

  /** Busy with requests yet silent for STUCK_MS (presumably in a CPU-bound handler), or left a request untaken. */
  stuck(now: number): boolean {
    return this.unresponsive || (this.jobs.size > 0 && now - this.lastHeard > STUCK_MS);
  }

  /** When its oldest request in flight arrived (Infinity when idle). */
  get oldest(): number {
    let t = Infinity;
    for (const j of this.jobs.values()) if (j.receivedAt < t) t = j.receivedAt;
    return t;
  }
}

/** The verdict on a subscriptions/listen request (checked in a pool thread). */
export type ListenVerdict = { ok: true; honoured: Record<string, unknown> } | { ok: false; json: string; status: number };

export class StatelessPool {
  private readonly workers = new Set<PoolThread>();
  private readonly checks = new Map<number, (v: ListenVerdict) => void>();
  private checkSeq = 0;
  private readonly queue: Job[] = [];
  private readonly byId = new Map<JsonRpcId, Job>();
  private closed = false;
  private respawnDelayMs = 0;

  constructor(private readonly o: StatelessPoolOptions) {}

  /**
   * Starts the first thread; resolves when it is ready (a broken toolset fails here). The others
   * start as demand calls for them (grow()): a server that serves no 2026-07-28 stateless traffic,
   * or little, does not pay boots and memory for threads it does not use.
   */
  async start(): Promise<void> {
    await this.spawn();
  }

  /**
   * One more thread, up to `threads`, when every thread has a request in flight and none is
   * booting: the pool follows the concurrency of its traffic, and a CPU-bound or hung request
   * always leaves a thread for the others (see pick()).
   */
  private grow(): void {
    if (this.closed || this.workers.size >= this.o.threads) return;
    for (const w of this.workers) if (!w.ended && (!w.bound || w.load === 0)) return;
    this.spawn().catch((err: unknown) => this.o.log.error({ err: (err as Error).message }, 'a stateless pool thread could not start'));
  }

  /** A thread is booting (it takes what waits when it is bound). */
  private get booting(): boolean {
    for (const w of this.workers) if (!w.bound && !w.ended) return true;
    return false;
  }

  get inFlight(): number {
    return this.byId.size - this.queue.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  get threadCount(): number {
    return this.workers.size;
  }

  /** Takes a request; a CodedError when the queue is full or the pool closed (answer it at once). */
  submit(msg: ParsedRequest, sink: RequestSink): CodedError | undefined {
    if (this.closed) return rpcError('SHUTTING_DOWN', 'not accepting new requests');
    this.grow(); // before picking: a thread that starts now is where a request waits rather than behind a stuck one
    const worker = this.pick();
    if (!worker && this.queue.length >= this.o.maxQueue) {
      this.o.observer.rejected();
      return rpcError('SERVER_BUSY', `${this.queue.length} stateless requests are waiting for a thread (limit ${this.o.maxQueue})`);
    }
    const now = Date.now();
    const job: Job = {
      msg,
      sink,
      receivedAt: now,
      deadlineAt: now + this.o.deadlineFor(msg),
      answered: false,
      worker: undefined,
      timer: undefined,
      graceTimer: undefined,
      claim: undefined,
      claimTimer: undefined,
    };
    job.timer = setTimeout(() => this.expire(job), job.deadlineAt - now);
    this.byId.set(msg.id, job);
    if (worker) this.run(worker, job);
    else this.queue.push(job);
    return undefined;
  }

  /** Has a pool thread check a subscriptions/listen request (envelope, headers, filter; the honoured subset). */
  checkListen(json: string, headers: Record<string, string> | undefined, timeoutMs = 5_000): Promise<ListenVerdict> {
    const worker = this.pick() ?? [...this.workers].find((w) => w.bound && !w.ended);
    if (!worker) return Promise.reject(rpcError('SERVER_BUSY', 'no stateless thread is available to check the subscription'));
    const cid = ++this.checkSeq;
    return new Promise<ListenVerdict>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.checks.delete(cid);
        reject(rpcError('CALL_TIMEOUT', `the subscription check got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.checks.set(cid, (v) => {
        clearTimeout(timer);
        this.checks.delete(cid);
        resolve(v);
      });
      worker.thread.post({ t: 'check-listen', cid, json, ...(headers && { headers }) });
    });
  }

  /** The client went away (or sent notifications/cancelled): stop the request. */
  cancel(id: JsonRpcId, reason: string): void {
    const job = this.byId.get(id);
    if (!job) return;
    this.answer(job, 'REQUEST_CANCELLED', reason);
    if (!job.worker || this.takeBack(job)) {
      this.unqueue(job);
      this.maybeIdle();
      return;
    }
    job.worker.thread.post({ t: 'abort', id, reason });
    job.graceTimer ??= setTimeout(() => this.killHung(job, 'it was cancelled'), this.o.deadlineGraceMs);
  }

  private pick(): PoolThread | undefined {
    const now = performance.now();
    const live = [...this.workers].filter((w) => w.bound && !w.ended);
    // While any thread is responsive, requests wait for room there rather than behind a stuck one;
    // when all are stuck, for the thread that is booting, if one is.
    const responsive = live.filter((w) => !w.stuck(now));
    let best: PoolThread | undefined;
    for (const w of responsive.length > 0 ? responsive : this.booting ? [] : live) {
      if (w.load >= this.o.concurrency) continue;
      if (!best || w.load < best.load || (w.load === best.load && w.oldest > best.oldest)) best = w;
    }
    return best;
  }

  private run(worker: PoolThread, job: Job): void {
    job.worker = worker;
    if (worker.jobs.size === 0) worker.lastHeard = performance.now(); // silence while idle is no sign of being stuck
    worker.jobs.set(job.msg.id, job);
    worker.thread.served++;
    job.claim = worker.claimSlot();
    if (job.claim) job.claimTimer = setTimeout(() => this.unclaimed(job), CLAIM_MS);
    const m: ToActor = {
      t: 'in',
      json: job.msg.raw,
      id: job.msg.id,
      receivedAt: job.receivedAt,
      deadlineAt: job.deadlineAt,
      ...(job.msg.delivery && { modern: job.msg.delivery }),
      ...(job.claim && { claim: job.claim }),
    };
    worker.thread.post(m);
  }

  /**
   * Takes a request back from its thread if the thread has not taken it up (true), to run it
   * elsewhere or not at all; its message there is dropped when read.
   */
  private takeBack(job: Job): boolean {
    const w = job.worker;
    if (!w || !job.claim || !w.withdraw(job.claim)) return false;
    clearTimeout(job.claimTimer);
    job.claimTimer = undefined;
    w.releaseSlot(job.claim);
    w.jobs.delete(job.msg.id);
    job.claim = undefined;
    job.worker = undefined;
    return true;
  }

  /** CLAIM_MS after it was sent, the request's thread has not taken it up: another thread runs it. */
  private unclaimed(job: Job): void {
    job.claimTimer = undefined;
    const w = job.worker;
    if (!w || w.ended || !this.takeBack(job)) return;
    w.unresponsive = true;
    this.o.log.debug({ thread: w.thread.threadId, method: job.msg.method, tool: toolOf(job.msg) }, `a stateless request was not taken up within ${CLAIM_MS} ms (its thread is busy); it goes to another thread`);
    this.requeue(job);
  }

  /**
   * A request taken back: first in line for the next thread (or done with, if it was answered
   * meanwhile). `grow`: false when its thread died (that thread's replacement is on its way).
   */
  private requeue(job: Job, grow = true): void {
    if (job.answered) {
      this.forget(job);
      this.maybeIdle();
      return;
    }
    this.queue.unshift(job);
    if (grow) this.grow();
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.pick();
      if (!worker) return;
      this.run(worker, this.queue.shift()!);
    }
  }

  private unqueue(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    this.forget(job);
  }

  private forget(job: Job): void {
    clearTimeout(job.timer);
    clearTimeout(job.graceTimer);
    clearTimeout(job.claimTimer);
    job.timer = job.graceTimer = job.claimTimer = undefined;
    this.byId.delete(job.msg.id);
    job.worker?.jobs.delete(job.msg.id);
    if (job.claim) job.worker?.releaseSlot(job.claim);
    job.claim = undefined;
  }

  private answer(job: Job, code: ErrorCode, detail?: string): void {
    if (job.answered) return;
    job.answered = true;
    const err = rpcError(code, detail);
    job.sink({ json: JSON.stringify({ jsonrpc: '2.0', id: job.msg.clientId ?? job.msg.id, error: err.toRpcError() }), kind: 'response', id: job.msg.id, err: true });
    this.o.observer.requestDone(job.msg.method, toolOf(job.msg), Date.now() - job.receivedAt, code);
  }

  private expire(job: Job): void {
    job.timer = undefined;
    const tool = toolOf(job.msg);
    const ms = job.deadlineAt - job.receivedAt;
    this.o.observer.deadlineExpired(job.msg.method, tool);
    if (!job.worker || this.takeBack(job)) {
      this.answer(job, 'DEADLINE_EXCEEDED', `${job.msg.method}${tool ? ` ${tool}` : ''} waited ${ms} ms for a thread`);
      this.unqueue(job);
      this.maybeIdle();
      return;
    }
    this.answer(job, 'DEADLINE_EXCEEDED', `${job.msg.method}${tool ? ` ${tool}` : ''} exceeded ${ms} ms`);
    job.worker.thread.post({ t: 'abort', id: job.msg.id, reason: `deadline of ${ms} ms exceeded` });
    job.graceTimer ??= setTimeout(() => this.killHung(job, 'its deadline'), this.o.deadlineGraceMs);
  }

  /** The grace period ended with the handler still running: its thread is replaced. */
  private killHung(job: Job, after: string): void {
    job.graceTimer = undefined;
    const w = job.worker;
    if (!w || !w.jobs.has(job.msg.id) || w.ended) return;
    const tool = toolOf(job.msg);
    this.o.log.warn(
      { method: job.msg.method, tool, graceMs: this.o.deadlineGraceMs, after, thread: w.thread.threadId, others: w.load - 1 },
      `stateless request did not yield within the grace period after ${after}; replacing its thread`,
    );
    void w.thread.kill(`${tool ?? job.msg.method} did not yield within ${this.o.deadlineGraceMs} ms after ${after}`);
  }

  private finish(w: PoolThread, id: JsonRpcId, out: Outbound | undefined): void {
    const job = w.jobs.get(id);
    if (!job) {
      if (out) this.o.log.debug({ thread: w.thread.threadId }, 'late response for an answered stateless request dropped');
      return;
    }
    this.forget(job);
    if (out && !job.answered) {
      job.answered = true;
      job.sink(out);
      this.o.observer.requestDone(job.msg.method, toolOf(job.msg), Date.now() - job.receivedAt, out.err ? 'error' : 'ok');
    } else if (!job.answered) {
      this.answer(job, 'REQUEST_CANCELLED');
    }
    this.pump();
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.byId.size === 0) this.o.onIdle();
  }

  private onMessage(w: PoolThread, m: FromActor): void {
    w.lastHeard = performance.now();
    w.unresponsive = false;
    switch (m.t) {
      case 'out':
        if (m.kind === 'response' && m.id !== undefined) {
          this.finish(w, m.id, m);
          return;
        }
        if (m.rel !== undefined) {
          const job = w.jobs.get(m.rel);
          if (job && !job.answered) job.sink(m);
          return;
        }
        this.o.log.debug({ thread: w.thread.threadId }, 'a stateless thread sent a message outside any request; dropped');
        return;
      case 'settled':
        this.finish(w, m.id, undefined);
        return;
      case 'withdrawn': // it reads its messages again (lastHeard, unresponsive: above)
        return;
      case 'bound':
        w.bound = true;
        this.respawnDelayMs = 0;
        this.pump();
        return;
      case 'event':
        this.o.onEvent(m.event);
        return;
      case 'log':
        this.o.log[m.level]({ ...m.data, thread: w.thread.threadId, actor: 'stateless' }, m.msg);
        return;
      case 'call':
        this.o.call(w, m.op, m.args).then(
          (value) =>
            value instanceof Transferring
              ? w.thread.post({ t: 'result', cid: m.cid, ok: true, value: value.value }, value.transfer)
              : w.thread.post({ t: 'result', cid: m.cid, ok: true, value }),
          (err: unknown) =>
            w.thread.post({ t: 'result', cid: m.cid, ok: false, error: { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message ?? String(err) } }),
        );
        return;
      case 'state':
      case 'pin':
      case 'close-sse':
      case 'close-standalone-sse':
        return;
      case 'listen':
        this.checks.get(m.cid)?.(m.ok ? { ok: true, honoured: m.honoured } : { ok: false, json: m.json, status: m.status });
        return;
      case 'ready':
      case 'boot-failed':
        return;
    }
  }

  /** Starts one thread and binds it to the pool; resolves once it serves (rejects on a failed boot). */
  private spawn(): Promise<void> {
    const thread = this.o.spawn();
    const w = new PoolThread(thread, this.o.concurrency);
    this.workers.add(w);
    thread.onMessage = (m) => this.onMessage(w, m);
    void thread.exited.then((exit) => this.onExit(w, exit));
    return thread.ready.then(() => {
      if (this.closed) return;
      thread.post({ t: 'bind', actor: { kind: 'stateless', key: '' }, state: {}, claims: w.claims.buffer as SharedArrayBuffer });
    });
  }

  private onExit(w: PoolThread, exit: ActorExit): void {
    w.ended = true;
    this.workers.delete(w);
    this.o.incarnationEnded(w.owner);
    if (!this.closed) this.o.observer.threadExited(exit);
    const code = EXIT_ERRORS[exit.reason];
    const detail = exit.message ?? exit.reason;
    const untaken: Job[] = [];
    for (const job of [...w.jobs.values()]) {
      // One the thread never took up runs on another thread (when closing, it is answered below).
      if (!this.closed && this.takeBack(job)) {
        untaken.push(job);
        continue;
      }
      this.forget(job);
      this.answer(job, this.closed ? 'SHUTTING_DOWN' : code, detail);
    }
    for (const job of untaken.reverse()) this.requeue(job, false);
    this.maybeIdle();
    if (this.closed) return;
    if (exit.reason !== 'killed') {
      this.o.log.warn({ thread: w.thread.threadId, reason: exit.reason, detail: exit.message }, 'stateless pool thread died; replacing it');
    }
    // Replace it; if replacements keep failing, back off (up to 5 s) instead of spinning.
    this.respawnDelayMs = w.bound ? 0 : Math.min(5_000, Math.max(100, this.respawnDelayMs * 2));
    const again = () => {
      if (this.closed) return;
      this.spawn().catch((err: unknown) => this.o.log.error({ err: (err as Error).message }, 'a stateless pool thread could not start'));
    };
    if (this.respawnDelayMs === 0) again();
    else setTimeout(again, this.respawnDelayMs).unref();
  }

  /** Whether every request has been answered (a drain waits for this). */
  get idle(): boolean {
    return this.byId.size === 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      this.answer(job, 'SHUTTING_DOWN');
      this.forget(job);
    }
    await Promise.all(
      [...this.workers].map(async (w) => {
        w.thread.stop();
        const timer = setTimeout(() => void w.thread.kill('did not stop within 2 s'), 2_000);
        await w.thread.exited;
        clearTimeout(timer);
      }),
    );
  }
}
