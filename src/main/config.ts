/**
 * One typed configuration schema with defaults, validated at start.
 *
 * Precedence: CLI flags > environment (HOST, PORT, MCP_TOOLSETS, …) > config file (--config or
 * MCP_ACTORS_CONFIG, JSON) > defaults. Every knob is documented in the README's config table,
 * which `test/config.test.ts` checks against this schema.
 */
import { ConfigError } from '../shared/errors.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ccxtConfigSchema, configFileProblem } from '../integrations/ccxt/shared/config.js';
import { cuaSchema } from '../integrations/cua/shared/config.js';

const ms = (def: number) => z.number().int().min(0).default(def);
const positive = (def: number) => z.number().int().min(1).default(def);

export const restartIntensitySchema = z
  .object({
    /** At most this many restarts… */
    maxRestarts: z.number().int().min(0).default(5),
    /** …within this many milliseconds; past it the child is given up. */
    periodMs: positive(60_000),
  })
  .strict();

export const backoffSchema = z
  .object({
    /** Delay before the first restart; it doubles with each further restart in the window… */
    baseMs: ms(50),
    /** …up to this. */
    maxMs: ms(5_000),
    /** Fraction of the delay randomised (0 = none, 1 = full jitter). */
    jitter: z.number().min(0).max(1).default(0.5),
  })
  .strict();

/** Per-principal limits, enforced at the edge for authenticated principals (anonymous loopback traffic has none). */
export const principalLimitsSchema = z
  .object({
    /** Sessions a principal may hold open at once; initialize beyond it gets 429. */
    maxSessions: positive(64),
    /** Token bucket: sustained POST/GET requests per second… */
    requestsPerSecond: z.number().positive().default(50),
    /** …and the burst the bucket holds. */
    burst: positive(100),
    /** JSON-RPC requests of a principal being worked on at once (across its sessions). */
    maxInFlight: positive(32),
  })
  .strict();

export const ROLES = ['admin'] as const;

export const staticTokenSchema = z
  .object({
    /** The bearer token (at least 16 characters; compared in constant time, never logged). */
    token: z.string().min(16).max(4096).regex(/^[\x21-\x7e]+$/, 'visible ASCII only'),
    /** Who the token belongs to: sessions are bound to it, limits are counted per principal. */
    principal: z.string().min(1).max(128).regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters'),
    /** "admin": may list sessions (/sessions) and end other principals' sessions. */
    roles: z.array(z.enum(ROLES)).default([]),
    /** Overrides of auth.limits for this principal. */
    limits: principalLimitsSchema.partial().optional(),
  })
  .strict();

export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export const oauthSchema = z
  .object({
    /** The authorization server's issuer identifier; tokens' `iss` must equal it. */
    issuer: z.url(),
    /** Where its JSON Web Key Set is fetched (cached, refetched on an unknown `kid` at most every 30 s)… */
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    /** …or a key set given inline (offline deployments, tests). Exactly one of the two. */
    jwks: z
      .object({
        /** Public JWKs (RFC 7517), each with its kid. */
        keys: z.array(z.record(z.string(), z.unknown())).min(1),
      })
      .optional(),
    /** Accepted `aud` values; defaults to auth.resource (the MCP spec: tokens must be issued for this server). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Scopes every token must carry (403 insufficient_scope otherwise). */
    requiredScopes: z.array(z.string().min(1)).default([]),
    /** A token carrying this scope acts with the admin role. */
    adminScope: z.string().min(1).optional(),
    /** The claim naming the principal. */
    principalClaim: z.string().min(1).default('sub'),
    /** Accepted signature algorithms (asymmetric only by default; "none" is never accepted). */
    algorithms: z.array(z.string().min(1)).min(1).default(DEFAULT_JWT_ALGORITHMS),
    /** Leeway for exp/nbf/iat against clock skew between this server and the issuer. */
    clockToleranceSeconds: z.number().int().min(0).max(600).default(30),
    /** Advertised in the protected-resource metadata; defaults to [issuer]. */
    authorizationServers: z.array(z.url()).optional(),
    /** How long fetching the JWKS may take; past it requests get 503 (not 401) with Retry-After. */
    jwksTimeoutMs: positive(5_000),
  })
  .strict();

