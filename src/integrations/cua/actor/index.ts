/**
 * Toolset `cua`: a computer per session, and a computer-use agent that drives it.
 *
 * Computers are resource actors (src/integrations/cua/host: a local Xvfb display or a remote cua
 * computer-server connection, each in a host thread of its own), leased from a bounded pool. A
 * session leases one on its first computer call and keeps it across calls; it goes back to the pool
 * (reset before anyone else gets it) when the session ends or hibernates. A lost computer fails the
 * next call once with COMPUTER_LOST; the call after gets a fresh one (session-computer.ts).
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
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { MouseButton } from '../shared/computer.js';
import { SETTINGS_CALL, type CuaModelSettings, type CuaSettings } from '../shared/lease-api.js';
import type { LeaseService } from '../../../actor/lease-client.js';
import { defineToolset, type HandlerExtra, type ToolsetContext } from '../../../actor/toolsets/types.js';
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

export const toolset = defineToolset({
  name: 'cua',
  description: 'A computer per session (local Xvfb or remote cua), direct actions, and a computer-use agent',
  instructions:
    'Each session gets its own computer on its first computer tool call and keeps it across calls. ' +
    'screenshot_cua shows the screen; computer_* tools act on it directly; run_cua_task lets an agent do a task on it.',
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
    const deadlineOf = (extra: HandlerExtra) => ctx.requestMeta(extra)?.deadlineAt ?? Date.now() + 60_000;
    const waitBudget = async (deadlineAt: number) => {
      const waitMs = Math.min((await getLimits()).waitTimeoutMs, timeLeft(deadlineAt));
      if (waitMs <= 0) throw new ToolError('DEADLINE', 'no time is left in this request to wait for a computer');
      return waitMs;
    };

    /** Runs `fn` on the session's computer; reports a lost computer once (COMPUTER_LOST). */
    const withComputer = async (extra: HandlerExtra, fn: (c: LeasedComputer) => Promise<CallToolResult>): Promise<CallToolResult> => {
      let computer: LeasedComputer | undefined;
      try {
        computer = await session.get({ signal: extra.signal, waitMs: await waitBudget(deadlineOf(extra)) });
        const result = await fn(computer);
        const note = session.takeFreshNote();
        if (note) result.content.push({ type: 'text', text: note });
        return result;
      } catch (err) {
        const lost = computer ? await session.checkLoss(computer, err) : undefined;
        return errorResult(lost ?? err);
      }
    };

    server.registerTool(
      'screenshot_cua',
      {
        description: "Takes a screenshot of this session's computer (PNG image).",
        inputSchema: {},
        annotations: { readOnlyHint: true },
      },
      async (_args, extra) => withComputer(extra, async (c) => ({ content: [image(await c.screenshot())] })),
    );

    server.registerTool(
      'computer_screen_size',
      {
        description: "The size of this session's screen, in pixels, and which computer this session has.",
        inputSchema: {},
        outputSchema: { width: z.number(), height: z.number(), computer: z.string().describe('e.g. "xvfb:12" or "cua:ws://host:8000/ws"') },
        annotations: { readOnlyHint: true },
      },
      async (_args, extra) =>
        withComputer(extra, async (c) => {
          const s = await c.screenSize();
          return { content: [{ type: 'text', text: `${s.width}x${s.height} (${c.id})` }], structuredContent: { width: s.width, height: s.height, computer: c.id } };
        }),
    );

    server.registerTool(
      'computer_cursor_position',
      {
        description: 'Where the mouse pointer is.',
        inputSchema: {},
        outputSchema: { x: z.number(), y: z.number() },
        annotations: { readOnlyHint: true },
      },
      async (_args, extra) =>
        withComputer(extra, async (c) => {
          const p = await c.cursorPosition();
          return { content: [{ type: 'text', text: `(${p.x}, ${p.y})` }], structuredContent: { x: p.x, y: p.y } };
        }),
    );

    server.registerTool(
      'computer_click',
      {
        description: 'Clicks a mouse button at (x, y).',
        inputSchema: { x: COORD, y: COORD, button: BUTTON.default('left') },
      },
      async ({ x, y, button }, extra) =>
        withComputer(extra, async (c) => {
          c.checkPoint(x, y);
          await c.click(x, y, button as MouseButton);
          return textResult(`${button} click at (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_double_click',
      { description: 'Double-clicks the left button at (x, y).', inputSchema: { x: COORD, y: COORD } },
      async ({ x, y }, extra) =>
        withComputer(extra, async (c) => {
          c.checkPoint(x, y);
          await c.doubleClick(x, y);
          return textResult(`double click at (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_move',
      { description: 'Moves the mouse pointer to (x, y).', inputSchema: { x: COORD, y: COORD } },
      async ({ x, y }, extra) =>
        withComputer(extra, async (c) => {
          c.checkPoint(x, y);
          await c.move(x, y);
          return textResult(`moved to (${x}, ${y})`);
        }),
    );

    server.registerTool(
      'computer_drag',
      {
        description: 'Presses a mouse button at the first point of the path, moves through every point, and releases it at the last.',
        inputSchema: { path: z.array(z.object({ x: COORD, y: COORD })).min(2).max(100), button: BUTTON.default('left') },
      },
      async ({ path, button }, extra) =>
        withComputer(extra, async (c) => {
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
        inputSchema: { text: z.string().min(1).max(MAX_TYPE_CHARS) },
      },
      async ({ text }, extra) =>
        withComputer(extra, async (c) => {
          await c.type(text);
          return textResult(`typed ${text.length} character${text.length === 1 ? '' : 's'}`);
        }),
    );

    server.registerTool(
      'computer_key',
      {
        description: 'Presses a key combination, or a space-separated sequence of them, xdotool style: "Return", "ctrl+c", "ctrl+alt+t" (opens a terminal), "ctrl+a Delete".',
        inputSchema: { keys: z.string().min(1).max(200) },
      },
      async ({ keys }, extra) =>
        withComputer(extra, async (c) => {
          await c.key(keys);
          return textResult(`pressed ${keys}`);
        }),
    );

    server.registerTool(
      'computer_scroll',
      {
        description: 'Scrolls at (x, y) by dx/dy wheel clicks (positive dy scrolls down, positive dx right).',
        inputSchema: { x: COORD, y: COORD, dx: z.number().int().min(-50).max(50).default(0), dy: z.number().int().min(-50).max(50).default(0) },
      },
      async ({ x, y, dx, dy }, extra) =>
        withComputer(extra, async (c) => {
          c.checkPoint(x, y);
          await c.scroll(x, y, dx, dy);
          return textResult(`scrolled (${dx}, ${dy}) at (${x}, ${y})`);
        }),
    );

    /** A progress notification per agent step, when the client asked for progress. */
    const progressReporter = (extra: HandlerExtra, total: number | undefined, label: (task: number) => string) => {
      const token = extra._meta?.progressToken;
      if (token === undefined) return undefined;
      let progress = 0;
      return async (task: number, step: { step: number; action: string }) => {
        progress++;
        await extra
          .sendNotification({
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
          "Lets a computer-use agent do a task on this session's computer (it sees the screen and uses mouse and keyboard). Returns its transcript and the final screenshot. Sends a progress notification per step when the request has a progressToken.",
        inputSchema: { task: z.string().min(1).max(MAX_TASK_CHARS) },
        outputSchema: OUTCOME_SHAPE,
      },
      async ({ task }, extra) => {
        let settings;
        try {
          settings = await getModelSettings();
        } catch (err) {
          return errorResult(err);
        }
        const key = settings.model.apiKey;
        const deadlineAt = deadlineOf(extra);
        const onStep = progressReporter(extra, settings.maxSteps, () => '');
        return withComputer(extra, async (computer) => {
          const outcome = await runTask(0, task, computer, { settings, deadlineAt, signal: extra.signal, onStep });
          const content: CallToolResult['content'] = [{ type: 'text', text: outcomeText(outcome, key) }];
          if (outcome.screenshot) content.push(image(outcome.screenshot));
          if (computer.lost || /COMPUTER_DEAD/.test(outcome.error ?? '')) {
            await session.forget(computer);
            content.push({ type: 'text', text: `This session's computer (${computer.id}) was lost during the task; the next call gets a fresh one.` });
          }
          return { content, structuredContent: outcomeData(outcome, key), isError: outcome.status === 'error' };
        });
      },
    );

    server.registerTool(
      'run_multi_cua_tasks',
      {
        description:
          `Runs several agent tasks (at most ${MAX_TASKS}). concurrent: true runs each on a computer of its own (up to the pool's limit; ` +
          "the rest wait for one); false runs them one after another on this session's computer. Results come back in task order; one task failing does not fail the others.",
        inputSchema: { tasks: z.array(z.string().min(1).max(MAX_TASK_CHARS)).min(1).max(MAX_TASKS), concurrent: z.boolean().default(false) },
        outputSchema: { results: z.array(z.object(OUTCOME_SHAPE)) },
      },
      async ({ tasks, concurrent }, extra) => {
        let settings;
        try {
          settings = await getModelSettings();
        } catch (err) {
          return errorResult(err);
        }
        const key = settings.model.apiKey;
        const leases = ctx.service<LeaseService>('leases');
        if (!leases) return errorResult(new ToolError('NOT_AVAILABLE', 'computers can only be leased inside the mcp-actors runtime'));
        const notes: string[] = [];
        const outcomes = await runTasks({
          tasks,
          concurrent,
          session,
          settings,
          deadlineAt: deadlineOf(extra),
          signal: extra.signal,
          onStep: progressReporter(extra, undefined, (i) => `task ${i + 1}: `),
          leaseExtra: (signal, waitMs) => leaseComputer(leases, { signal, waitMs }),
          notes,
        });
        const content: CallToolResult['content'] = [];
        outcomes.forEach((o, i) => {
          content.push({ type: 'text', text: `## task ${i + 1} of ${outcomes.length}\n${outcomeText(o, key)}` });
          if (o.screenshot) content.push(image(o.screenshot));
        });
        const fresh = session.takeFreshNote();
        for (const note of [...notes, ...(fresh ? [fresh] : [])]) content.push({ type: 'text', text: note });
        return { content, structuredContent: { results: outcomes.map((o) => outcomeData(o, key)) }, isError: outcomes.every((o) => o.status === 'error') };
      },
    );
  },
});

export default toolset;
