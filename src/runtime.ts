/**
 * The runtime both edges (HTTP and stdio) sit on: the session registry, the session supervisor,
 * the warm pool of actor threads, deadlines and metrics. The main thread's share of the work is
 * routing; everything MCP happens in the actor threads.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ActorThread, actorEnv } from './actors/actor-thread.js';
import type { ActorBootData } from './actors/messages.js';
import { SessionActor, type SessionObserver, type SessionPhase, type SessionSink } from './actors/session-actor.js';
import { newSessionRecord, type SessionRecord } from './actors/session-record.js';
import { WarmPool } from './actors/warm-pool.js';
import type { Config } from './config.js';
import type { Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import type { ParsedRequest } from './protocol/jsonrpc.js';
import { Supervisor } from './supervision/supervisor.js';
import { resolveToolsets } from './toolsets/resolve.js';

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

export interface Session<S extends SessionSink = SessionSink> {
  actor: SessionActor;
  sink: S;
}

export interface CreateSessionOptions {
  clientIp?: string;
  principal?: string;
}

export class Runtime {
  readonly metrics: Metrics;
  readonly supervisor: Supervisor;
  readonly pool: WarmPool;
  readonly startedAt = Date.now();
  private readonly sessions = new Map<string, Session>();
  private readonly phaseCounts: Record<SessionPhase, number> = { idle: 0, starting: 0, active: 0, restarting: 0, stopping: 0, ended: 0 };
  private toolIndex: Record<string, string> = {};
  private readonly boot: ActorBootData;
  private readonly observer: SessionObserver;
  draining = false;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    toolsetSpecs: string[],
  ) {
    this.metrics = new Metrics({
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
      log,
      spawn: () => {
        const t = new ActorThread(SESSION_WORKER, this.boot, { heapLimitMb: s.heapLimitMb, env });
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
    await rt.pool.start();
    return rt;
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
    const s = this.config.sessions;
    const actor = new SessionActor(record, sink, {
      limits: {
        mailboxDepth: s.mailboxDepth,
        deadlineGraceMs: s.deadlineGraceMs,
        shutdownTimeoutMs: s.shutdownTimeoutMs,
        restartIntensity: s.restartIntensity,
        bindTimeoutMs: 30_000,
      },
      acquireThread: async () => {
        const before = this.pool.stats().coldStarts;
        const t = await this.pool.acquire();
        this.metrics.actorStarts.inc({ kind: this.pool.stats().coldStarts > before ? 'cold' : 'warm' });
        return t;
      },
      supervisor: this.supervisor,
      deadlineFor: (m) => this.deadlineFor(m),
      log: this.log,
      observer: this.observer,
      onEnded: (a, reason) => this.forget(a, reason),
    });
    this.phaseCounts.idle++;
    const session: Session<S> = { actor, sink };
    this.sessions.set(record.id, session);
    this.metrics.sessionsCreated.inc();
    this.log.info({ session: record.fingerprint, clientIp: opts.clientIp }, 'session created');
    return session;
  }

  private forget(actor: SessionActor, reason: string): void {
    if (this.sessions.get(actor.id)?.actor !== actor) return;
    this.sessions.delete(actor.id);
    this.phaseCounts.ended--;
    this.metrics.sessionsEnded.inc({ reason: reason.split(/[ :(]/)[0] ?? 'ended' });
    this.log.info({ session: actor.record.fingerprint, reason }, 'session ended');
  }

  /** Ends every session and stops every thread. */
  async close(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.sessions.values()].map(({ actor }) => actor.end('server shutting down')));
    await this.supervisor.shutdown();
    await this.pool.close();
  }
}
