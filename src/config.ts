/**
 * One typed configuration schema with defaults, validated at start.
 *
 * Precedence: CLI flags > environment (HOST, PORT, MCP_TOOLSETS, …) > config file (--config or
 * MCP_ACTORS_CONFIG, JSON) > defaults. Every knob is documented in the README's config table,
 * which `test/config.test.ts` checks against this schema.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

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
    baseMs: ms(50),
    maxMs: ms(5_000),
    /** Fraction of the delay randomised (0 = none, 1 = full jitter). */
    jitter: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(3000),
    /** Built-in toolset names or paths to toolset modules. */
    toolsets: z.array(z.string().min(1)).min(1).default(['everything']),
    /** Per-toolset configuration, keyed by toolset name; a toolset sees its own section as ctx.config. */
    toolsetConfig: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

    http: z
      .object({
        path: z.string().startsWith('/').default('/mcp'),
        maxBodyBytes: positive(4 * 1024 * 1024),
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
        eventStoreMaxBytes: positive(4 * 1024 * 1024),
        /** Seconds a client is told to wait (Retry-After) when the server is full or draining. */
        retryAfterSeconds: positive(5),
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
        toolsetTimeoutsMs: z.record(z.string(), positive(15_000)).default({}),
        /** V8 old-generation heap limit per session actor (worker resourceLimits). */
        heapLimitMb: positive(256),
        /** Cap on the JSON size of a session's toolset state (ctx.state). */
        stateMaxBytes: positive(64 * 1024),
        restartIntensity: restartIntensitySchema.prefault({}),
        backoff: backoffSchema.prefault({}),
        /** How long a stopping actor may take before it is terminated. */
        shutdownTimeoutMs: positive(2_000),
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

    admin: z
      .object({
        /** Bearer token for /sessions and for ending other sessions (env MCP_ACTORS_ADMIN_TOKEN). */
        token: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),

    warmPool: z
      .object({
        /** Spare session actors kept booted so a session never waits for a worker to start. */
        min: z.number().int().min(0).default(2),
        max: z.number().int().min(0).default(32),
        /**
         * Sessions a thread may serve one after another (renewed in between: fresh McpServer and
         * toolset registration); 1 = a new thread for every session. Faulted threads are never reused.
         */
        maxReuses: positive(50),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Formats zod issues as one line per problem: `path: message`. */
function describe(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(`invalid configuration:\n${describe(result.error)}`);
  if (result.data.warmPool.max < result.data.warmPool.min) {
    throw new ConfigError('invalid configuration:\n  warmPool.max: must be at least warmPool.min');
  }
  return result.data;
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
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface ConfigSources {
  file?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  flags?: { host?: string; port?: string; toolsets?: string };
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

/** Merges the sources with CLI flags > env > file > defaults, then validates. */
export function resolveConfig(sources: ConfigSources): Config {
  const merged: Record<string, unknown> = { ...(sources.file ?? {}) };
  const env = sources.env ?? {};
  if (env.HOST) merged.host = env.HOST;
  if (env.PORT) merged.port = parsePort(env.PORT, 'PORT');
  if (env.MCP_TOOLSETS) merged.toolsets = splitList(env.MCP_TOOLSETS);
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL;
  if (env.MCP_ACTORS_ADMIN_TOKEN) merged.admin = { ...(merged.admin as object | undefined), token: env.MCP_ACTORS_ADMIN_TOKEN };
  const f = sources.flags ?? {};
  if (f.host !== undefined) merged.host = f.host;
  if (f.port !== undefined) merged.port = parsePort(f.port, '--port');
  if (f.toolsets !== undefined) merged.toolsets = splitList(f.toolsets);
  return parseConfig(merged);
}
