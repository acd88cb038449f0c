/**
 * The runtime both edges (HTTP and stdio) sit on — the composition root of the main thread: the
 * actor directory, the session supervisor, the warm pool of actor threads, the runtime calls,
 * the resource kinds, deadlines and metrics. The main thread's share of the work is routing;
 * everything MCP happens in the actor threads.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { ActorBootData, FromActor, HandleTool } from '../shared/actor-messages.js';
import { rpcError, type CodedError } from '../shared/errors.js';
import { CallRegistry, type CallHandler } from './calls.js';
import type { Cluster, StoredRecord } from './cluster/cluster.js';
import { ConfigError, type Config } from './config.js';
import { LocalDirectory, handleKey, sessionKey, type Directory } from './directory.js';
import { ListenHub } from './modern/listen.js';
import { StatelessPool } from './stateless/pool.js';
import { BUILTINS } from './integrations.js';
import { sessionEntry } from './threads/session-entry.js';
import { SharedStart } from './sessions/shared-start.js';
import type { IntegrationContext, SessionHooks } from './integration-context.js';
import type { Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import type { ParsedRequest } from './protocol/jsonrpc.js';
import type { ResourceKind } from './resources/kind.js';
import { ResourceKinds } from './resources/kinds.js';
import { registerLeaseCalls } from './resources/lease-calls.js';
import { LazyInitialize } from './sessions/lazy-initialize.js';
import { SessionActor, type SessionActorDeps, type SessionPhase, type SessionSink, type Tenancy } from './sessions/session-actor.js';
import { registerSessionCalls } from './sessions/session-calls.js';
import { newSessionRecord, type SessionRecord } from './sessions/session-record.js';
import { WarmPool } from './sessions/warm-pool.js';
import { Supervisor } from './supervision/supervisor.js';
import { ActorThread, actorEnv, type ActorHost } from './threads/actor-thread.js';
import { resolveToolsets } from './toolsets.js';
import { VERSION } from './version.js';

export { VERSION } from './version.js';

export { SESSION_WORKER } from './threads/session-entry.js';

/** "30 minutes", "2 hours", "45 seconds": a duration for a tool description. */
export function humanDuration(ms: number): string {
  if (ms <= 0) return 'never (they do not expire)';
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1_000, 'second']];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  }
  return `${Math.round(ms / 1000)} seconds`;
}

/**
 * A first actor thread that cannot load or register the configured toolsets is a configuration
 * problem (exit code 2), said so with what to do about the common cause.
 */
function toolsetProblem(err: Error, toolsets: readonly string[]): Error {
  const message = err.message;
  if (!/^(cannot load toolset|toolset registration failed)/.test(message)) return err;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  const hint =
    missing === 'zod' || missing === 'mcp-actors' || missing?.startsWith('mcp-actors/')
      ? ` — a toolset file outside this package can use ctx.z (no import needed), or import { z } from 'mcp-actors/toolset' where mcp-actors is installed`
      : '';
  return new ConfigError(`toolsets ${toolsets.join(',')}: ${message}${hint}`);
}

export interface Session<S extends SessionSink = SessionSink> {
  actor: SessionActor;
  sink: S;
}

export interface CreateSessionOptions {
  clientIp?: string;
  principal?: string;
  /** The creating principal may act on other sessions (admin role). */
  admin?: boolean;
  /**
   * The headers of the request that created the session (HTTP initialize), lower-case names.
   * Integrations may bind private data to the session from them (e.g. exchange credentials the
   * HTTP client, not the model, supplies). Not stored in the session record.
   */
  headers?: Record<string, string | undefined>;
}

/** What the admin listing shows of a session: never its id. */
export interface SessionView {
  /** A 2025 session, or a 2026-07-28 state handle. */
  kind: 'session' | 'handle';
  fingerprint: string;
  connectedAt: string;
  lastActivity: string;
  clientIp: string | undefined;
  principal: string | undefined;
  state: string;
  queueDepth: number;
  inFlight: string | undefined;
  restarts: number;
}

const PHASE_NAMES: Record<SessionPhase, string> = { idle: 'hibernated', starting: 'starting', active: 'active', restarting: 'restarting', stopping: 'hibernating', ended: 'ended' };

