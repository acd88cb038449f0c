/**
 * The runtime both edges (HTTP and stdio) sit on: the session registry, the session supervisor,
 * the warm pool of actor threads, deadlines and metrics. The main thread's share of the work is
 * routing; everything MCP happens in the actor threads.
 */
import { timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ActorThread, actorEnv } from './actors/actor-thread.js';
import type { ActorBootData } from './actors/messages.js';
import { SessionActor, type InitializeReply, type SessionActorDeps, type SessionObserver, type SessionPhase, type SessionSink, type Tenancy } from './actors/session-actor.js';
import type { InitializeRequestSchema as InitializeSchema } from '@modelcontextprotocol/sdk/types.js';
import { newSessionRecord, type SessionRecord } from './actors/session-record.js';
import { WarmPool } from './actors/warm-pool.js';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import type { ParsedRequest } from './protocol/jsonrpc.js';
import { probeInitialize } from './actors/probe.js';
import { rpcError, type JsonRpcId } from './errors.js';
import { Supervisor } from './supervision/supervisor.js';
import { resolveToolsets } from './toolsets/resolve.js';
import { ResourceKind } from './resources/kind.js';
import { INTEGRATIONS } from './resources/integrations.js';
import { Transferring } from './actors/runtime-calls.js';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

export const SESSION_WORKER = new URL('../workers/session.js', import.meta.url);

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const VERSION = packageVersion();

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

/** Called when a session is created (with its initialize headers) and when it ends. */
export interface SessionHooks {
  created?(record: SessionRecord, opts: CreateSessionOptions): void;
  ended?(record: SessionRecord): void;
}

