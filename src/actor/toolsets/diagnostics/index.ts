/**
 * `diagnostics`: probes for isolation, ordering and fault handling.
 *
 * - `echo{text}`: returns the text.
 * - `cpu_burn{ms}`: busy-loops the thread for `ms` (≤ 60 000) and reports how long it burned.
 * - `sleep{ms}`: waits `ms` (≤ 600 000) and reports the serving thread; ends early with an error
 *   when `hctx.mcpReq.signal` aborts (cancellation or deadline).
 * - `fail{message}`: throws; the SDK turns that into an `isError` tool result.
 * - `crash{}`: `process.exit(70)`. Inside an actor's worker thread this ends only that thread.
 *   **In-process (the baseline server, stdio, anything on the main thread) it kills the whole
 *   process** — every session with it.
 * - `hang{}`: an infinite synchronous loop; the thread never yields again (only terminating the
 *   thread recovers it).
 * - `alloc{mb}`: allocates and retains ~`mb` MiB of V8 heap (arrays of doubles: on-heap, so they
 *   count toward a worker's heap limit, unlike Buffers) and reports the total retained so far.
 *   Retained memory belongs to this registration (the session's McpServer): it is freed when the
 *   session's server is dropped or its thread ends.
 * - `whoami{}`: `{ actor, sessionId, threadId, seq, executed, inFlight, startedAt, finishedAt }`.
 *   `actor` is the kind of actor serving the call (session, handle, stateless); `sessionId` the
 *   2025 session's id (empty otherwise). `seq` is the mailbox's arrival stamp (`ctx.request`,
 *   undefined outside the runtime); `executed` is the number of `whoami` calls this session or
 *   handle has executed, this one included, kept in `ctx.state` so it survives restarts (absent on
 *   the stateless pool) — with strict in-order execution, ordering calls by `seq` orders them by
 *   `executed` too. `inFlight` is how many diagnostics calls were running on this server when this
 *   one started (itself included): always 1 where an actor's calls run one at a time, more where
 *   they overlap (the stateless pool).
 * - `bad_result{kind, chars?}`: returns a result that cannot cross the thread boundary as JSON —
 *   a function, a cycle, a BigInt, a symbol, or (`oversized`) a text of `chars` characters (default
 *   just over the 64 Mi-character outbound limit). The runtime answers such a call with a
 *   RESULT_NOT_TRANSFERABLE JSON-RPC error instead of crashing or sending a mangled result.
 * - `notify_later{ms, text}`: a 2025 session's server-initiated message (see the tool).
 * - `publish_event{kind, uri?}`: publishes a list change or resource update on the server's event
 *   bus (every subscriptions/listen stream that asked for it, every 2025 session).
 *
 * State handles (MCP 2026-07-28): `open_handle{}` starts a diagnostics handle (its own actor) and
 * returns it; every other tool takes an optional `handle` and then runs on that handle's actor
 * (its mailbox, state, thread); `close_handle{handle}` ends it. Without a handle a 2026 call runs
 * on the stateless pool.
 */
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { defineToolset, type HandlerContext } from '../types.js';
import { declareLogging, notifySession } from '../logging.js';
import { toolError } from '../tool-error.js';

export const LIMITS = {
  echoChars: 1_000_000,
  cpuBurnMs: 60_000,
  sleepMs: 600_000,
  failChars: 10_000,
  allocMb: 2_048,
  badResultChars: 128 * 1024 * 1024,
} as const;

/** The optional argument that carries a diagnostics handle. */
const handle = z.string().min(1).max(128).optional().describe('A handle from open_handle: run on that handle\'s actor (2026-07-28)');

/** `ctx.state` key of the per-session whoami execution counter. */
export const EXECUTED_KEY = 'diagnostics.executed';

const MiB = 1024 * 1024;
/** Doubles per MiB chunk: a double array stores unboxed 8-byte elements in one on-heap backing store. */
const DOUBLES_PER_MIB = MiB / 8;

