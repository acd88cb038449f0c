/**
 * Prometheus metrics (prom-client), one registry per runtime. Labels are bounded: tool names
 * come only from the tools the toolsets registered, never from what a client sent.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Live values the metrics read at scrape time. */
export interface PoolSnapshot {
  kind: string;
  instances: number;
  idle: number;
  leases: number;
  waiting: number;
}

export interface MetricSources {
  pools(): PoolSnapshot[];
  sessionCounts(): Record<string, number>;
  queued(): number;
  threads(): number;
  /** The stateless pool: threads, requests running and waiting. */
  stateless(): { threads: number; running: number; queued: number };
  handles(): number;
  subscriptions(): number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly sessions: Gauge<'state'>;
  readonly restarts: Counter<'reason'>;
  readonly threadExits: Counter<'reason'>;
  readonly mailboxQueued: Gauge;
  readonly mailboxRejected: Counter;
  readonly requestDuration: Histogram<'method' | 'tool' | 'outcome'>;
  readonly deadlines: Counter<'method' | 'tool'>;
  readonly actorStarts: Counter<'kind'>;
  readonly warmPool: Gauge<'kind'>;
  readonly actorBoots: Histogram<'boot'>;
  readonly sessionsCreated: Counter;
  readonly sessionsEnded: Counter<'reason'>;
  readonly httpRejected: Counter<'status' | 'code'>;
  readonly sseDropped: Counter;
  readonly forwarded: Counter<'outcome'>;
  readonly threads: Gauge;
  readonly poolLeases: Gauge<'kind'>;
  readonly poolInstances: Gauge<'kind' | 'state'>;
  readonly poolWaiting: Gauge<'kind'>;
  readonly poolEvents: Counter<'kind' | 'event'>;
  readonly leaseWait: Histogram<'kind'>;
  readonly stateless: Gauge<'kind'>;
  readonly statelessRejected: Counter;
  readonly statelessReplaced: Counter<'reason'>;
  readonly handles: Gauge;
  readonly handlesCreated: Counter;
  readonly subscriptions: Gauge;
  readonly events: Counter<'kind'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // The conventional process_* and nodejs_* names, so standard dashboards and alerts match.
    collectDefaultMetrics({ register: this.registry });
    this.sessions = new Gauge({
      name: 'mcp_actors_sessions',
      help: 'Sessions by state (active = holds a thread; hibernated = record only)',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(sources.sessionCounts())) this.set({ state }, n);
      },
    });
    this.restarts = new Counter({ name: 'mcp_actors_actor_restarts_total', help: 'Session actor restarts, by the reason the thread died', labelNames: ['reason'], registers });
    this.threadExits = new Counter({ name: 'mcp_actors_actor_exits_total', help: 'Session actor thread exits, by reason (normal = hibernated or ended)', labelNames: ['reason'], registers });
    this.mailboxQueued = new Gauge({
      name: 'mcp_actors_mailbox_queued',
      help: 'Requests waiting in session mailboxes (all sessions)',
      registers,
      collect() {
        this.set(sources.queued());
      },
    });
    this.mailboxRejected = new Counter({ name: 'mcp_actors_mailbox_rejected_total', help: 'Requests refused because their session mailbox was full', registers });
    this.requestDuration = new Histogram({
      name: 'mcp_actors_request_duration_seconds',
      help: 'Time from accepting a request to answering it, by method, tool and outcome',
      labelNames: ['method', 'tool', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.deadlines = new Counter({ name: 'mcp_actors_deadline_expired_total', help: 'Requests whose deadline passed', labelNames: ['method', 'tool'], registers });
    this.actorStarts = new Counter({ name: 'mcp_actors_actor_starts_total', help: 'Session actor threads bound to a session, warm (from the pool) or cold', labelNames: ['kind'], registers });
    this.actorBoots = new Histogram({
      name: 'mcp_actors_actor_boot_seconds',
      help: 'Time from spawning a session actor thread to its ready message, by how it booted (graph: module graph; used/missing/rejected/off: worker bundle, code cache)',
      labelNames: ['boot'],
      buckets: [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
      registers,
    });
    this.warmPool = new Gauge({ name: 'mcp_actors_warm_pool', help: 'Warm pool of spare session actor threads', labelNames: ['kind'], registers });
    this.sessionsCreated = new Counter({ name: 'mcp_actors_sessions_created_total', help: 'Sessions initialized', registers });
    this.sessionsEnded = new Counter({ name: 'mcp_actors_sessions_ended_total', help: 'Sessions ended, by reason', labelNames: ['reason'], registers });
    this.threads = new Gauge({
      name: 'mcp_actors_actor_threads',
      help: 'Session actor threads alive (bound, spare or booting)',
      registers,
      collect() {
        this.set(sources.threads());
      },
    });
    this.poolLeases = new Gauge({
      name: 'mcp_actors_pool_leases',
      help: 'Leases held on resource actors, by resource kind',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const p of sources.pools()) this.set({ kind: p.kind }, p.leases);
      },
    });
    this.poolInstances = new Gauge({
      name: 'mcp_actors_pool_instances',
      help: 'Resource actor instances, by kind and state (leased or idle)',
      labelNames: ['kind', 'state'],
      registers,
      collect() {
        for (const p of sources.pools()) {
          this.set({ kind: p.kind, state: 'idle' }, p.idle);
          this.set({ kind: p.kind, state: 'leased' }, p.instances - p.idle);
        }
      },
    });
    this.poolWaiting = new Gauge({
      name: 'mcp_actors_pool_waiting',
      help: 'Lease requests waiting for an instance, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const p of sources.pools()) this.set({ kind: p.kind }, p.waiting);
      },
    });
    this.poolEvents = new Counter({
      name: 'mcp_actors_pool_events_total',
      help: 'Pool events by kind: granted, timeout (lease wait deadline), lost (instance died), created, destroyed',
      labelNames: ['kind', 'event'],
      registers,
    });
    this.leaseWait = new Histogram({
      name: 'mcp_actors_lease_wait_seconds',
      help: 'Time from asking for a lease to getting it, by kind',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60],
      registers,
    });
    this.httpRejected = new Counter({ name: 'mcp_actors_http_rejected_total', help: 'HTTP requests refused by the edge, by status and error code', labelNames: ['status', 'code'], registers });
    this.stateless = new Gauge({
      name: 'mcp_actors_stateless',
      help: 'The stateless pool (MCP 2026-07-28 requests without a handle): threads, requests running, requests waiting for a thread',
      labelNames: ['kind'],
      registers,
      collect() {
        const s = sources.stateless();
        this.set({ kind: 'threads' }, s.threads);
        this.set({ kind: 'running' }, s.running);
        this.set({ kind: 'queued' }, s.queued);
      },
    });
    this.statelessRejected = new Counter({ name: 'mcp_actors_stateless_rejected_total', help: 'Stateless requests refused (503) because the pool\'s queue was full', registers });
    this.statelessReplaced = new Counter({ name: 'mcp_actors_stateless_thread_exits_total', help: 'Stateless pool threads that ended and were replaced, by reason (killed = a request did not yield)', labelNames: ['reason'], registers });
    this.handles = new Gauge({
      name: 'mcp_actors_handles',
      help: 'Open MCP 2026-07-28 state handles (live and hibernated)',
      registers,
      collect() {
        this.set(sources.handles());
      },
    });
    this.handlesCreated = new Counter({ name: 'mcp_actors_handles_created_total', help: 'State handles created', registers });
    this.subscriptions = new Gauge({
      name: 'mcp_actors_subscriptions',
      help: 'Open subscriptions/listen streams',
      registers,
      collect() {
        this.set(sources.subscriptions());
      },
    });
    this.events = new Counter({ name: 'mcp_actors_events_published_total', help: 'Server events (list changes, resource updates) published by actors', labelNames: ['kind'], registers });
    this.forwarded = new Counter({ name: 'mcp_actors_cluster_forwarded_total', help: 'Requests relayed to the node that owns their session or handle, by the HTTP status of the answer', labelNames: ['outcome'], registers });
    this.sseDropped = new Counter({ name: 'mcp_actors_sse_streams_dropped_total', help: 'SSE streams dropped because their client left sseMaxBufferedBytes unread', registers });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
