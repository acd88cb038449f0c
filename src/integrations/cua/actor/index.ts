/**
 * Toolset `cua`: a computer per session, and a computer-use agent that drives it.
 *
 * Computers are resource actors (src/integrations/cua/host: a local Xvfb display or a remote cua
 * computer-server connection, each in a host thread of its own), leased from a bounded pool. A
 * session leases one on its first computer call and keeps it across calls; it goes back to the pool
 * (reset before anyone else gets it) when the session ends or hibernates. A lost computer fails the
 * next call once with COMPUTER_LOST; the call after gets a fresh one (session-computer.ts).
 *
 * "Session" is either era's: a 2025-era MCP session (its actor), or on MCP 2026-07-28 a
 * computer-use session — a state handle the `session` toolset's `create_session` returns, passed
 * as `session_id` (the name trycua's own server uses) and served by that handle's own actor. Every
 * tool takes `session_id`:
 * - `screenshot_cua` and the `computer_*` tools act on the session's computer: on 2026-07-28 they
 *   need the handle (the runtime answers HANDLE_REQUIRED without it).
 * - `run_cua_task` and `run_multi_cua_tasks` also run without one, on the stateless pool: they
 *   lease computers for that call only and give every one back before answering — nothing is
 *   kept across requests on a stateless thread, which serves many clients at once.
 *
 * Tools (names of the seed server where it had them):
 * - `screenshot_cua`: the screen as MCP image content (image/png).
 * - `run_cua_task{task}`: the agent loop (Anthropic Messages API, computer_20250124) on the
 *   session's computer; one `notifications/progress` per step when the request has a progressToken;
 *   cancellation stops it between steps; returns the transcript and the final screenshot.
 * - `run_multi_cua_tasks{tasks, concurrent}`: several tasks; concurrent ones each on a computer of
 *   their own (up to the pool limit), results in task order, failures isolated (tasks.ts).
 * - direct actions: `computer_click`, `computer_double_click`, `computer_move`, `computer_drag`,
 *   `computer_type`, `computer_key`, `computer_scroll`, `computer_screen_size`,
 *   `computer_cursor_position`. Coordinates are checked against the screen size.
 *
 * Errors are `isError` results in the one tool-error shape (actor/toolsets/tool-error.ts): the
 * message as text, `structuredContent.code` (LEASE_TIMEOUT, COMPUTER_LOST, BAD_COORDINATES…) and
 * `retryable`.
 */
import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { MouseButton } from '../shared/computer.js';
import { SETTINGS_CALL, type CuaModelSettings, type CuaSettings } from '../shared/lease-api.js';
import type { LeaseService } from '../../../actor/lease-client.js';
import { defineToolset, type HandlerContext, type ToolsetContext } from '../../../actor/toolsets/types.js';
import { toolErrorOf } from '../../../actor/toolsets/tool-error.js';
import { leaseComputer, SessionComputer, ToolError, type LeasedComputer } from './session-computer.js';
import { runTask, runTasks, timeLeft, type TaskOutcome } from './tasks.js';

/** Most tasks one run_multi_cua_tasks call takes. */
export const MAX_TASKS = 16;
const MAX_TASK_CHARS = 10_000;
/** computer_type: longest text (local typing takes ~17 ms a character). */
const MAX_TYPE_CHARS = 2_000;
const COORD = z.number().int().min(0).max(8191);
const BUTTON = z.enum(['left', 'right', 'middle']);

/** The computer-use session handle argument (see HandleSpec); optional: a 2025 MCP session is one itself. */
const SESSION_ARG = 'session_id';
const HANDLE = z.string().min(1).max(128).optional();
/** The computer tools act on a session's computer. */
const USE_SESSION = {
  [SESSION_ARG]: HANDLE.describe(
    'The computer-use session whose computer this acts on: the session_id that create_session returned. Required on MCP 2026-07-28; ' +
      'in a 2025-era MCP session it may be omitted (the MCP session has its own computer).',
  ),
} as const;
/** The agent tools run in a session, or on computers leased for the call. */
const OPTIONAL_SESSION = {
  [SESSION_ARG]: HANDLE.describe(
    "Optional: a computer-use session (the session_id create_session returned) whose computer the agent works on, kept across calls. " +
      'Without one, a 2025-era MCP session uses its own computer; on MCP 2026-07-28 the call leases a computer for itself and gives it back (it is reset) before answering.',
  ),
} as const;

