/**
 * Cluster mode: several nodes form one service through NATS (JetStream).
 *
 * - The directory: which node owns each legacy session and each 2026 state handle, in a KV bucket
 *   (`<name>-owners`). A new actor is registered with a create (fails if the key exists); a node
 *   takes over the actor of a dead owner with an update on the revision it read (compare-and-set:
 *   of nodes racing for one key exactly one wins, the others forward to it).
 * - Records: what brings an actor back on any node (handshake, logging level, subscriptions,
 *   ctx.state, principal) in `<name>-records`, written when it changes. Never credentials: the
 *   private data integrations bind from request headers stays on the node that received them.
 * - Forwarding: a request for an actor owned elsewhere is relayed to its owner (forward.ts).
 *   The owner's death shows at once as "no responders"; the asking node then claims the actor
 *   and revives it from its record.
 * - Events (list changes, resource updates) are published on `<name>.events` for every node.
 * - NATS down: requests that need the directory fail fast (503 + Retry-After); the client
 *   reconnects forever; local actors keep serving; stateless requests do not need NATS at all.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { FromActor } from '../../shared/actor-messages.js';
import { rpcError } from '../../shared/errors.js';
import type { JsonRpcId } from '../../shared/errors.js';
import type { Config } from '../config.js';
import { keyString, type ActorKey } from '../directory.js';
import type { Principal } from '../edge/auth/principal.js';
import type { Logger } from '../observability/log.js';
import type { SessionRecord } from '../sessions/session-record.js';
import { MOVED_HEADER } from './protocol.js';
import { forward, serveForwarded, NodeWatch, OwnerGone, ReplyMux, type ForwardedHandler, type ForwardedRequest } from './forward.js';

export type ClusterConfig = Config['cluster'];
export type ServerEvent = Extract<FromActor, { t: 'event' }>['event'];

const OWNER_CACHE = 50_000;

/** KV keys allow [-/_=.A-Za-z0-9]; ids a client sends that do not fit are never looked up. */
const KEY_RE = /^[-_=A-Za-z0-9]{1,200}$/;

function kvKey(key: ActorKey): string | undefined {
  if (!KEY_RE.test(key.id)) return undefined;
  return `${key.kind === 'handle' ? 'h' : 's'}.${key.id}`;
}

/** A NATS URL without its user:password@ part. */
export function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/** Where a request for an actor this node does not hold goes. */
export type Placement =
  /** This node holds it now (revived from its record, or it was just registered here). */
  | { at: 'here' }
  /** Another node answered it: relay this response. */
  | { at: 'forwarded'; response: Response }
  /** No node owns it: it never existed or has ended. */
  | { at: 'nowhere' };

/** A record as stored: the session record plus its kind. */
export interface StoredRecord {
  v: 1;
  kind: 'session' | 'handle';
  record: SessionRecord;
}

interface Writer {
  /** Returns the record to store (undefined: the actor is gone, stop writing). */
  snapshot: () => SessionRecord | undefined;
  running: boolean;
  dirty: boolean;
  /** Resolved once the changes made so far are stored (or storing them failed once). */
  waiters: Array<() => void>;
}

export interface ForwardInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  principal: Principal | undefined;
  body?: string;
  requestId: JsonRpcId | null | undefined;
  clientGone?: (fn: () => void) => void;
}

export class Cluster {
  readonly nodeId: string;
  private connected = true;
  private readonly writers = new Map<string, Writer>();
  private readonly pending = new Map<string, Promise<Placement | 'again'>>();
  /** Owners of actors held elsewhere, as last seen (bounded; insertion order = age). */
  private readonly ownerCache = new Map<string, string>();
  private subs: Subscription[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** Pings the nodes this one has open exchanges with. */
  private readonly watch: NodeWatch;
  /** The replies of the exchanges this node relays. */
  private readonly mux: ReplyMux;
  /** When this node's NATS connection was re-established (performance.now()). */
  private connectedAt = -Infinity;
  /** When this node last said it is alive (performance.now()). */
  private lastHeartbeat = performance.now();
  private closing = false;
  /** Events other nodes published. */
  onEvent: ((event: ServerEvent) => void) | undefined;
  /** An actor held here was taken over by another node (while this one could not reach NATS). */
  onLost: ((key: ActorKey) => void) | undefined;

  private constructor(
    readonly config: ClusterConfig,
    private readonly nc: NatsConnection,
    private readonly owners: KV,
    private readonly records: KV,
    private readonly settings: KV,
    /** Each node's heartbeat: the time it last said it is alive. */
    private readonly nodes: KV,
    private readonly log: Logger,
    private readonly http: { maxBufferedBytes: number; onDropped: () => void },
  ) {
    this.nodeId = config.nodeId ?? `n-${randomBytes(6).toString('hex')}`;
    this.watch = new NodeWatch(nc, (node) => this.subject(node, 'ping'), config.pingMs);
    this.mux = new ReplyMux(nc, this.inboxPrefix);
    void this.watchStatus();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch(() => {}), Math.max(100, Math.floor(config.nodeTimeoutMs / 3)));
    this.heartbeatTimer.unref();
  }