/** A result whose text is the JSON of its structured content. */
function structured<T extends Record<string, unknown>>(value: T): CallToolResult & { structuredContent: T } {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const aborted = () => new Error(`sleep aborted after ${Date.now() - started} ms of ${ms} ms`);
    if (signal.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The tools' schemas, built once per thread rather than in register(), which runs for every
 * session the thread serves: zod schemas are immutable, so sessions can share them, and building
 * ~20 of them per session (and warming their parsers up again) was about half of what a short
 * session cost its thread (see the README's toolset guide).
 */
const schemas = {
  echo: {
    input: z.object({ text: z.string().max(LIMITS.echoChars), handle }),
    output: z.object({ text: z.string() }),
  },
  cpu_burn: {
    input: z.object({ ms: z.number().int().min(0).max(LIMITS.cpuBurnMs), handle }),
    output: z.object({ requestedMs: z.number(), burnedMs: z.number() }),
  },
  sleep: {
    input: z.object({ ms: z.number().int().min(0).max(LIMITS.sleepMs), handle }),
    output: z.object({ sleptMs: z.number(), threadId: z.number() }),
  },
  fail: {
    input: z.object({ message: z.string().min(1).max(LIMITS.failChars), handle }),
  },
  crash: {
    input: z.object({ handle }),
  },
  hang: {
    input: z.object({ handle }),
  },
  alloc: {
    input: z.object({ mb: z.number().int().min(1).max(LIMITS.allocMb), handle }),
    output: z.object({ allocatedMb: z.number(), retainedMb: z.number(), heapUsedMb: z.number() }),
  },
  whoami: {
    input: z.object({ handle }),
    output: z.object({
      actor: z.enum(['session', 'handle', 'stateless']),
      sessionId: z.string(),
      threadId: z.number(),
      seq: z.number().optional(),
      executed: z.number().optional(),
      inFlight: z.number(),
      startedAt: z.number(),
      finishedAt: z.number(),
    }),
  },
  bad_result: {
    input: z.object({
      kind: z.enum(['function', 'cycle', 'bigint', 'symbol', 'oversized']),
      chars: z.number().int().min(1).max(LIMITS.badResultChars).optional(),
      handle,
    }),
  },
  notify_later: {
    input: z.object({ ms: z.number().int().min(0).max(60_000), text: z.string().max(LIMITS.echoChars), handle }),
    output: z.object({ scheduledInMs: z.number() }),
  },
  publish_event: {
    input: z.object({
      kind: z.enum(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']),
      uri: z.string().min(1).max(2_048).optional(),
      handle,
    }),
    output: z.object({ published: z.string() }),
  },
  open_handle: {
    input: z.object({}),
    output: z.object({ handle: z.string() }),
  },
  close_handle: {
    input: z.object({ handle: z.string().min(1).max(128).describe('The handle open_handle returned') }),
    output: z.object({ closed: z.boolean() }),
  },
};

export const toolset = defineToolset({
  name: 'diagnostics',
  description: 'Probes for isolation, ordering and fault handling (echo, cpu_burn, sleep, fail, crash, hang, alloc, whoami, notify_later, bad_result, publish_event; handles: open_handle, close_handle)',
  handles: { argument: 'handle', create: ['open_handle'], destroy: 'close_handle', optional: true, noun: 'diagnostics' },
  register(server, ctx) {
    declareLogging(server);
    /** Heap retained by `alloc` on behalf of this session. */
    const retained: number[][] = [];
    let inFlight = 0;

    /** Wraps a handler to keep `inFlight` accurate across sync throws and async settles. */
    const tracked =
      <A extends unknown[], R>(fn: (...args: A) => R | Promise<R>) =>
      async (...args: A): Promise<R> => {
        inFlight++;
        try {
          return await fn(...args);
        } finally {
          inFlight--;
        }
      };

    server.registerTool(
      'echo',
      {
        description: 'Returns the given text.',
        inputSchema: schemas.echo.input,
        outputSchema: schemas.echo.output,
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      tracked(async ({ text }) => structured({ text })),
    );

    server.registerTool(
      'cpu_burn',
      {
        description: `Busy-loops the serving thread for ms milliseconds (at most ${LIMITS.cpuBurnMs}) without yielding; returns the time actually burned.`,
        inputSchema: schemas.cpu_burn.input,
        outputSchema: schemas.cpu_burn.output,
        annotations: { readOnlyHint: true },
      },
      tracked(async ({ ms }) => {
        const start = performance.now();
        while (performance.now() - start < ms) {
          // spin
        }
        return structured({ requestedMs: ms, burnedMs: Math.round((performance.now() - start) * 1000) / 1000 });
      }),
    );

    server.registerTool(
      'sleep',
      {
        description: `Waits ms milliseconds (at most ${LIMITS.sleepMs}) without blocking the thread; ends early with an error when the request is cancelled or its deadline passes.`,
        inputSchema: schemas.sleep.input,
        outputSchema: schemas.sleep.output,
        annotations: { readOnlyHint: true },
      },
      tracked(async ({ ms }, hctx: HandlerContext) => {
        const start = Date.now();
        await sleep(ms, hctx.mcpReq.signal);
        return structured({ sleptMs: Date.now() - start, threadId: ctx.threadId });
      }),
    );

    server.registerTool(
      'fail',
      {
        description: 'Throws an Error with the given message (the result is an isError tool result).',
        inputSchema: schemas.fail.input,
      },
      tracked(async ({ message }): Promise<CallToolResult> => {
        throw new Error(message);
      }),
    );

    server.registerTool(
      'crash',
      {
        description:
          'Ends the serving thread with process.exit(70). In an actor (worker thread) only that actor dies; in-process it kills the whole server.',
        inputSchema: schemas.crash.input,
        annotations: { destructiveHint: true },
      },
      () => {
        ctx.log.warn({ tool: 'crash', actor: ctx.actor.kind }, 'crash requested: process.exit(70)');
        process.exit(70);
      },
    );

    server.registerTool(
      'hang',
      {
        description: 'Enters an infinite synchronous loop: the serving thread never yields again.',
        inputSchema: schemas.hang.input,
        annotations: { destructiveHint: true },
      },
      () => {
        for (;;) {
          // never yields
        }
      },
    );

    server.registerTool(
      'alloc',
      {
        description: `Allocates and retains about mb MiB of V8 heap (at most ${LIMITS.allocMb} per call); returns the total retained by this session so far.`,
        inputSchema: schemas.alloc.input,
        outputSchema: schemas.alloc.output,
      },
      tracked(async ({ mb }) => {
        for (let i = 0; i < mb; i++) {
          // A fresh array per MiB with a distinct fill value: PACKED_DOUBLE_ELEMENTS, 8 bytes each.
          retained.push(new Array<number>(DOUBLES_PER_MIB).fill(retained.length + 0.5));
        }
        return structured({
          allocatedMb: mb,
          retainedMb: retained.length,
          heapUsedMb: Math.round(getHeapStatistics().used_heap_size / MiB),
        });
      }),
    );

    server.registerTool(
      'whoami',
      {
        description:
          'Reports the serving session and thread, the request\'s mailbox arrival stamp (seq), the per-session execution counter (executed) and timing.',
        inputSchema: schemas.whoami.input,
        outputSchema: schemas.whoami.output,
        annotations: { readOnlyHint: true },
      },
      tracked(async (_args: unknown, hctx: HandlerContext) => {
        const startedAt = Date.now();
        const { kind } = ctx.actor;
        let executed: number | undefined;
        if (kind !== 'stateless') {
          executed = (ctx.state.get<number>(EXECUTED_KEY) ?? 0) + 1;
          ctx.state.set(EXECUTED_KEY, executed);
        }
        return structured({
          actor: kind,
          sessionId: kind === 'session' ? ctx.actor.key : '',
          threadId: ctx.threadId,
          seq: ctx.request(hctx)?.seq,
          executed,
          inFlight,
          startedAt,
          finishedAt: Date.now(),
        });
      }),
    );

    server.registerTool(
      'bad_result',
      {
        description: 'Returns a result that cannot be serialized (function, cycle, bigint, symbol) or is oversized, to probe the thread boundary.',
        inputSchema: schemas.bad_result.input,
      },
      tracked(async ({ kind, chars }): Promise<CallToolResult> => {
        const text = `a ${kind} result`;
        switch (kind) {
          case 'function':
            return { content: [{ type: 'text', text }], structuredContent: { value: () => 'not data' } } as unknown as CallToolResult;
          case 'cycle': {
            const node: Record<string, unknown> = { name: 'node' };
            node.self = node;
            return { content: [{ type: 'text', text }], structuredContent: node };
          }
          case 'bigint':
            return { content: [{ type: 'text', text }], structuredContent: { value: 2n ** 70n } } as unknown as CallToolResult;
          case 'symbol':
            return { content: [{ type: 'text', text }], structuredContent: { value: Symbol('not data') } } as unknown as CallToolResult;
          case 'oversized':
            return { content: [{ type: 'text', text: 'x'.repeat(chars ?? 64 * 1024 * 1024 + 1) }] };
        }
      }),
    );

    server.registerTool(
      'notify_later',
      {
        description:
          'Returns at once, then after ms sends a logging notification (notifications/message) outside any request — a server-initiated message for the standalone GET stream of a 2025 session (2026-07-28 has no such stream).',
        inputSchema: schemas.notify_later.input,
        outputSchema: schemas.notify_later.output,
      },
      tracked(async ({ ms, text }) => {
        if (ctx.actor.kind !== 'session') {
          return toolError('NOT_AVAILABLE', 'notify_later needs a 2025 session: a 2026-07-28 request has no stream outside itself (use publish_event and subscriptions/listen)');
        }
        const sessionId = ctx.actor.key;
        // The session owes its client this message: keep the actor awake (no hibernation) until sent.
        const release = ctx.keepAwake();
        const timer = setTimeout(() => {
          notifySession(server, sessionId, 'info', 'diagnostics', text).then(release, (err: unknown) => {
            release();
            ctx.log.warn({ err: (err as Error).message }, 'notify_later: the notification could not be sent');
          });
        }, ms);
        ctx.onStop(() => clearTimeout(timer));
        return structured({ scheduledInMs: ms });
      }),
    );

    server.registerTool(
      'publish_event',
      {
        description:
          'Publishes a list change (tools, prompts, resources) or a resource update on the server\'s event bus: every subscriptions/listen stream that asked for it receives it, whichever thread publishes.',
        inputSchema: schemas.publish_event.input,
        outputSchema: schemas.publish_event.output,
      },
      tracked(async ({ kind, uri }) => {
        if (kind === 'resource_updated') {
          if (!uri) return toolError('BAD_ARGUMENT', 'a resource_updated event needs the uri of the resource');
          ctx.events.publish({ kind, uri });
        } else {
          ctx.events.publish({ kind });
        }
        return structured({ published: kind });
      }),
    );

    server.registerTool(
      'open_handle',
      {
        description: 'Starts a diagnostics handle: an actor of its own (mailbox, state, thread) that the other diagnostics tools run on when given it.',
        inputSchema: schemas.open_handle.input,
        outputSchema: schemas.open_handle.output,
      },
      tracked(async () => {
        const h = ctx.actor.handle;
        if (!h) return toolError('NOT_AVAILABLE', 'handles exist only inside the mcp-actors runtime');
        return structured({ handle: h });
      }),
    );

    server.registerTool(
      'close_handle',
      {
        description: 'Ends a diagnostics handle: its actor stops once this call is answered.',
        inputSchema: schemas.close_handle.input,
        outputSchema: schemas.close_handle.output,
      },
      // The runtime ends a handle's actor once its destroying tool answered without error.
      tracked(async () => structured({ closed: ctx.actor.kind === 'handle' })),
    );
  },
});

export default toolset;