type RuntimeService = { call(op: string, args: Record<string, unknown>): Promise<unknown> };

function errorResult(err: unknown): CallToolResult {
  return toolErrorOf(err, 'ERROR');
}

function image(png: Uint8Array): { type: 'image'; data: string; mimeType: string } {
  return { type: 'image', data: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64'), mimeType: 'image/png' };
}

function textResult(text: string, note?: string): CallToolResult {
  return { content: [{ type: 'text', text: note ? `${text}\n${note}` : text }] };
}

function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}

function outcomeText(o: TaskOutcome, key: string): string {
  const head = `status: ${o.status} after ${o.steps} step${o.steps === 1 ? '' : 's'}${o.computer ? ` on ${o.computer}` : ''}${o.error ? `\nerror: ${o.error}` : ''}`;
  return redact(`${head}\n\n${o.transcript}`, key);
}

function outcomeData(o: TaskOutcome, key: string) {
  return {
    task: o.task,
    status: o.status,
    steps: o.steps,
    final_text: redact(o.finalText, key),
    ...(o.error !== undefined ? { error: redact(o.error, key) } : {}),
    ...(o.computer !== undefined ? { computer: o.computer } : {}),
  };
}

const OUTCOME_SHAPE = {
  task: z.string(),
  status: z.enum(['done', 'max_steps', 'deadline', 'cancelled', 'error']),
  steps: z.number(),
  final_text: z.string(),
  error: z.string().optional(),
  computer: z.string().optional(),
};

/**
 * The tools' schemas, built once per thread: register() runs for every session a thread serves
 * (see the README's toolset guide).
 */
const SESSION_ONLY = z.object({ ...USE_SESSION });
const POINT = z.object({ x: COORD, y: COORD, ...USE_SESSION });
const SCHEMAS = {
  screenSizeOut: z.object({ width: z.number(), height: z.number(), computer: z.string().describe('e.g. "xvfb:12" or "cua:ws://host:8000/ws"') }),
  cursorOut: z.object({ x: z.number(), y: z.number() }),
  click: z.object({ x: COORD, y: COORD, button: BUTTON.default('left'), ...USE_SESSION }),
  drag: z.object({ path: z.array(z.object({ x: COORD, y: COORD })).min(2).max(100), button: BUTTON.default('left'), ...USE_SESSION }),
  type: z.object({ text: z.string().min(1).max(MAX_TYPE_CHARS), ...USE_SESSION }),
  keys: z.object({ keys: z.string().min(1).max(200), ...USE_SESSION }),
  scroll: z.object({ x: COORD, y: COORD, dx: z.number().int().min(-50).max(50).default(0), dy: z.number().int().min(-50).max(50).default(0), ...USE_SESSION }),
  task: z.object({ task: z.string().min(1).max(MAX_TASK_CHARS), ...OPTIONAL_SESSION }),
  outcome: z.object(OUTCOME_SHAPE),
  tasks: z.object({ tasks: z.array(z.string().min(1).max(MAX_TASK_CHARS)).min(1).max(MAX_TASKS), concurrent: z.boolean().default(false), ...OPTIONAL_SESSION }),
  outcomes: z.object({ results: z.array(z.object(OUTCOME_SHAPE)) }),
};