  static async connect(config: Config, log: Logger, http: { maxBufferedBytes: number; onDropped: () => void }): Promise<Cluster> {
    const c = config.cluster;
    const opts: ConnectionOptions = {
      servers: c.servers,
      name: `mcp-actors ${c.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: c.connectTimeoutMs,
      pingInterval: 10_000,
      inboxPrefix: `_INBOX_${c.name}`,
    };
    if (c.user !== undefined) {
      opts.user = c.user;
      opts.pass = c.password;
    }
    if (c.token !== undefined) opts.token = c.token;
    if (c.credsFile !== undefined) opts.authenticator = credsAuthenticator(readFileSync(c.credsFile));
    if (c.nkeySeedFile !== undefined) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(c.nkeySeedFile, 'utf8').trim()));
    if (c.tls) opts.tls = { ...(c.tls.caFile && { caFile: c.tls.caFile }), ...(c.tls.certFile && { certFile: c.tls.certFile }), ...(c.tls.keyFile && { keyFile: c.tls.keyFile }) };
    // Never the credentials (a URL may carry user:password@): logs and errors name hosts only.
    const where = c.servers.map(withoutCredentials).join(', ');
    let nc: NatsConnection;
    try {
      nc = await connect(opts);
    } catch (err) {
      throw new Error(`cluster: cannot connect to NATS at ${where}: ${(err as Error).message}`);
    }
    const kvm = new Kvm(jetstream(nc, { timeout: c.directoryTimeoutMs }));
    const ttl = config.cluster.recordTtlMs;
    try {
      const owners = await kvm.create(`${c.name}-owners`, { history: 1, ttl });
      const records = await kvm.create(`${c.name}-records`, { history: 1, ttl });
      const settings = await kvm.create(`${c.name}-settings`, { history: 1 });
      const nodes = await kvm.create(`${c.name}-nodes`, { history: 1, ttl: Math.max(60_000, 10 * c.nodeTimeoutMs) });
      const cl = new Cluster(c, nc, owners, records, settings, nodes, log, http);
      await cl.heartbeat();
      log.info({ node: cl.nodeId, cluster: c.name, servers: where }, 'joined the cluster');
      return cl;
    } catch (err) {
      await nc.close().catch(() => {});
      throw new Error(`cluster: the KV buckets of cluster ${c.name} are not usable on NATS at ${where} (is JetStream on, nats-server -js? does the user have the permissions of \`mcp-actors cluster-permissions\`?): ${(err as Error).message}`);
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'error') {
        // e.g. a permissions violation: the node's NATS user lacks what `mcp-actors cluster-permissions` lists.
        this.log.error({ node: this.nodeId, err: (s as { error?: Error }).error?.message }, 'cluster: NATS reported an error');
      } else if (s.type === 'disconnect') {
        this.connected = false;
        this.log.warn({ node: this.nodeId }, 'cluster: NATS connection lost; reconnecting');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.connectedAt = performance.now();
        void this.heartbeat().catch(() => {});
        this.log.info({ node: this.nodeId }, 'cluster: NATS connection back');
        void this.verifyOwnership().then(() => {
          for (const [k, w] of this.writers) if (w.dirty) void this.write(k, w);
        });
      }
    }
  }

  get available(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  private get inboxPrefix(): string {
    return `_INBOX_${this.config.name}`;
  }

  private subject(node: string, what: 'http' | 'ping' | 'cancel'): string {
    return `${this.config.name}.node.${node}.${what}`;
  }

  /** Says this node is alive. */
  async heartbeat(): Promise<void> {
    if (this.closing) return;
    await this.nodes.put(this.nodeId, String(Date.now()));
    const silent = performance.now() - this.lastHeartbeat;
    this.lastHeartbeat = performance.now();
    // Silent too long (a stalled event loop): others may have taken actors over meanwhile.
    if (silent > this.config.nodeTimeoutMs) {
      this.log.warn({ node: this.nodeId, silentMs: Math.round(silent) }, 'cluster: this node could not say it is alive in time; checking which actors are still its own');
      await this.verifyOwnership();
    }
  }

  /**
   * Whether a node that did not answer is gone, not just reconnecting: no heartbeat for
   * nodeTimeoutMs. Right after this node (re)connected it judges no one (the others may still be
   * reconnecting, their heartbeats expired while NATS was down).
   */
  private async gone(node: string): Promise<boolean> {
    if (performance.now() - this.connectedAt < 2 * this.config.nodeTimeoutMs) return false;
    const entry = await this.nodes.get(node);
    if (!entry || entry.operation !== 'PUT') return true;
    return Date.now() - Number(entry.string()) > this.config.nodeTimeoutMs;
  }

  /** A secret every node shares (the first node to ask mints it). */
  async sharedSecret(name: string): Promise<string> {
    const key = `secret.${name}`;
    const existing = await this.settings.get(key);
    if (existing && existing.operation === 'PUT') return existing.string();
    try {
      await this.settings.create(key, randomBytes(32).toString('base64url'));
    } catch {
      // another node created it first
    }
    const entry = await this.settings.get(key);
    if (!entry) throw new Error(`cluster: the shared ${name} could not be read back`);
    return entry.string();
  }

  /** Serves the requests other nodes forward here, and delivers the events they publish to onEvent. */
  serve(handler: ForwardedHandler): void {
    this.subs.push(...serveForwarded(this.nc, this.subject(this.nodeId, 'http'), this.subject(this.nodeId, 'ping'), this.subject(this.nodeId, 'cancel'), handler, this.watch, this.log));
    this.subs.push(
      this.nc.subscribe(`${this.config.name}.events`, {
        callback: (err, msg) => {
          if (err) return;
          try {
            const m = msg.json<{ from: string; event: ServerEvent }>();
            if (m.from !== this.nodeId) this.onEvent?.(m.event);
          } catch (e) {
            this.log.warn({ err: (e as Error).message }, 'cluster: an unreadable event was ignored');
          }
        },
      }),
    );
    if (this.config.recordTtlMs > 0) {
      this.refreshTimer = setInterval(() => this.refresh(), Math.max(1_000, this.config.recordTtlMs / 3));
      this.refreshTimer.unref();
    }
  }

  publishEvent(event: ServerEvent): void {
    if (!this.available) return;
    this.nc.publish(`${this.config.name}.events`, JSON.stringify({ from: this.nodeId, event }));
  }

  /**
   * A new actor made here: this node owns it from now on. Resolves once the directory says so
   * (the actor's first answer waits for it, so its id never reaches a client before any node can find it).
   */
  async register(key: ActorKey, snapshot: () => SessionRecord | undefined): Promise<void> {
    const k = kvKey(key);
    if (!k) throw new Error('an actor id that is not a valid directory key');
    await this.owners.create(k, this.nodeId);
    await this.hold(key, snapshot);
  }

  /** This node holds the actor: its record is written now and whenever `changed` is called for it. */
  hold(key: ActorKey, snapshot: () => SessionRecord | undefined): Promise<void> {
    const k = kvKey(key);
    if (!k) return Promise.resolve();
    const w: Writer = { snapshot, running: false, dirty: true, waiters: [] };
    this.writers.set(k, w);
    return this.write(k, w);
  }

  /**
   * The actor's record changed: store it (coalesced: at most one write in flight per actor).
   * Resolves once stored — the actor holds the answer of the request that changed it until then,
   * so an answered change survives the node's death — or once storing it failed (NATS down: the
   * actor keeps serving; the record is written on reconnect).
   */
  changed(key: ActorKey): Promise<void> | undefined {
    const k = kvKey(key);
    const w = k ? this.writers.get(k) : undefined;
    if (!k || !w) return undefined;
    w.dirty = true;
    const stored = new Promise<void>((resolve) => w.waiters.push(resolve));
    void this.write(k, w);
    return stored;
  }

  private async write(k: string, w: Writer): Promise<void> {
    if (w.running) return;
    w.running = true;
    let failures = 0;
    try {
      while (w.dirty) {
        w.dirty = false;
        const waiting = w.waiters;
        w.waiters = [];
        const record = w.snapshot();
        if (!record || this.writers.get(k) !== w) return;
        const stored: StoredRecord = { v: 1, kind: k.startsWith('h.') ? 'handle' : 'session', record };
        try {
          await this.records.put(k, JSON.stringify(stored));
        } catch (err) {
          w.dirty = true;
          if (!this.available || this.closing) return; // written again on reconnect
          if (++failures >= 3) {
            // Not a passing outage (e.g. a record larger than max_payload): the next change tries again.
            this.log.error({ err: (err as Error).message, bytes: JSON.stringify(stored).length }, 'cluster: an actor record could not be stored; another node taking the actor over would get an older one');
            return;
          }
          this.log.warn({ err: (err as Error).message }, 'cluster: writing a record failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          for (const resolve of waiting) resolve();
        }
      }
    } finally {
      w.running = false;
      const left = w.waiters;
      w.waiters = [];
      for (const resolve of left) resolve();
    }
  }

  /**
   * Re-writes the owner entries and records of the actors held here, so the buckets' TTL does not
   * expire them — only where this node is still the owner (compare-and-set on the entry read).
   */
  private refresh(): void {
    if (!this.available) return;
    for (const [k, w] of this.writers) {
      void (async () => {
        const entry = await this.owners.get(k);
        if (entry?.operation !== 'PUT' || entry.string() !== this.nodeId) return;
        await this.owners.update(k, this.nodeId, entry.revision);
        w.dirty = true;
        await this.write(k, w);
      })().catch(() => {});
    }
  }

  /**
   * After a lost connection: the actors held here that another node took over meanwhile (it saw
   * this node as gone) are given up here — `lost` ends them locally, their records untouched.
   */
  private async verifyOwnership(): Promise<void> {
    for (const k of [...this.writers.keys()]) {
      try {
        const entry = await this.owners.get(k);
        if (entry?.operation === 'PUT' && entry.string() === this.nodeId) continue;
        const kind = k.startsWith('h.') ? 'handle' : 'session';
        this.writers.delete(k);
        this.log.warn({ node: this.nodeId, kind }, 'cluster: another node took over an actor held here while NATS was unreachable; giving it up');
        this.onLost?.({ kind, id: k.slice(2) });
      } catch {
        return; // the connection went again: checked on the next reconnect
      }
    }
  }

  /**
   * The actor ended for good (DELETE, idle timeout…): out of the directory. When the node is only
   * shutting down, the actor is not over: its entries stay for another node to take over.
   */
  ended(key: ActorKey, nodeShuttingDown: boolean): void {
    const k = kvKey(key);
    if (!k) return;
    const w = this.writers.get(k);
    if (!w) return; // not (or no longer) this node's to remove
    this.writers.delete(k);
    if (nodeShuttingDown) return; // leave() stored its record; another node takes it over
    void (async () => {
      try {
        await this.records.delete(k);
        await this.owners.delete(k);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'cluster: removing an ended actor from the directory failed (it expires with the TTL)');
      }
    })();
  }

  /**
   * Where a request for an actor this node does not hold goes: relayed to its owner, or — the
   * owner gone, or the actor this node's from before — revived here from its record. `adopt`
   * revives it (throws when this node cannot take it); `relay` forwards to a node.
   * Requests for one key arriving together share one takeover; each is relayed on its own.
   */
  async place(key: ActorKey, adopt: (stored: StoredRecord) => void, relay: (node: string) => Promise<Response>, hop: number): Promise<Placement> {
    const k = kvKey(key);
    if (!k) return { at: 'nowhere' };
    if (!this.available) throw rpcError('CLUSTER_UNAVAILABLE');
    // The owner this node relayed to last: no directory read while it still holds the actor.
    const cached = hop === 0 ? this.ownerCache.get(k) : undefined;
    if (cached !== undefined) {
      try {
        const response = await relay(cached);
        if (response.status === 404) this.ownerCache.delete(k);
        if (!(response.status === 503 && response.headers.has(MOVED_HEADER))) return { at: 'forwarded', response };
      } catch (err) {
        if (!(err instanceof OwnerGone)) throw err;
      }
      // Gone, or not its owner any more (it refused the request unserved): ask the directory.
      this.ownerCache.delete(k);
    }
    for (let attempt = 0; attempt < 4; attempt++) {
      let entry;
      try {
        entry = await this.owners.get(k);
      } catch (err) {
        throw rpcError('CLUSTER_UNAVAILABLE', (err as Error).message);
      }
      if (!entry || entry.operation !== 'PUT') return { at: 'nowhere' };
      const owner = entry.string();
      if (owner !== this.nodeId) this.remember(k, owner);
      let placed: Placement | 'again';
      if (owner === this.nodeId) {
        placed = await this.once(key, () => this.revive(k, key, adopt));
      } else {
        if (hop > 0) throw rpcError('ACTOR_MOVED');
        try {
          return { at: 'forwarded', response: await relay(owner) };
        } catch (err) {
          if (!(err instanceof OwnerGone)) throw err;
        }
        let gone;
        try {
          gone = await this.gone(owner);
        } catch (err) {
          throw rpcError('CLUSTER_UNAVAILABLE', (err as Error).message);
        }
        if (!gone) throw rpcError('CLUSTER_UNAVAILABLE', 'the node holding this actor does not answer right now; retry');
        const revision = entry.revision;
        placed = await this.once(key, async () => {
          // The owner is gone: take the actor over, unless another node did first.
          try {
            await this.owners.update(k, this.nodeId, revision);
          } catch {
            return 'again'; // lost the race (or the entry changed): look again
          }
          this.log.info({ node: this.nodeId, from: owner, kind: key.kind }, 'cluster: took over an actor whose node is gone');
          return this.revive(k, key, adopt);
        });
      }
      if (placed !== 'again') return placed;
    }
    throw rpcError('CLUSTER_UNAVAILABLE', 'the directory kept changing while this request looked for its actor; retry');
  }

  private remember(k: string, owner: string): void {
    this.ownerCache.delete(k);
    this.ownerCache.set(k, owner);
    if (this.ownerCache.size > OWNER_CACHE) this.ownerCache.delete(this.ownerCache.keys().next().value!);
  }

  /** Runs `fn` once for concurrent callers about one key. */
  private once(key: ActorKey, fn: () => Promise<Placement | 'again'>): Promise<Placement | 'again'> {
    const ks = keyString(key);
    const running = this.pending.get(ks);
    if (running) return running;
    const p = fn().finally(() => this.pending.delete(ks));
    this.pending.set(ks, p);
    return p;
  }

  private async revive(k: string, key: ActorKey, adopt: (stored: StoredRecord) => void): Promise<Placement> {
    let stored;
    try {
      stored = await this.records.get(k);
    } catch (err) {
      throw rpcError('CLUSTER_UNAVAILABLE', (err as Error).message);
    }
    if (!stored || stored.operation !== 'PUT') {
      await this.owners.delete(k).catch(() => {});
      return { at: 'nowhere' };
    }
    const data = stored.json<StoredRecord>();
    if (data.v !== 1 || data.kind !== key.kind || data.record.id !== key.id) return { at: 'nowhere' };
    adopt(data);
    return { at: 'here' };
  }

  /** Relays a request to `node` (rejects with OwnerGone when nobody answers there). */
  forward(node: string, input: ForwardInput): Promise<Response> {
    const body = input.body;
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    if (body !== undefined && Buffer.byteLength(body) > max - 64 * 1024) {
      throw rpcError('BODY_TOO_LARGE_TO_FORWARD', `at most ${max - 64 * 1024} bytes can be forwarded (the NATS server's max_payload is ${max})`);
    }
    const req: Omit<ForwardedRequest, 'c'> = { n: this.nodeId, m: input.method, p: input.path, h: input.headers, ...(input.principal && { pr: input.principal }), ...(body !== undefined && { b: body }) };
    return forward(req, {
      nc: this.nc,
      mux: this.mux,
      subject: this.subject(node, 'http'),
      cancelSubject: this.subject(node, 'cancel'),
      node,
      watch: this.watch,
      log: this.log,
      maxBufferedBytes: this.http.maxBufferedBytes,
      onDropped: this.http.onDropped,
      requestId: input.requestId,
      clientGone: input.clientGone,
    });
  }

  /**
   * Stops taking forwarded requests (other nodes then see this one as gone and take its actors
   * over) and stores what has not been written yet. The actors stay in the directory.
   */
  async leave(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.refreshTimer);
    clearInterval(this.heartbeatTimer);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    if (!this.available) return;
    await Promise.all(
      [...this.writers].map(async ([k, w]) => {
        const record = w.snapshot();
        if (record) await this.records.put(k, JSON.stringify({ v: 1, kind: k.startsWith('h.') ? 'handle' : 'session', record })).catch(() => {});
      }),
    );
    // Gone from here on: others take this node's actors over without waiting for its heartbeat to age.
    await this.nodes.delete(this.nodeId).catch(() => {});
    await this.nc.flush().catch(() => {});
  }

  /** Leaves the cluster and closes the connection. */
  async close(): Promise<void> {
    await this.leave();
    this.writers.clear();
    this.mux.close();
    await this.nc.drain().catch(() => {});
  }
}