export class Runtime implements IntegrationContext {
  readonly metrics: Metrics;
  readonly supervisor: Supervisor;
  /** Supervises resource host threads (permanent children). */
  readonly resourceSupervisor: Supervisor;
  readonly pool: WarmPool;
  /** Shared start threads (warmPool.sharedStartThreads > 0). */
  readonly sharedStart: SharedStart | undefined;
  /** MCP 2026-07-28 requests without a state handle. */
  readonly stateless: StatelessPool;
  /** MCP 2026-07-28 subscriptions/listen streams (both edges). */
  readonly listen: ListenHub;
  readonly startedAt = Date.now();
  /** Open state handles (entries of kind handle in the directory). */
  private handleCount = 0;
  private readonly sessions: Directory<Session> = new LocalDirectory<Session>();
  private readonly phaseCounts: Record<SessionPhase, number> = { idle: 0, starting: 0, active: 0, restarting: 0, stopping: 0, ended: 0 };
  /** Tool name → the toolset that registered it (from the actor threads' boot reports). */
  private toolIndex: Record<string, string> = {};
  /** The tools that create, carry or end state handles (from the same reports). */
  private handleIndex: Record<string, HandleTool> = {};
  /** Actor threads alive right now (bound to sessions, spare, or booting). */
  liveThreads = 0;
  private lazyInitialize: LazyInitialize | undefined;
  private readonly calls = new CallRegistry();
  private readonly kinds: ResourceKinds;
  private readonly closeHooks: Array<() => Promise<void>> = [];
  private readonly sessionHooks: SessionHooks[] = [];
  private readonly admins = new WeakSet<SessionActor>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly actorDeps: SessionActorDeps;
  /** Resolved by a drain once no session is busy. */
  private idleWaiter: (() => void) | undefined;
  draining = false;
  /** The node is stopping: its actors end here but live on in the cluster. */
  private closing = false;
  /** Cluster mode (cluster.servers set): the directory, records, forwarding and events through NATS. */
  cluster: Cluster | undefined;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    toolsetSpecs: string[],
  ) {
    const s = config.sessions;
    this.metrics = new Metrics({
      pools: () => [...this.kinds.all()].map((k) => k.pool.stats()),
      threads: () => this.liveThreads,
      sessionCounts: () => this.sessionCounts(),
      queued: () => {
        let q = 0;
        for (const { actor } of this.sessions.values()) q += actor.queueDepth;
        return q;
      },
      stateless: () => ({ threads: this.stateless.threadCount, running: this.stateless.inFlight, queued: this.stateless.queued }),
      handles: () => this.handleCount,
      subscriptions: () => this.listen.count,
    });
    this.listen = new ListenHub(config.listen.maxSubscriptions, { name: 'mcp-actors', version: VERSION }, log);
    this.resourceSupervisor = new Supervisor({ name: 'resources', intensity: { maxRestarts: 20, periodMs: 60_000 }, backoff: s.backoff });
    this.resourceSupervisor.on('escalated', (exit) => log.fatal({ reason: exit.reason, detail: exit.message }, 'resource hosts keep crashing; the resource supervisor gave up'));
    this.kinds = new ResourceKinds(this.metrics, log);
    registerLeaseCalls(this.calls, (name) => this.kinds.kindFor(name));
    registerSessionCalls(this.calls, {
      config,
      log,
      sessionCounts: () => this.sessionCounts(),
      sessionTotal: () => this.size,
      findSession: (target) => this.sessions.get(sessionKey(target))?.actor ?? [...this.sessions.values()].find((x) => x.actor.record.fingerprint === target)?.actor,
      isAdmin: (actor) => this.admins.has(actor),
    });

    // Session actors: one supervisor, each session its own restart intensity (given up alone).
    this.supervisor = new Supervisor({ name: 'sessions', intensity: { maxRestarts: Number.MAX_SAFE_INTEGER, periodMs: 1 }, backoff: s.backoff });
    const boot: ActorBootData = {
      toolsets: toolsetSpecs,
      toolsetConfig: config.toolsetConfig,
      serverName: 'mcp-actors',
      serverVersion: VERSION,
      logLevel: config.logLevel,
      stateMaxBytes: s.stateMaxBytes,
      nice: s.actorNice,
      // Unset, a random key for this process: requestState minted before a restart is then refused.
      requestStateKey: config.mrtr.requestStateKey ?? randomBytes(32).toString('base64url'),
      requestStateTtlSeconds: config.mrtr.ttlSeconds,
      cacheHints: config.cacheHints,
      handleLifetime: humanDuration(config.handles.idleTimeoutMs),
    };
    const worker = sessionEntry({ bundle: config.warmPool.bundle, codeCacheDir: config.warmPool.codeCacheDir }, log);
    boot.codeCacheFile = worker.codeCacheFile;
    log.debug({ boot: worker.describe }, 'actor threads start from');
    const env = actorEnv();
    const spawnActor = () => {
      const t = new ActorThread(worker.entry, boot, { heapLimitMb: s.heapLimitMb, youngGenerationMb: s.youngGenerationMb, env });
      void t.ready.then(
        () => t.boot && this.metrics.actorBoots.observe({ boot: t.boot.kind }, t.boot.ms / 1000),
        () => {},
      );
      return t;
    };
    this.pool = new WarmPool({
      min: config.warmPool.min,
      max: config.warmPool.max,
      spareIdleMs: config.warmPool.spareIdleMs,
      maxReuses: config.warmPool.maxReuses,
      log,
      backlog: () => this.sharedStart?.hostedFor(config.warmPool.sharedStartMoveAfterMs) ?? 0,
      spawn: () => {
        const t = spawnActor();
        this.liveThreads++;
        void t.exited.then(() => this.liveThreads--);
        void t.ready.then(
          () => {
            this.toolIndex = t.tools;
            this.handleIndex = t.handles;
          },
          () => {}, // a boot failure is the warm pool's to report (and the start's, for the first thread)
        );
        return t;
      },
      onChange: (st) => {
        this.metrics.warmPool.set({ kind: 'spare' }, st.spare);
        this.metrics.warmPool.set({ kind: 'booting' }, st.booting);
        this.metrics.warmPool.set({ kind: 'target' }, st.target);
      },
    });
    const wp = config.warmPool;
    this.sharedStart = wp.sharedStartThreads > 0 ? new SharedStart({ threads: wp.sharedStartThreads, slotsPerThread: wp.sharedStartSlots, spawn: spawnActor, log }) : undefined;
    const m = this.metrics;
    this.actorDeps = {
      limits: {
        mailboxDepth: s.mailboxDepth,
        deadlineGraceMs: s.deadlineGraceMs,
        shutdownTimeoutMs: s.shutdownTimeoutMs,
        restartIntensity: s.restartIntensity,
        bindTimeoutMs: 30_000,
      },
      leaveThread: (t) => this.releaseThread(t.thread, t),
      initialize: (msg) => this.lazyInitialize?.answer(msg),
      acquireThread: async () => {
        if (this.sharedStart) {
          // A spare of its own if one is ready; else a slot on a shared start thread now rather
          // than waiting for a boot (the pool boots one meanwhile; the actor moves when idle).
          const spare = this.pool.tryAcquire();
          if (spare) {
            m.actorStarts.inc({ kind: 'warm' });
            return spare;
          }
          const slot = this.sharedStart.open();
          if (slot) {
            m.actorStarts.inc({ kind: 'shared' });
            return slot;
          }
        }
        const t = await this.pool.acquire();
        m.actorStarts.inc({ kind: t.handedOut });
        return t;
      },
      supervisor: this.supervisor,
      deadlineFor: (msg) => this.deadlineFor(msg),
      call: (actor, op, args) => this.calls.call(actor, op, args),
      log,
      observer: {
        requestDone: (method, tool, ms, outcome) => m.requestDuration.observe({ method, tool: this.toolLabel(tool), outcome }, ms / 1000),
        deadlineExpired: (method, tool) => m.deadlines.inc({ method, tool: this.toolLabel(tool) }),
        mailboxRejected: () => m.mailboxRejected.inc(),
        threadExited: (exit) => m.threadExits.inc({ reason: exit.reason }),
        restarting: (actor, exit, delayMs) => {
          m.restarts.inc({ reason: exit.reason });
          log.info({ session: actor.record.fingerprint, reason: exit.reason, delayMs }, 'restarting session actor');
        },
        phaseChanged: (from, to) => {
          this.phaseCounts[from]--;
          this.phaseCounts[to]++;
        },
      },
      onEnded: (actor, reason) => this.forget(actor, reason),
      onIdle: (actor) => {
        // An actor that has been on a shared start thread long enough moves to a thread of its own
        // at an idle moment once a spare is ready: off the slot now, onto the spare with its next request.
        if (actor.sharedFor >= config.warmPool.sharedStartMoveAfterMs && this.pool.stats().spare > 0 && !this.draining) void actor.hibernate();
        if (this.idleWaiter && this.busySessions() === 0) this.idleWaiter();
      },
      incarnationEnded: (owner) => {
        for (const k of this.kinds.all()) void k.pool.releaseOwner(owner);
      },
      onEvent: (event) => this.publish(event),
      recordChanged: (actor) => this.cluster?.changed(actor.key),
    };
    const st = config.stateless;
    this.stateless = new StatelessPool({
      threads: st.threads || availableParallelism() + 2,
      concurrency: st.concurrency,
      maxQueue: st.maxQueue,
      deadlineGraceMs: s.deadlineGraceMs,
      spawn: spawnActor,
      deadlineFor: (msg) => this.deadlineFor(msg),
      log,
      call: (caller, op, args) => this.calls.call(caller, op, args),
      onEvent: (event) => this.publish(event),
      incarnationEnded: (owner) => {
        for (const k of this.kinds.all()) void k.pool.releaseOwner(owner);
      },
      onIdle: () => {
        if (this.idleWaiter && this.busySessions() === 0) this.idleWaiter();
      },
      observer: {
        requestDone: (method, tool, ms, outcome) => m.requestDuration.observe({ method, tool: this.toolLabel(tool), outcome }, ms / 1000),
        deadlineExpired: (method, tool) => m.deadlines.inc({ method, tool: this.toolLabel(tool) }),
        threadExited: (exit) => m.statelessReplaced.inc({ reason: exit.reason }),
        rejected: () => m.statelessRejected.inc(),
      },
    });
    const horizon = Math.min(...[s.hibernateAfterMs, s.idleTimeoutMs].filter((x) => x > 0), 4_000);
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, horizon / 4)));
    this.sweepTimer.unref();
  }

  /** Resolves toolsets, sets up integrations and boots the first actor thread, so a broken toolset fails the start. */
  static async start(config: Config, log: Logger): Promise<Runtime> {
    const specs = resolveToolsets(config.toolsets);
    let cluster: Cluster | undefined;
    if (config.cluster.servers.length > 0) {
      const { Cluster } = await import('./cluster/cluster.js');
      let dropped: () => void = () => {};
      cluster = await Cluster.connect(config, log, { maxBufferedBytes: config.http.sseMaxBufferedBytes, onDropped: () => dropped() });
      // Every node signs and checks MRTR requestState with one key: the configured one, else the cluster's.
      if (config.mrtr.requestStateKey === undefined) config = { ...config, mrtr: { ...config.mrtr, requestStateKey: await cluster.sharedSecret('mrtr-request-state') } };
      const rt = new Runtime(config, log, specs);
      dropped = () => rt.metrics.sseDropped.inc();
      rt.cluster = cluster;
      cluster.onEvent = (event) => rt.publishLocal(event);
      cluster.onLost = (key) => void rt.sessions.get(key)?.actor.end('another node of the cluster took it over');
      return rt.boot().catch(async (err: unknown) => {
        await cluster!.close();
        throw err;
      });
    }
    return new Runtime(config, log, specs).boot();
  }

  private async boot(): Promise<Runtime> {
    const config = this.config;
    this.kinds.addConfigured(config, this.resourceSupervisor);
    for (const name of config.toolsets) {
      const integration = BUILTINS[name]?.setup;
      if (integration) await (await integration()).setup(this);
    }
    for (const k of this.kinds.all()) k.pool.warm();
    try {
      await this.pool.start();
      await this.stateless.start();
      await this.sharedStart?.start();
    } catch (err) {
      throw toolsetProblem(err as Error, config.toolsets);
    }
    if (config.sessions.lazyActivation) {
      const t = await this.pool.acquire();
      this.lazyInitialize = await LazyInitialize.probe(t);
      await this.releaseThread(t);
    }
    return this;
  }

  /** A thread a session let go of: renewed and returned to the pool, or stopped (a slot: released). */
  private async releaseThread(thread: ActorHost, tenancy?: Tenancy): Promise<void> {
    if (!(thread instanceof ActorThread)) {
      thread.stop();
      return;
    }
    await this.pool.recycle(thread, () => tenancy?.released());
  }

  private toolLabel(tool: string | undefined): string {
    if (tool === undefined) return '';
    return tool in this.toolIndex ? tool : 'unknown';
  }

  /** The deadline of a request: per tool, else per toolset, else the default. */
  deadlineFor(msg: ParsedRequest): number {
    const s = this.config.sessions;
    if (msg.method === 'tools/call') {
      const name = msg.params?.name;
      if (typeof name === 'string') {
        const perTool = s.toolTimeoutsMs[name];
        if (perTool !== undefined) return perTool;
        const toolset = this.toolIndex[name];
        const perToolset = toolset !== undefined ? s.toolsetTimeoutsMs[toolset] : undefined;
        if (perToolset !== undefined) return perToolset;
      }
    }
    return s.requestTimeoutMs;
  }

  // ---- sessions ------------------------------------------------------------------------------

  get size(): number {
    return this.sessions.size;
  }

  session<S extends SessionSink = SessionSink>(id: string): Session<S> | undefined {
    return this.sessions.get(sessionKey(id)) as Session<S> | undefined;
  }

  sessionCounts(): { active: number; hibernated: number; starting: number; restarting: number } {
    const p = this.phaseCounts;
    return { active: p.active + p.stopping, hibernated: p.idle, starting: p.starting, restarting: p.restarting };
  }

  get atCapacity(): boolean {
    return this.sessions.size >= this.config.sessions.maxSessions;
  }

  /** The tools that create, carry or end state handles. */
  get handleTools(): Readonly<Record<string, HandleTool>> {
    return this.handleIndex;
  }

  /**
   * A new state handle's actor (MCP 2026-07-28): ≥ 128 random bits, bound to the principal. A
   * CodedError when the server holds maxSessions sessions and handles already.
   */
  createHandle<S extends SessionSink>(sink: S, opts: CreateSessionOptions = {}): Session<S> | CodedError {
    if (this.draining) return rpcError('SHUTTING_DOWN', 'not accepting new handles');
    if (this.atCapacity) return rpcError('SERVER_BUSY', `${this.size} sessions and handles are open (limit ${this.config.sessions.maxSessions})`);
    const record = newSessionRecord(`h_${randomBytes(18).toString('base64url')}`, opts.clientIp, opts.principal);
    const actor = new SessionActor(record, sink, this.actorDeps, 'handle');
    this.phaseCounts.idle++;
    this.handleCount++;
    if (opts.admin) this.admins.add(actor);
    for (const h of this.sessionHooks) h.created?.(record, opts.headers);
    const entry: Session<S> = { actor, sink };
    this.sessions.add(actor.key, entry);
    this.register(actor);
    this.metrics.handlesCreated.inc();
    this.log.info({ audit: 'handle.created', handle: record.fingerprint, principal: opts.principal, clientIp: opts.clientIp }, 'state handle created');
    return entry;
  }

  /** A 2026-07-28 request reached a handle's actor: integrations may rebind from its headers. */
  handleRequest(actor: SessionActor, headers: Record<string, string | undefined> | undefined): void {
    for (const h of this.sessionHooks) h.request?.(actor.record, headers);
  }

  /** Whether this node holds the handle's actor (whoever's it is). */
  holdsHandle(handle: string): boolean {
    return this.sessions.get(handleKey(handle)) !== undefined;
  }

  /** The live actor of a handle, if it is this principal's (to anyone else it does not exist). */
  handleActor(handle: string, principal: string | undefined): SessionActor | undefined {
    const entry = this.sessions.get(handleKey(handle));
    if (!entry || entry.actor.record.principal !== principal || entry.actor.phase === 'ended') return undefined;
    return entry.actor;
  }

  /** A server event from any thread: every listen stream that asked for it, and every 2025 session. */
  private publish(event: Extract<FromActor, { t: 'event' }>['event']): void {
    this.cluster?.publishEvent(event);
    this.publishLocal(event);
  }

  /** An event for this node's listeners and sessions (from here, or from another node of the cluster). */
  publishLocal(event: Extract<FromActor, { t: 'event' }>['event']): void {
    this.metrics.events.inc({ kind: event.kind });
    this.listen.publish(event);
    const method = { tools_list_changed: 'notifications/tools/list_changed', prompts_list_changed: 'notifications/prompts/list_changed', resources_list_changed: 'notifications/resources/list_changed' }[event.kind];
    for (const { actor, sink } of this.sessions.values()) {
      if (actor.key.kind !== 'session' || actor.phase === 'ended') continue;
      if (method) sink.deliver({ kind: 'notification', json: JSON.stringify({ jsonrpc: '2.0', method }) });
      else if (event.kind === 'resource_updated' && event.uri !== undefined && actor.record.handshake?.subscriptions.includes(event.uri)) {
        sink.deliver({ kind: 'notification', json: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: event.uri } }) });
      }
    }
  }

  createSession<S extends SessionSink>(makeSink: (record: SessionRecord) => S, opts: CreateSessionOptions = {}, id?: string): Session<S> {
    const record = newSessionRecord(id, opts.clientIp, opts.principal);
    const sink = makeSink(record);
    const actor = new SessionActor(record, sink, this.actorDeps);
    this.phaseCounts.idle++;
    if (opts.admin) this.admins.add(actor);
    for (const h of this.sessionHooks) h.created?.(record, opts.headers);
    const session: Session<S> = { actor, sink };
    this.sessions.add(actor.key, session);
    this.register(actor);
    this.metrics.sessionsCreated.inc();
    this.log.info({ audit: 'session.created', session: record.fingerprint, principal: opts.principal, clientIp: opts.clientIp }, 'session created');
    return session;
  }

  /** Cluster mode: a new actor belongs to this node; it answers nothing before the directory says so. */
  private register(actor: SessionActor): void {
    if (!this.cluster) return;
    actor.holdUntil(this.cluster.register(actor.key, () => (actor.ended ? undefined : actor.record)));
  }

  /**
   * Cluster mode: an actor this node took over (its owner died) or held before, revived from its
   * stored record — handshake, logging level, subscriptions, state, principal. The next message
   * starts its thread, which replays the handshake. Throws SHUTTING_DOWN on a draining node.
   */
  adopt<S extends SessionSink>(stored: StoredRecord, sink: S): Session<S> {
    const key = stored.kind === 'handle' ? handleKey(stored.record.id) : sessionKey(stored.record.id);
    const existing = this.sessions.get(key) as Session<S> | undefined;
    if (existing) return existing;
    if (this.draining) throw rpcError('SHUTTING_DOWN', 'this node is shutting down; retry (another node takes the session over)');
    const record: SessionRecord = { ...stored.record, lastActivity: Date.now() };
    const actor = new SessionActor(record, sink, this.actorDeps, stored.kind);
    this.phaseCounts.idle++;
    if (stored.kind === 'handle') this.handleCount++;
    const entry: Session<S> = { actor, sink };
    this.sessions.add(key, entry);
    void this.cluster!.hold(key, () => (actor.ended ? undefined : actor.record));
    this.log.info({ audit: `${stored.kind}.adopted`, [stored.kind]: record.fingerprint, principal: record.principal }, `${stored.kind === 'handle' ? 'state handle' : 'session'} taken over from its record`);
    return entry;
  }

  private forget(actor: SessionActor, reason: string): void {
    const entry = this.sessions.get(actor.key);
    if (entry?.actor !== actor || !this.sessions.remove(actor.key, entry)) return;
    this.cluster?.ended(actor.key, this.closing);
    this.phaseCounts.ended--;
    for (const h of this.sessionHooks) h.ended?.(actor.record);
    if (actor.key.kind === 'handle') {
      this.handleCount--;
      this.log.info({ audit: 'handle.ended', handle: actor.record.fingerprint, principal: actor.record.principal, reason }, 'state handle ended');
      return;
    }
    this.metrics.sessionsEnded.inc({ reason: reason.split(/[ :(]/)[0] ?? 'ended' });
    this.log.info({ audit: 'session.ended', session: actor.record.fingerprint, principal: actor.record.principal, reason }, 'session ended');
  }

  /** Admin view of every session: fingerprints, never ids. */
  views(): SessionView[] {
    return [...this.sessions.values()].map(({ actor }) => {
      const r = actor.record;
      return {
        kind: actor.key.kind === 'handle' ? ('handle' as const) : ('session' as const),
        fingerprint: r.fingerprint,
        connectedAt: new Date(r.createdAt).toISOString(),
        lastActivity: new Date(r.lastActivity).toISOString(),
        clientIp: r.clientIp,
        principal: r.principal,
        state: PHASE_NAMES[actor.phase],
        queueDepth: actor.queueDepth,
        inFlight: actor.inFlightMethod,
        restarts: r.restarts,
      };
    });
  }

  /** Hibernates idle sessions and ends those idle past the idle timeout. */
  private sweep(): void {
    const { hibernateAfterMs } = this.config.sessions;
    const now = Date.now();
    let hibernations = 0;
    for (const { actor, sink } of this.sessions.values()) {
      if (!actor.isIdle) continue;
      const idleTimeoutMs = actor.key.kind === 'handle' ? this.config.handles.idleTimeoutMs : this.config.sessions.idleTimeoutMs;
      const idleFor = now - actor.record.lastActivity;
      if (idleTimeoutMs > 0 && idleFor >= idleTimeoutMs && !(sink.connected?.() ?? false)) {
        void actor.end(`idle timeout (${idleTimeoutMs} ms)`);
        continue;
      }
      // Bounded per sweep so a crowd going idle at once does not stop hundreds of threads in one tick.
      if (hibernateAfterMs > 0 && idleFor >= hibernateAfterMs && actor.phase === 'active' && actor.pins === 0 && hibernations < 200) {
        hibernations++;
        void actor.hibernate();
      }
    }
  }

  // ---- integrations --------------------------------------------------------------------------

  addResourceKind<S>(kind: ResourceKind<S>): void {
    this.kinds.add(kind);
  }

  resourceKind<S = unknown>(name: string): ResourceKind<S> | undefined {
    return this.kinds.get<S>(name);
  }

  registerCall(op: string, handler: CallHandler): void {
    this.calls.register(op, handler);
  }

  onSession(hooks: SessionHooks): void {
    this.sessionHooks.push(hooks);
  }

  onClose(fn: () => Promise<void>): void {
    this.closeHooks.push(fn);
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /** Sessions and handles with requests queued or running, plus the stateless pool if it has any. */
  private busySessions(): number {
    let busy = this.stateless.idle ? 0 : 1;
    for (const { actor } of this.sessions.values()) if (!actor.isIdle) busy++;
    return busy;
  }

  /** Waits until every accepted request is answered, or the timeout. New work is refused meanwhile. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (this.busySessions() === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await new Promise<boolean>((resolve) => {
      this.idleWaiter = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.idleWaiter = undefined;
    if (!idle) this.log.warn({ busySessions: this.busySessions() }, 'drain timeout: ending sessions with requests still running');
    return idle;
  }

  /** Ends every session and stops every thread. */
  async close(): Promise<void> {
    this.draining = true;
    this.closing = true;
    // Cluster mode: other nodes take this node's actors over from here on.
    await this.cluster?.leave();
    clearInterval(this.sweepTimer);
    this.listen.closeAll();
    await Promise.all([...this.sessions.values()].map(({ actor }) => actor.end('server shutting down')));
    await this.stateless.close();
    await this.supervisor.shutdown();
    await this.sharedStart?.close();
    await this.kinds.close();
    for (const fn of this.closeHooks) await fn();
    await this.resourceSupervisor.shutdown();
    await this.pool.close();
    await this.cluster?.close();
  }
}