/** What the admin listing shows of a session: never its id. */
export interface SessionView {
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

type CallHandler = (actor: SessionActor, args: Record<string, unknown>) => Promise<unknown>;

const PHASE_NAMES: Record<SessionPhase, string> = { idle: 'hibernated', starting: 'starting', active: 'active', restarting: 'restarting', stopping: 'hibernating', ended: 'ended' };

export class Runtime {
  readonly metrics: Metrics;
  readonly supervisor: Supervisor;
  readonly pool: WarmPool;
  readonly startedAt = Date.now();
  private readonly sessions = new Map<string, Session>();
  private readonly phaseCounts: Record<SessionPhase, number> = { idle: 0, starting: 0, active: 0, restarting: 0, stopping: 0, ended: 0 };
  private toolIndex: Record<string, string> = {};
  /** Actor threads alive right now (bound to sessions, spare, or booting). */
  liveThreads = 0;
  /** The initialize result of a real actor (lazy activation answers from it); undefined until probed. */
  private initTemplate: Record<string, unknown> | undefined;
  /** The SDK's schema and version list, loaded only when lazy activation is on (they cost startup time). */
  private sdk: { schema: typeof InitializeSchema; latest: string; supported: string[] } | undefined;
  private readonly boot: ActorBootData;
  private readonly observer: SessionObserver;
  private readonly callHandlers = new Map<string, CallHandler>();
  private readonly kinds = new Map<string, ResourceKind<unknown>>();
  private readonly closeHooks: Array<() => Promise<void>> = [];
  private readonly sessionHooks: SessionHooks[] = [];
  /** Supervises resource host threads (permanent children). */
  readonly resourceSupervisor: Supervisor;
  private readonly admins = new WeakSet<SessionActor>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  draining = false;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    toolsetSpecs: string[],
  ) {
    this.resourceSupervisor = new Supervisor({ name: 'resources', intensity: { maxRestarts: 20, periodMs: 60_000 }, backoff: config.sessions.backoff });
    this.resourceSupervisor.on('escalated', (exit) => log.fatal({ reason: exit.reason, detail: exit.message }, 'resource hosts keep crashing; the resource supervisor gave up'));
    this.registerCall('lease.acquire', async (actor, args) => {
      const kind = this.kindFor(args.kind);
      const owner = actor.owner;
      const g = await kind.pool.acquire(owner, args.spec, {
        waitMs: typeof args.waitMs === 'number' ? args.waitMs : undefined,
        waitId: typeof args.waitId === 'string' ? args.waitId : undefined,
      });
      if (actor.owner !== owner || actor.phase === 'ended') {
        // The incarnation that asked let go of its thread while waiting: nobody will use this lease.
        g.port.close();
        await kind.pool.release(g.lid);
        throw Object.assign(new Error('the session moved on before its lease was granted'), { code: 'LEASE_CANCELLED' });
      }
      return new Transferring({ lid: g.lid, label: g.label, port: g.port }, [g.port]);
    });
    this.registerCall('lease.release', async (actor, args) => {
      const kind = this.kindFor(args.kind);
      if (kind.pool.ownerOf(String(args.lid)) === actor.owner) await kind.pool.release(String(args.lid));
      return null;
    });
    this.registerCall('lease.abandon', async (_actor, args) => this.kindFor(args.kind).pool.abandon(String(args.waitId)));
    this.registerCall('session.stats', async (actor) => this.statsFor(actor));
    this.registerCall('session.end', async (actor, args) => this.endFrom(actor, String(args.target ?? ''), typeof args.adminToken === 'string' ? args.adminToken : undefined));
    const s0 = config.sessions;
    const horizon = Math.min(...[s0.hibernateAfterMs, s0.idleTimeoutMs].filter((x) => x > 0), 4_000);
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, horizon / 4)));
    this.sweepTimer.unref();
    this.metrics = new Metrics({
      pools: () => [...this.kinds.values()].map((k) => k.pool.stats()),
      threads: () => this.liveThreads,
      sessionCounts: () => this.sessionCounts(),
      queued: () => {
        let q = 0;
        for (const { actor } of this.sessions.values()) q += actor.queueDepth;
        return q;
      },
    });
    this.boot = {
      toolsets: toolsetSpecs,
      toolsetConfig: config.toolsetConfig,
      serverName: 'mcp-actors',
      serverVersion: VERSION,
      logLevel: config.logLevel,
      stateMaxBytes: config.sessions.stateMaxBytes,
      nice: config.sessions.actorNice,
    };
    const s = config.sessions;
    this.supervisor = new Supervisor({ name: 'sessions', intensity: { maxRestarts: Number.MAX_SAFE_INTEGER, periodMs: 1 }, backoff: s.backoff });
    this.supervisor.on('gave-up', (id, exit) => {
      log.error({ session: this.sessions.get(id)?.actor.record.fingerprint, reason: exit.reason }, 'session actor restart intensity exceeded; ending the session');
      void this.sessions.get(id)?.actor.gaveUp(exit.reason);
    });
    this.supervisor.on('restarting', (id, exit, delayMs) => {
      this.metrics.restarts.inc({ reason: exit.reason });
      log.info({ session: this.sessions.get(id)?.actor.record.fingerprint, reason: exit.reason, delayMs }, 'restarting session actor');
    });
    const env = actorEnv();
    this.pool = new WarmPool({
      min: config.warmPool.min,
      max: config.warmPool.max,
      maxReuses: config.warmPool.maxReuses,
      log,
      spawn: () => {
        const t = new ActorThread(SESSION_WORKER, this.boot, { heapLimitMb: s.heapLimitMb, youngGenerationMb: s.youngGenerationMb, env });
        this.liveThreads++;
        void t.exited.then(() => this.liveThreads--);
        void t.ready.then(
          () => {
            this.toolIndex = t.tools;
          },
          () => {},
        );
        return t;
      },
      onChange: (st) => {
        this.metrics.warmPool.set({ kind: 'spare' }, st.spare);
        this.metrics.warmPool.set({ kind: 'booting' }, st.booting);
        this.metrics.warmPool.set({ kind: 'target' }, st.target);
      },
    });
    const m = this.metrics;
    this.observer = {
      requestDone: (method, tool, ms, outcome) => m.requestDuration.observe({ method, tool: this.toolLabel(tool), outcome }, ms / 1000),
      deadlineExpired: (method, tool) => m.deadlines.inc({ method, tool: this.toolLabel(tool) }),
      mailboxRejected: () => m.mailboxRejected.inc(),
      threadExited: (exit) => m.threadExits.inc({ reason: exit.reason }),
      phaseChanged: (from, to) => {
        this.phaseCounts[from]--;
        this.phaseCounts[to]++;
      },
    };
  }

  /** Resolves toolsets and boots the first actor thread, so a broken toolset fails the start. */
  static async start(config: Config, log: Logger): Promise<Runtime> {
    const specs = resolveToolsets(config.toolsets);
    const rt = new Runtime(config, log, specs);
    rt.startConfiguredKinds();
    for (const name of config.toolsets) {
      const integration = INTEGRATIONS[name];
      if (integration) await (await integration()).setup(rt);
    }
    for (const k of rt.kinds.values()) k.pool.warm();
    try {
      await rt.pool.start();
    } catch (err) {
      throw toolsetProblem(err as Error, config.toolsets);
    }
    if (config.sessions.lazyActivation) {
      const types = await import('@modelcontextprotocol/sdk/types.js');
      rt.sdk = { schema: types.InitializeRequestSchema, latest: types.LATEST_PROTOCOL_VERSION, supported: types.SUPPORTED_PROTOCOL_VERSIONS };
      const t = await rt.pool.acquire();
      const result = await probeInitialize(t, types.LATEST_PROTOCOL_VERSION);
      rt.initTemplate = result;
      await rt.releaseThread(t);
    }
    return rt;
  }

  /** A thread a session let go of: renewed and returned to the pool, or stopped. */
  private async releaseThread(thread: ActorThread, tenancy?: Tenancy): Promise<void> {
    if (this.pool.canReuse(thread) && (await thread.recycle())) {
      tenancy?.released();
      this.pool.giveBack(thread);
      return;
    }
    thread.stop();
  }

  /** initialize without a thread: validated as the SDK validates it, negotiated as the SDK negotiates. */
  private initializeFromTemplate(msg: ParsedRequest): InitializeReply {
    const id: JsonRpcId = msg.id;
    const sdk = this.sdk!;
    const parsed = sdk.schema.safeParse({ method: 'initialize', params: msg.params });
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return { json: JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: `Invalid params for initialize: ${detail}` } }) };
    }
    const requested = parsed.data.params.protocolVersion;
    const protocolVersion = sdk.supported.includes(requested) ? requested : sdk.latest;
    return { json: JSON.stringify({ jsonrpc: '2.0', id, result: { ...this.initTemplate, protocolVersion } }), protocolVersion };
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

  get size(): number {
    return this.sessions.size;
  }

  session<S extends SessionSink = SessionSink>(id: string): Session<S> | undefined {
    return this.sessions.get(id) as Session<S> | undefined;
  }

  *all(): IterableIterator<Session> {
    yield* this.sessions.values();
  }

  sessionCounts(): { active: number; hibernated: number; starting: number; restarting: number } {
    const p = this.phaseCounts;
    return { active: p.active + p.stopping, hibernated: p.idle, starting: p.starting, restarting: p.restarting };
  }

  createSession<S extends SessionSink>(makeSink: (record: SessionRecord) => S, opts: CreateSessionOptions = {}, id?: string): Session<S> {
    const record = newSessionRecord(id, opts.clientIp, opts.principal);
    const sink = makeSink(record);
    const actor = new SessionActor(record, sink, this.depsForActors());
    this.phaseCounts.idle++;
    if (opts.admin) this.admins.add(actor);
    for (const h of this.sessionHooks) h.created?.(record, opts);
    const session: Session<S> = { actor, sink };
    this.sessions.set(record.id, session);
    this.metrics.sessionsCreated.inc();
    this.log.info({ audit: 'session.created', session: record.fingerprint, principal: opts.principal, clientIp: opts.clientIp }, 'session created');
    return session;
  }

  private actorDeps: SessionActorDeps | undefined;

  /** One set of dependencies shared by every session actor (a hibernated session costs only its own data). */
  private depsForActors(): SessionActorDeps {
    if (this.actorDeps) return this.actorDeps;
    const s = this.config.sessions;
    this.actorDeps = {
      limits: {
        mailboxDepth: s.mailboxDepth,
        deadlineGraceMs: s.deadlineGraceMs,
        shutdownTimeoutMs: s.shutdownTimeoutMs,
        restartIntensity: s.restartIntensity,
        bindTimeoutMs: 30_000,
      },
      leaveThread: (t) => this.releaseThread(t.thread, t),
      initialize: this.initTemplate ? (m) => this.initializeFromTemplate(m) : undefined,
      acquireThread: async () => {
        const t = await this.pool.acquire();
        this.metrics.actorStarts.inc({ kind: t.handedOut });
        return t;
      },
      supervisor: this.supervisor,
      deadlineFor: (m) => this.deadlineFor(m),
      call: (a, op, args) => {
        const handler = this.callHandlers.get(op);
        if (!handler) return Promise.reject(Object.assign(new Error(`unknown runtime call "${op}"`), { code: 'UNKNOWN_CALL' }));
        return handler(a, args);
      },
      log: this.log,
      observer: this.observer,
      onEnded: (a, reason) => this.forget(a, reason),
      incarnationEnded: (owner) => {
        for (const k of this.kinds.values()) void k.pool.releaseOwner(owner);
      },
    };
    return this.actorDeps;
  }

  private forget(actor: SessionActor, reason: string): void {
    if (this.sessions.get(actor.id)?.actor !== actor) return;
    this.sessions.delete(actor.id);
    this.phaseCounts.ended--;
    for (const h of this.sessionHooks) h.ended?.(actor.record);
    this.metrics.sessionsEnded.inc({ reason: reason.split(/[ :(]/)[0] ?? 'ended' });
    this.log.info({ audit: 'session.ended', session: actor.record.fingerprint, principal: actor.record.principal, reason }, 'session ended');
  }

  private kindFor(name: unknown): ResourceKind<unknown> {
    const k = typeof name === 'string' ? this.kinds.get(name) : undefined;
    if (!k) throw Object.assign(new Error(`no resource kind "${String(name)}" is configured on this server`), { code: 'UNKNOWN_RESOURCE' });
    return k;
  }

  /** Adds a resource kind sessions can lease (ctx.service('leases').acquire(kind, spec)). */
  addResourceKind<S>(kind: ResourceKind<S>): void {
    if (this.kinds.has(kind.kind)) throw new Error(`resource kind "${kind.kind}" is already registered`);
    this.kinds.set(kind.kind, kind as ResourceKind<unknown>);
    kind.pool.observe((event, waitedMs) => {
      this.metrics.poolEvents.inc({ kind: kind.kind, event });
      if (event === 'granted' && waitedMs !== undefined) this.metrics.leaseWait.observe({ kind: kind.kind }, waitedMs / 1000);
    });
  }

  resourceKind<S = unknown>(name: string): ResourceKind<S> | undefined {
    return this.kinds.get(name) as ResourceKind<S> | undefined;
  }

  /** Lets an integration learn of sessions being created (with their initialize headers) and ending. */
  onSession(hooks: SessionHooks): void {
    this.sessionHooks.push(hooks);
  }

  /** Runs on close, after sessions have ended (resource integrations stop their hosts here). */
  onClose(fn: () => Promise<void>): void {
    this.closeHooks.push(fn);
  }

  /** The resource kinds declared in config (`resources`): a factory module and a pool policy each. */
  private startConfiguredKinds(): void {
    for (const [name, r] of Object.entries(this.config.resources)) {
      const file = isAbsolute(r.factory) ? r.factory : resolvePath(process.cwd(), r.factory);
      this.addResourceKind(
        new ResourceKind<unknown>({
          kind: name,
          factory: pathToFileURL(file).href,
          factoryConfig: r.config,
          placement: r.hosts === 'per-instance' ? { mode: 'per-instance' } : { mode: 'shared', hosts: r.hosts },
          pool: {
            maxInstances: r.maxInstances,
            maxLeases: r.maxLeases,
            minInstances: r.minInstances,
            warmSpec: r.minInstances > 0 ? {} : undefined,
            shared: r.shared,
            key: (spec) => (r.shared ? JSON.stringify(spec ?? null) : 'any'),
            waitTimeoutMs: r.waitTimeoutMs,
            idleTtlMs: r.idleTtlMs,
            resetOnRelease: r.resetOnRelease,
            healthIntervalMs: r.healthIntervalMs,
          },
          label: (spec) => `${name}${spec && typeof spec === 'object' && Object.keys(spec).length ? ` ${JSON.stringify(spec).slice(0, 60)}` : ''}`,
          opTimeoutMs: r.opTimeoutMs,
          logLevel: this.config.logLevel,
          log: this.log,
          supervisor: this.resourceSupervisor,
        }),
      );
    }
  }

  /** Adds an operation actor threads may call (resource services add theirs). */
  registerCall(op: string, handler: CallHandler): void {
    this.callHandlers.set(op, handler);
  }

  get atCapacity(): boolean {
    return this.sessions.size >= this.config.sessions.maxSessions;
  }

  /** Timing-safe check of the configured admin token. */
  isAdminToken(token: string | undefined): boolean {
    const expected = this.config.admin.token;
    if (!expected || !token) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private statsFor(actor: SessionActor) {
    const counts = this.sessionCounts();
    const r = actor.record;
    return {
      total_sessions: this.sessions.size,
      max_concurrent: this.config.sessions.maxSessions,
      active_sessions: counts.active + counts.starting + counts.restarting,
      hibernated_sessions: counts.hibernated,
      session: {
        created_at: new Date(r.createdAt).toISOString(),
        last_activity: new Date(r.lastActivity).toISOString(),
        active_tasks: actor.queueDepth + (actor.inFlightMethod ? 1 : 0),
        restarts: r.restarts,
      },
    };
  }

  /** A session ends itself (after its current request), or an admin ends another (by id or fingerprint). */
  private async endFrom(caller: SessionActor, target: string, adminToken: string | undefined): Promise<{ ended: boolean; deferred: boolean }> {
    if (target === caller.id || target === caller.record.fingerprint) {
      this.log.info({ session: caller.record.fingerprint }, 'session ending itself');
      return { ended: true, deferred: caller.endSoon('ended by its own request') };
    }
    const admin = this.admins.has(caller) || this.isAdminToken(adminToken);
    if (!admin) {
      this.log.warn({ session: caller.record.fingerprint }, 'refused: ending another session needs the admin token');
      throw Object.assign(new Error('ending another session requires the admin token'), { code: 'FORBIDDEN' });
    }
    const victim = this.sessions.get(target)?.actor ?? [...this.sessions.values()].find((x) => x.actor.record.fingerprint === target)?.actor;
    if (!victim) return { ended: false, deferred: false };
    this.log.info({ audit: 'admin.action', action: 'session.end', session: victim.record.fingerprint, principal: victim.record.principal, by: caller.record.fingerprint, byPrincipal: caller.record.principal }, 'admin action: session ended');
    await victim.end('ended by an admin');
    return { ended: true, deferred: false };
  }

  /** Admin view of every session: fingerprints, never ids. */
  views(): SessionView[] {
    return [...this.sessions.values()].map(({ actor }) => {
      const r = actor.record;
      return {
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
    const { hibernateAfterMs, idleTimeoutMs } = this.config.sessions;
    const now = Date.now();
    let hibernations = 0;
    for (const { actor, sink } of this.sessions.values()) {
      if (!actor.isIdle) continue;
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

  /** Waits until every accepted request is answered, or the timeout. New work is refused meanwhile. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let busy = 0;
      for (const { actor } of this.sessions.values()) if (!actor.isIdle) busy++;
      if (busy === 0) return true;
      if (Date.now() >= deadline) {
        this.log.warn({ busySessions: busy }, 'drain timeout: ending sessions with requests still running');
        return false;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends every session and stops every thread. */
  async close(): Promise<void> {
    this.draining = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.all([...this.sessions.values()].map(({ actor }) => actor.end('server shutting down')));
    await this.supervisor.shutdown();
    await Promise.all([...this.kinds.values()].map((k) => k.close()));
    for (const fn of this.closeHooks) await fn();
    await this.resourceSupervisor.shutdown();
    await this.pool.close();
  }
}