export const toolset = defineToolset({
  name: 'cua',
  description: 'A computer per session (local Xvfb or remote cua), direct actions, and a computer-use agent',
  instructions:
    'Each session gets its own computer on its first computer tool call and keeps it across calls. ' +
    'screenshot_cua shows the screen; computer_* tools act on it directly; run_cua_task lets an agent do a task on it. ' +
    'Without an MCP session (protocol 2026-07-28), call create_session first and pass its session_id to every cua tool; ' +
    'run_cua_task and run_multi_cua_tasks also work without one, on a computer leased for that call only.',
  handles: { argument: SESSION_ARG, create: ['create_session'], optional: ['run_cua_task', 'run_multi_cua_tasks'], noun: 'computer-use session' },
  register(server, ctx: ToolsetContext) {
    const session = new SessionComputer(ctx);
    ctx.onStop(() => session.release().catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'cua: giving the computer back failed')));
    let limits: CuaSettings | undefined;

    const runtime = (): RuntimeService => {
      const r = ctx.service<RuntimeService>('runtime');
      if (!r) throw new ToolError('NOT_AVAILABLE', 'the cua toolset runs only inside the mcp-actors runtime');
      return r;
    };
    /** Pool limits (cached; without the model key). */
    const getLimits = async (): Promise<CuaSettings> => {
      if (!limits) {
        const s = (await runtime().call(SETTINGS_CALL, {})) as CuaSettings;
        limits = { ...s, model: { problem: 'not cached' } };
      }
      return limits;
    };
    /** Fresh settings with the model, for one task call (the key is not kept beyond it). */
    const getModelSettings = async (): Promise<CuaSettings & { model: CuaModelSettings }> => {
      const s = (await runtime().call(SETTINGS_CALL, {})) as CuaSettings;
      if ('problem' in s.model) throw new ToolError('MODEL_NOT_CONFIGURED', s.model.problem);
      return s as CuaSettings & { model: CuaModelSettings };
    };
    const deadlineOf = (hctx: HandlerContext) => ctx.request(hctx)?.deadlineAt ?? Date.now() + 60_000;
    const waitBudget = async (deadlineAt: number) => {
      const waitMs = Math.min((await getLimits()).waitTimeoutMs, timeLeft(deadlineAt));
      if (waitMs <= 0) throw new ToolError('DEADLINE', 'no time is left in this request to wait for a computer');
      return waitMs;
    };

    const leaseService = (): LeaseService => {
      const leases = ctx.service<LeaseService>('leases');
      if (!leases) throw new ToolError('NOT_AVAILABLE', 'computers can only be leased inside the mcp-actors runtime');
      return leases;
    };

    /** Runs `fn` on the session's computer; reports a lost computer once (COMPUTER_LOST). */
    const withComputer = async (hctx: HandlerContext, fn: (c: LeasedComputer) => Promise<CallToolResult>): Promise<CallToolResult> => {
      // The runtime answers HANDLE_REQUIRED first; a stateless thread never holds a computer.
      if (ctx.actor.kind === 'stateless') {
        return errorResult(new ToolError('HANDLE_REQUIRED', `this tool acts on a computer-use session's computer: call create_session first and pass the ${SESSION_ARG} it returns`));
      }
      let computer: LeasedComputer | undefined;
      try {
        computer = await session.get({ signal: hctx.mcpReq.signal, waitMs: await waitBudget(deadlineOf(hctx)) });
        const result = await fn(computer);
        const note = session.takeFreshNote();
        if (note) result.content.push({ type: 'text', text: note });
        return result;
      } catch (err) {
        const lost = computer ? await session.checkLoss(computer, err) : undefined;
        return errorResult(lost ?? err);
      }
    };

    /**
     * Runs `fn` on a computer leased for this call only (a stateless call: no session keeps it), and
     * gives it back — the pool resets it — before the call answers, whatever happened.
     */
    const withCallComputer = async (hctx: HandlerContext, fn: (c: LeasedComputer) => Promise<CallToolResult>): Promise<CallToolResult> => {
      let computer: LeasedComputer;
      try {
        computer = await leaseComputer(leaseService(), { signal: hctx.mcpReq.signal, waitMs: await waitBudget(deadlineOf(hctx)) });
      } catch (err) {
        return errorResult(err);
      }
      try {
        return await fn(computer);
      } catch (err) {
        return errorResult(err);
      } finally {
        await computer.lease.release();
      }
    };

    server.registerTool(
      'screenshot_cua',
      {
        description: "Takes a screenshot of the session's computer (PNG image). The computer is leased on the session's first computer tool call and kept until the session ends.",
        inputSchema: SESSION_ONLY,
        annotations: { readOnlyHint: true },
      },
      async (_args, hctx) => withComputer(hctx, async (c) => ({ content: [image(await c.screenshot())] })),
    );

    server.registerTool(
      'computer_screen_size',
      {
        description: "The size of the session's screen, in pixels, and which computer the session has.",
        inputSchema: SESSION_ONLY,
        outputSchema: SCHEMAS.screenSizeOut,
        annotations: { readOnlyHint: true },
      },
      async (_args, hctx) =>
        withComputer(hctx, async (c) => {
          const s = await c.screenSize();
          return { content: [{ type: 'text', text: `${s.width}x${s.height} (${c.id})` }], structuredContent: { width: s.width, height: s.height, computer: c.id } };
        }),
    );

    server.registerTool(
      'computer_cursor_position',
      {
        description: 'Where the mouse pointer is.',
        inputSchema: SESSION_ONLY,
        outputSchema: SCHEMAS.cursorOut,
        annotations: { readOnlyHint: true },
      },
      async (_args, hctx) =>
        withComputer(hctx, async (c) => {
          const p = await c.cursorPosition();
          return { content: [{ type: 'text', text: `(${p.x}, ${p.y})` }], structuredContent: { x: p.x, y: p.y } };
        }),
    );

    server.registerTool(
      'computer_click',
      {
        description: 'Clicks a mouse button at (x, y).',
        inputSchema: SCHEMAS.click,
      },
      async ({ x, y, button }, hctx) =>
        withComputer(hctx, async (c) => {
          c.checkPoint(x, y);
          await c.click(x, y, button as MouseButton);
          return textResult(`${button} click at (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_double_click',
      { description: 'Double-clicks the left button at (x, y).', inputSchema: POINT },
      async ({ x, y }, hctx) =>
        withComputer(hctx, async (c) => {
          c.checkPoint(x, y);
          await c.doubleClick(x, y);
          return textResult(`double click at (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_move',
      { description: 'Moves the mouse pointer to (x, y).', inputSchema: POINT },
      async ({ x, y }, hctx) =>
        withComputer(hctx, async (c) => {
          c.checkPoint(x, y);
          await c.move(x, y);
          return textResult(`moved to (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_drag',
      {
        description: 'Presses a mouse button at the first point of the path, moves through every point, and releases it at the last.',
        inputSchema: SCHEMAS.drag,
      },
      async ({ path, button }, hctx) =>
        withComputer(hctx, async (c) => {
          for (const p of path) c.checkPoint(p.x, p.y);
          await c.drag(path, button as MouseButton);
          const a = path[0]!;
          const b = path[path.length - 1]!;
          return textResult(`dragged from (${a.x}, ${a.y}) to (${b.x}, ${b.y}) through ${path.length} points`);
        }),
    );

    server.registerTool(
      'computer_type',
      {
        description: `Types text (a newline presses Return). At most ${MAX_TYPE_CHARS} characters.`,
        inputSchema: SCHEMAS.type,
      },
      async ({ text }, hctx) =>
        withComputer(hctx, async (c) => {
          await c.type(text);
          return textResult(`typed ${text.length} character${text.length === 1 ? '' : 's'}`);
        }),
    );

    server.registerTool(
      'computer_key',
      {
        description: 'Presses a key combination, or a space-separated sequence of them, xdotool style: "Return", "ctrl+c", "ctrl+alt+t" (opens a terminal), "ctrl+a Delete".',
        inputSchema: SCHEMAS.keys,
      },
      async ({ keys }, hctx) =>
        withComputer(hctx, async (c) => {
          await c.key(keys);
          return textResult(`pressed ${keys}`);
        }),
    );

    server.registerTool(
      'computer_scroll',
      {
        description: 'Scrolls at (x, y) by dx/dy wheel clicks (positive dy scrolls down, positive dx right).',
        inputSchema: SCHEMAS.scroll,
      },
      async ({ x, y, dx, dy }, hctx) =>
        withComputer(hctx, async (c) => {
          c.checkPoint(x, y);
          await c.scroll(x, y, dx, dy);
          return textResult(`scrolled (${dx}, ${dy}) at (${x}, ${y})`);
        }),
    );

    /** A progress notification per agent step, when the client asked for progress. */
    const progressReporter = (hctx: HandlerContext, total: number | undefined, label: (task: number) => string) => {
      const token = hctx.mcpReq._meta?.progressToken;
      if (token === undefined) return undefined;
      let progress = 0;
      return async (task: number, step: { step: number; action: string }) => {
        progress++;
        await hctx.mcpReq
          .notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message: `${label(task)}step ${step.step}: ${step.action}` },
          })
          .catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'cua: a progress notification could not be sent'));
      };
    };

    server.registerTool(
      'run_cua_task',
      {
        description:
          'Lets a computer-use agent do a task on a computer (it sees the screen and uses mouse and keyboard). Returns its transcript and the final screenshot. ' +
          "In a session (a 2025-era MCP session, or with session_id) it works on the session's own computer, which keeps what it did for the next calls; " +
          'without one it leases a computer for this call only and gives it back (reset) before answering. ' +
          'Sends a progress notification per step when the request has a progressToken.',
        inputSchema: SCHEMAS.task,
        outputSchema: SCHEMAS.outcome,
      },
      async ({ task }, hctx) => {
        let settings;
        try {
          settings = await getModelSettings();
        } catch (err) {
          return errorResult(err);
        }
        const key = settings.model.apiKey;
        const deadlineAt = deadlineOf(hctx);
        const onStep = progressReporter(hctx, settings.maxSteps, () => '');
        // A stateless call has no session computer: one leased for this call only.
        const own = ctx.actor.kind !== 'stateless';
        const run = async (computer: LeasedComputer): Promise<CallToolResult> => {
          const outcome = await runTask(0, task, computer, { settings, deadlineAt, signal: hctx.mcpReq.signal, onStep });
          const content: CallToolResult['content'] = [{ type: 'text', text: outcomeText(outcome, key) }];
          if (outcome.screenshot) content.push(image(outcome.screenshot));
          if (computer.lost || /COMPUTER_DEAD/.test(outcome.error ?? '')) {
            if (own) {
              await session.forget(computer);
              content.push({ type: 'text', text: `This session's computer (${computer.id}) was lost during the task; the next call gets a fresh one.` });
            } else {
              content.push({ type: 'text', text: `The computer leased for this call (${computer.id}) was lost during the task.` });
            }
          }
          return { content, structuredContent: outcomeData(outcome, key), isError: outcome.status === 'error' };
        };
        return own ? withComputer(hctx, run) : withCallComputer(hctx, run);
      },
    );

    server.registerTool(
      'run_multi_cua_tasks',
      {
        description:
          `Runs several agent tasks (at most ${MAX_TASKS}). concurrent: true runs each on a computer of its own (up to the pool's limit; ` +
          "the rest wait for one); false runs them one after another on the session's computer — or, without a session (no session_id on MCP 2026-07-28), " +
          'on one computer leased for this call. Computers leased for the call are given back (reset) before it answers. ' +
          'Results come back in task order; one task failing does not fail the others.',
        inputSchema: SCHEMAS.tasks,
        outputSchema: SCHEMAS.outcomes,
      },
      async ({ tasks, concurrent }, hctx) => {
        let settings;
        let leases: LeaseService;
        try {
          settings = await getModelSettings();
          leases = leaseService();
        } catch (err) {
          return errorResult(err);
        }
        const key = settings.model.apiKey;
        // A stateless call has no session computer: every worker leases one for this call only.
        const own = ctx.actor.kind !== 'stateless';
        const notes: string[] = [];
        const outcomes = await runTasks({
          tasks,
          concurrent,
          session: own ? session : undefined,
          settings,
          deadlineAt: deadlineOf(hctx),
          signal: hctx.mcpReq.signal,
          onStep: progressReporter(hctx, undefined, (i) => `task ${i + 1}: `),
          leaseExtra: (signal, waitMs) => leaseComputer(leases, { signal, waitMs }),
          notes,
        });
        const content: CallToolResult['content'] = [];
        outcomes.forEach((o, i) => {
          content.push({ type: 'text', text: `## task ${i + 1} of ${outcomes.length}\n${outcomeText(o, key)}` });
          if (o.screenshot) content.push(image(o.screenshot));
        });
        const fresh = own ? session.takeFreshNote() : undefined;
        for (const note of [...notes, ...(fresh ? [fresh] : [])]) content.push({ type: 'text', text: note });
        return { content, structuredContent: { results: outcomes.map((o) => outcomeData(o, key)) }, isError: outcomes.every((o) => o.status === 'error') };
      },
    );
  },
});

export default toolset;