export const authSchema = z
  .object({
    /** Static bearer tokens (also env MCP_ACTORS_TOKENS). */
    tokens: z.array(staticTokenSchema).default([]),
    /** OAuth 2.1 resource-server mode: JWT access tokens checked against the issuer's keys. */
    oauth: oauthSchema.optional(),
    /** This server's canonical resource URI (the MCP endpoint's public URL), for metadata and the default audience. */
    resource: z.url({ protocol: /^https?$/ }).optional(),
    /** Advertised in the protected-resource metadata and in 401 challenges. */
    scopesSupported: z.array(z.string().min(1)).default([]),
    /**
     * Serve without authentication on a non-loopback address. Only for a deployment where
     * something in front (a reverse proxy, a service mesh) authenticates every request.
     */
    allowUnauthenticatedRemote: z.boolean().default(false),
    /** Limits of every authenticated principal (a token's own `limits` override them). */
    limits: principalLimitsSchema.prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    /** Address to listen on (flag --host, env HOST). Anything but loopback requires authentication. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on, 0 = any free port (flag --port, env PORT). */
    port: z.number().int().min(0).max(65535).default(3000),
    /** Built-in toolset names or paths to toolset modules. */
    toolsets: z.array(z.string().min(1)).min(1).default(['everything']),
    /** Per-toolset configuration, keyed by toolset name; a toolset sees its own section as ctx.config. */
    toolsetConfig: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Log level of the JSON lines on stderr (env LOG_LEVEL). */
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

    http: z
      .object({
        /** The MCP endpoint's path. */
        path: z.string().startsWith('/').default('/mcp'),
        /** Largest request body; beyond it 413. */
        maxBodyBytes: positive(4 * 1024 * 1024),
        /** Deepest JSON nesting accepted in a body; beyond it 400 (checked before parsing). */
        maxJsonDepth: positive(64),
        /** Host header values accepted besides loopback names (with or without port). */
        allowedHosts: z.array(z.string()).default([]),
        /** Origin values accepted besides loopback origins. */
        allowedOrigins: z.array(z.string()).default([]),
        /** Idle SSE streams get a comment line this often. */
        sseKeepAliveMs: positive(15_000),
        /** The `retry:` hint sent with priming events (how soon a client should reconnect). */
        sseRetryMs: positive(1_000),
        /** Events kept per session for Last-Event-ID resumption. */
        eventStoreMaxEvents: positive(1_000),
        /** …and at most this many bytes of them; the oldest are evicted first. */
        eventStoreMaxBytes: positive(4 * 1024 * 1024),
        /** Seconds a client is told to wait (Retry-After) when the server is full or draining. */
        retryAfterSeconds: positive(5),
        /** A request's headers must arrive within this (slowloris); Node answers 408 and closes. */
        headersTimeoutMs: positive(10_000),
        /** A whole request (headers and body) must arrive within this; the response may take longer. */
        requestTimeoutMs: positive(30_000),
        /** Largest request head (request line and headers); beyond it Node answers 431. */
        maxHeaderBytes: z.number().int().min(1024).default(16 * 1024),
        /** Open SSE streams per session (POST streams, the GET stream, resumed streams); a GET beyond it gets 429. */
        maxSseStreamsPerSession: positive(8),
        /**
         * Unread bytes one SSE stream may hold on the server before it is dropped (a slow or absent
         * reader; the client resumes with Last-Event-ID from the event store). Bounds the memory
         * every open stream can cost.
         */
        sseMaxBufferedBytes: positive(8 * 1024 * 1024),
      })
      .strict()
      .prefault({}),

    sessions: z
      .object({
        /** Open sessions (live and hibernated); beyond it initialize gets 503 with Retry-After. */
        maxSessions: positive(10_000),
        /** A session idle this long has its thread stopped (its record stays; 0 = never). */
        hibernateAfterMs: ms(60_000),
        /** A session idle this long ends (404 afterwards; 0 = never). */
        idleTimeoutMs: ms(30 * 60_000),
        /**
         * Answer initialize from the toolsets' capabilities (probed from a real actor at start) and
         * start the session's actor on its first real request, replaying the handshake.
         */
        lazyActivation: z.boolean().default(true),
        /** Requests queued behind the running one; beyond it a request is answered "session busy". */
        mailboxDepth: positive(256),
        /** Default deadline of every request. */
        requestTimeoutMs: positive(15_000),
        /** After a deadline, how long a handler has to yield before its thread is terminated. */
        deadlineGraceMs: positive(2_000),
        /** Deadline overrides by tool name, then by toolset name. */
        toolTimeoutsMs: z.record(z.string(), positive(15_000)).default({}),
        /** Deadline overrides by toolset name (for every tool the toolset registered). */
        toolsetTimeoutsMs: z.record(z.string(), positive(15_000)).default({}),
        /** V8 old-generation heap limit per session actor (worker resourceLimits). */
        heapLimitMb: positive(256),
        /** V8 young-generation size per session actor: small keeps a live actor's memory down (~6 MB less than V8's default). */
        youngGenerationMb: positive(2),
        /**
         * CPU priority (Linux nice, 0–19) of session actor threads, below the edge's: an actor woken
         * by a request then never preempts the one thread that routes every session's traffic
         * (measured: up to 1.7× echo throughput at 20×20). Sessions stay equal among themselves;
         * resource host threads (exchange hosts, computers, and the processes they spawn, e.g. Xvfb)
         * run halfway between, as each serves many sessions. Linux only; 0 = off. On a host shared
         * with other busy processes, consider a lower value.
         */
        actorNice: z.number().int().min(0).max(19).default(19),
        /** Cap on the JSON size of a session's toolset state (ctx.state). */
        stateMaxBytes: positive(64 * 1024),
        restartIntensity: restartIntensitySchema.prefault({}),
        backoff: backoffSchema.prefault({}),
        /** How long a stopping actor may take before it is terminated. */
        shutdownTimeoutMs: positive(2_000),
      })
      .strict()
      .prefault({}),

    /** MCP 2026-07-28 requests that carry no state handle: a pool of long-lived actor threads, each serving many requests at once. */
    stateless: z
      .object({
        /**
         * Threads in the pool at most; 0 = the machine's cores + 2 (so a hung or CPU-bound request
         * leaves room). It starts with one and adds one whenever every thread has a request in flight.
         */
        threads: z.number().int().min(0).max(256).default(0),
        /** Requests one thread runs at once; a CPU-bound request stalls only the others on its thread. */
        concurrency: positive(16),
        /** Requests waiting for a thread; beyond it 503 with Retry-After. */
        maxQueue: z.number().int().min(0).default(1_024),
      })
      .strict()
      .prefault({}),

    /** MCP 2026-07-28 state handles: a handle's actor is a session's in everything but the protocol. */
    handles: z
      .object({
        /** A handle without calls this long ends (its tools then answer "unknown handle"; 0 = never). */
        idleTimeoutMs: ms(30 * 60_000),
      })
      .strict()
      .prefault({}),

    /** MCP 2026-07-28 multi-round-trip requests (input_required). */
    mrtr: z
      .object({
        /**
         * The key requestState is signed with (≥ 32 characters; env MCP_ACTORS_REQUEST_STATE_KEY).
         * Every node of a cluster needs the same one; unset, each start picks a random key (a client
         * mid-round across a restart then starts over).
         */
        requestStateKey: z.string().min(32).optional(),
        /** How long a requestState stays valid. */
        ttlSeconds: z.number().int().min(1).max(3_600).default(300),
      })
      .strict()
      .prefault({}),

    /** MCP 2026-07-28 subscriptions/listen streams. */
    listen: z
      .object({
        /** Open subscriptions/listen streams, server-wide; beyond it the listen request gets an error. */
        maxSubscriptions: positive(1_024),
      })
      .strict()
      .prefault({}),

    /**
     * MCP 2026-07-28 cache hints (ttlMs, cacheScope) per method: server/discover, tools/list,
     * prompts/list, resources/list, resources/templates/list, resources/read. Unset: ttlMs 0,
     * cacheScope private (the SDK's default: clients revalidate).
     */
    cacheHints: z
      .partialRecord(
        z.enum(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']),
        z
          .object({
            /** How long a client may use the result without asking again (0: revalidate every time). */
            ttlMs: z.number().int().min(0).optional(),
            /** `public`: shareable across callers (only for results that do not depend on who asks); `private`: this caller's. */
            cacheScope: z.enum(['public', 'private']).optional(),
          })
          .strict(),
      )
      .default({}),

    /**
     * Cluster mode: nodes that share sessions and handles through NATS with JetStream (see the
     * README's Cluster section). No servers: one node on its own.
     */
    cluster: z
      .object({
        /** NATS URLs, e.g. ["nats://127.0.0.1:4222"] (--cluster or env MCP_ACTORS_CLUSTER, comma-separated). */
        servers: z.array(z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'a nats://, tls://, ws:// or wss:// URL')).default([]),
        /** Namespaces every NATS subject and KV bucket: several services can share one NATS. */
        name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('mcp-actors'),
        /** This node's id in the directory (unset: random per start). Unique per running node. */
        nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
        /** NATS user (with `password`). */
        user: z.string().min(1).optional(),
        /** NATS password of `user` (never logged). */
        password: z.string().optional(),
        /** NATS token authentication (env MCP_ACTORS_CLUSTER_TOKEN). */
        token: z.string().min(1).optional(),
        /** A NATS credentials file (JWT + nkey seed). */
        credsFile: z.string().min(1).optional(),
        /** A file holding an nkey seed. */
        nkeySeedFile: z.string().min(1).optional(),
        /** TLS to NATS. */
        tls: z
          .object({
            /** A CA certificate file to trust for the NATS server. */
            caFile: z.string().optional(),
            /** A client certificate file (with keyFile). */
            certFile: z.string().optional(),
            /** The client certificate's key file. */
            keyFile: z.string().optional(),
          })
          .strict()
          .optional(),
        /** How long the first connection to NATS may take before the start fails. */
        connectTimeoutMs: positive(5_000),
        /** A directory or record operation that takes longer fails the request (503). */
        directoryTimeoutMs: positive(2_000),
        /**
         * A node that has not said it is alive for this long (and does not answer) is gone: its
         * actors are taken over by the next request for each. Nodes say so every third of it.
         */
        nodeTimeoutMs: positive(1_500),
        /** While a forwarded request is open its owner is pinged this often; 3 missed pings end it. */
        pingMs: positive(1_000),
        /** Directory entries and records of actors no node holds any more expire after this (0: never). Held ones are refreshed. */
        recordTtlMs: ms(24 * 3_600_000),
      })
      .strict()
      .prefault({}),

    shutdown: z
      .object({
        /** On SIGTERM/SIGINT, how long accepted requests may take to finish before sessions end. */
        drainTimeoutMs: ms(10_000),
      })
      .strict()
      .prefault({}),

    auth: authSchema.prefault({}),

    admin: z
      .object({
        /** Bearer token for /sessions and for ending other sessions (env MCP_ACTORS_ADMIN_TOKEN). */
        token: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),

    cua: cuaSchema.prefault({}),

    /**
     * Resource kinds of your own: actors (in host threads) that sessions lease through
     * ctx.service('leases'). Built-in kinds (ccxt, cua) are configured in their own sections.
     */
    resources: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]*$/),
        z
          .object({
            /** Path to the host-side module whose default export is a ResourceFactory. */
            factory: z.string().min(1),
            /** "per-instance" (one thread each) or the number of shared host threads. */
            hosts: z.union([z.literal('per-instance'), z.number().int().min(1).max(64)]).default(1),
            /** Many leases per instance (one instance per distinct spec), or one lease each. */
            shared: z.boolean().default(false),
            /** Instances alive at once (at the limit, the least recently used idle one is evicted). */
            maxInstances: positive(4),
            /** Leases held at once across all sessions. */
            maxLeases: positive(64),
            /** Instances kept started even when idle. */
            minInstances: z.number().int().min(0).default(0),
            /** How long a lease may wait for a free instance before LEASE_TIMEOUT. */
            waitTimeoutMs: positive(30_000),
            /** Idle instances are destroyed after this long (0 = as soon as released). */
            idleTtlMs: ms(300_000),
            /** Reset an instance (the factory's reset) before its next lease. */
            resetOnRelease: z.boolean().default(true),
            /** How often each instance's health is checked (0 = never). */
            healthIntervalMs: ms(10_000),
            /** Deadline of creating, resetting and destroying an instance. */
            opTimeoutMs: positive(30_000),
            /** Passed to the factory (FactoryContext.config). */
            config: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .default({}),

    warmPool: z
      .object({
        /** Spare session actors kept booted so a session never waits for a worker to start. */
        min: z.number().int().min(0).default(2),
        /** At most this many spares are kept (bursts grow the pool toward it; quiet shrinks it to min). */
        max: z.number().int().min(0).default(32),
        /**
         * A spare beyond what the pool wants is retired (one a second) only once it has waited this
         * long unused: waves of short sessions keep finding their warm threads instead of booting
         * cold ones. 0 = as soon as the pool wants fewer.
         */
        spareIdleMs: ms(30_000),
        /**
         * Sessions a thread may serve one after another (renewed in between: fresh McpServer and
         * toolset registration); 1 = a new thread for every session. Faulted threads are never reused.
         */
        maxReuses: positive(50),
        /**
         * Start actor threads from the one-file worker bundle that `npm run build` makes, compiled
         * with a V8 code cache (a session's thread boots in about half the time); false: from the
         * module graph.
         */
        bundle: z.boolean().default(true),
        /**
         * Shared start threads (0 = off): when no spare is ready, a new session or handle actor runs
         * its first requests on one of these threads, hosting many actors the way a single-threaded
         * server does, instead of waiting for a boot; it moves to a thread of its own at an idle
         * moment after sharedStartMoveAfterMs, once the pool has one. Fast bursts of new workflows, at a price while sharing
         * lasts: slot mates run one at a time, and a handler that crashes or must be terminated
         * takes their running requests with it (each gets an error; the actors restart).
         */
        sharedStartThreads: z.number().int().min(0).max(64).default(0),
        /** Actors one shared start thread hosts at most (past that, a new actor waits for a boot). */
        sharedStartSlots: positive(64),
        /**
         * How long an actor stays on a shared start thread before it is due to move to a thread of
         * its own (it moves at its next idle moment once one is ready; 0 = at its first). Workflows
         * shorter than this never cause a boot.
         */
        sharedStartMoveAfterMs: z.number().int().min(0).default(1_000),
        /**
         * Where the bundle's V8 code cache is kept: a directory only this user may write (else it is
         * not used), or false for none. Default: $XDG_CACHE_HOME/mcp-actors, else ~/.cache/mcp-actors.
         */
        codeCacheDir: z.union([z.string().min(1), z.literal(false)]).optional(),
      })
      .strict()
      .prefault({}),

    /** The ccxt toolset's exchange hosts, client pool, cache and accounts (src/integrations/ccxt/shared/config.ts). */
    ccxt: ccxtConfigSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export { ConfigError };

/** Formats zod issues as one line per problem: `path: message`. */
function describe(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(`invalid configuration:\n${describe(result.error)}`);
  const c = result.data;
  const problems: string[] = [];
  if (c.warmPool.max < c.warmPool.min) problems.push('warmPool.max: must be at least warmPool.min');
  if (c.http.headersTimeoutMs > c.http.requestTimeoutMs) problems.push('http.headersTimeoutMs: must not exceed http.requestTimeoutMs');
  const oauth = c.auth.oauth;
  if (oauth) {
    if ((oauth.jwksUri === undefined) === (oauth.jwks === undefined)) problems.push('auth.oauth: give exactly one of jwksUri and jwks');
    if (oauth.audience === undefined && c.auth.resource === undefined) {
      problems.push('auth.oauth.audience: required unless auth.resource is set (tokens must be issued for this server)');
    }
  }
  const seen = new Set<string>();
  for (const [i, t] of c.auth.tokens.entries()) {
    if (seen.has(t.token)) problems.push(`auth.tokens.${i}.token: the same token is listed twice`);
    seen.add(t.token);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return c;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('the top level must be a JSON object');
    }
    const unsafe = configFileProblem(path, value);
    if (unsafe) throw new ConfigError(unsafe);
    return value as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface ConfigSources {
  file?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  flags?: { host?: string; port?: string; toolsets?: string; cluster?: string };
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function parsePort(s: string, from: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${from}: "${s}" is not a port number`);
  return n;
}

/**
 * MCP_ACTORS_TOKENS: either a JSON array of `{token, principal, roles?}` or a comma-separated
 * list of `principal=token` (a token may itself contain "="; roles need the JSON form).
 */
export function parseTokensEnv(text: string): unknown[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(t);
      if (Array.isArray(value)) return value;
    } catch {
      // reported below
    }
    throw new ConfigError('MCP_ACTORS_TOKENS: not a JSON array of {token, principal, roles?}');
  }
  return splitList(t).map((pair, i) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new ConfigError(`MCP_ACTORS_TOKENS: entry ${i + 1} is not "principal=token"`);
    return { principal: pair.slice(0, eq), token: pair.slice(eq + 1) };
  });
}

/** Merges the sources with CLI flags > env > file > defaults, then validates. */
export function resolveConfig(sources: ConfigSources): Config {
  const merged: Record<string, unknown> = { ...(sources.file ?? {}) };
  const env = sources.env ?? {};
  if (env.HOST) merged.host = env.HOST;
  if (env.PORT) merged.port = parsePort(env.PORT, 'PORT');
  if (env.MCP_TOOLSETS) merged.toolsets = splitList(env.MCP_TOOLSETS);
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL;
  if (env.MCP_ACTORS_ADMIN_TOKEN) merged.admin = { ...(merged.admin as object | undefined), token: env.MCP_ACTORS_ADMIN_TOKEN };
  if (env.MCP_ACTORS_REQUEST_STATE_KEY) merged.mrtr = { ...(merged.mrtr as object | undefined), requestStateKey: env.MCP_ACTORS_REQUEST_STATE_KEY };
  if (env.MCP_ACTORS_CLUSTER) merged.cluster = { ...(merged.cluster as object | undefined), servers: splitList(env.MCP_ACTORS_CLUSTER) };
  if (env.MCP_ACTORS_CLUSTER_TOKEN) merged.cluster = { ...(merged.cluster as object | undefined), token: env.MCP_ACTORS_CLUSTER_TOKEN };
  if (env.MCP_ACTORS_TOKENS) {
    const auth = (merged.auth ?? {}) as Record<string, unknown>;
    const fromFile = Array.isArray(auth.tokens) ? auth.tokens : [];
    merged.auth = { ...auth, tokens: [...fromFile, ...parseTokensEnv(env.MCP_ACTORS_TOKENS)] };
  }
  const f = sources.flags ?? {};
  if (f.host !== undefined) merged.host = f.host;
  if (f.port !== undefined) merged.port = parsePort(f.port, '--port');
  if (f.toolsets !== undefined) merged.toolsets = splitList(f.toolsets);
  if (f.cluster !== undefined) merged.cluster = { ...(merged.cluster as object | undefined), servers: splitList(f.cluster) };
  return parseConfig(merged);
}
