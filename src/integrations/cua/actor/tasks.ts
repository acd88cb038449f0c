/**
 * Running agent tasks for run_cua_task and run_multi_cua_tasks: the agent loop
 * (src/integrations/cua/actor/agent) runs here, in the actor's thread, against leased computers
 * over RPC.
 *
 * Several tasks: a small work queue. Worker 0 drives the session's own computer — or, on a
 * stateless call (no session), one it leases for this call like the others; with `concurrent`,
 * up to maxComputers − 1 more workers each lease a computer of their own (waiting like any lease)
 * and take tasks from the queue until it is empty — so extra tasks wait for a computer, results
 * come back in task order, and one task's failure (even its computer dying) touches no other task.
 * Computers leased for the call go back to the pool (and are reset) before it answers; waits still
 * pending then are abandoned.
 */
import { runAgentTask, type AgentResult, type AgentStatus, type AgentStep } from './agent/index.js';
import type { CuaModelSettings, CuaSettings } from '../shared/lease-api.js';
import type { LeasedComputer, SessionComputer } from './session-computer.js';
import { ToolError } from './session-computer.js';

/** Kept between a task's budget and the request's deadline, so the result is sent in time. */
export const ANSWER_MARGIN_MS = 2_000;
/** Below this, a task is not started at all. */
const MIN_TASK_MS = 1_000;

export interface TaskOutcome {
  task: string;
  status: AgentStatus;
  steps: number;
  finalText: string;
  transcript: string;
  error?: string;
  computer?: string;
  screenshot?: Uint8Array;
}

export interface TaskRunOptions {
  settings: CuaSettings & { model: CuaModelSettings };
  /** Epoch ms at which the request's deadline passes. */
  deadlineAt: number;
  signal: AbortSignal;
  /** Called once per agent step of any task. */
  onStep?(task: number, step: AgentStep): void | Promise<void>;
}

export function timeLeft(deadlineAt: number): number {
  return deadlineAt - Date.now() - ANSWER_MARGIN_MS;
}

function notRun(task: string, status: AgentStatus, error: string): TaskOutcome {
  return { task, status, steps: 0, finalText: '', transcript: `task: ${task}\n=> ${status}: ${error}`, error };
}

/** Runs one task on `computer` within what is left of the request's deadline. */
export async function runTask(index: number, task: string, computer: LeasedComputer, o: TaskRunOptions): Promise<TaskOutcome> {
  const budget = Math.min(o.settings.taskDeadlineMs, timeLeft(o.deadlineAt));
  if (o.signal.aborted) return notRun(task, 'cancelled', 'cancelled before it started');
  if (budget < MIN_TASK_MS) return notRun(task, 'deadline', 'the request\'s deadline left no time to start it');
  const r: AgentResult = await runAgentTask({
    computer,
    task,
    model: o.settings.model,
    maxSteps: o.settings.maxSteps,
    maxImages: o.settings.maxImages,
    deadlineMs: budget,
    signal: o.signal,
    onStep: o.onStep ? (step) => o.onStep!(index, step) : undefined,
  });
  const out: TaskOutcome = { task, status: r.status, steps: r.steps, finalText: r.finalText, transcript: r.transcript, computer: computer.id };
  if (r.error !== undefined) out.error = r.error;
  if (r.finalScreenshot !== undefined) out.screenshot = r.finalScreenshot;
  return out;
}

export interface MultiOptions extends TaskRunOptions {
  tasks: string[];
  concurrent: boolean;
  /** The session's computer, for worker 0; undefined on a stateless call (worker 0 leases one too). */
  session: SessionComputer | undefined;
  /** Leases one more computer (waiting at most `waitMs`, abandoned when `signal` aborts). */
  leaseExtra(signal: AbortSignal, waitMs: number): Promise<LeasedComputer>;
  /** Notes for the result (e.g. a lost or replaced session computer). */
  notes: string[];
}

export async function runTasks(o: MultiOptions): Promise<TaskOutcome[]> {
  const n = o.tasks.length;
  const outcomes: Array<TaskOutcome | undefined> = new Array(n).fill(undefined);
  let next = 0;
  const stopWaiting = new AbortController();
  const abortWaits = () => stopWaiting.abort(new Error('no task left for another computer'));
  const take = (): number | undefined => {
    if (next >= n || o.signal.aborted) return undefined;
    const i = next++;
    if (next >= n) abortWaits();
    return i;
  };
  let lastLeaseError: unknown;

  /** A worker: a computer (the session's, or one of its own) and tasks from the queue until none is left. */
  const worker = async (first: boolean) => {
    const session = first ? o.session : undefined;
    const own = session !== undefined;
    let computer: LeasedComputer | undefined;
    try {
      for (;;) {
        if (next >= n || o.signal.aborted) return;
        if (!computer) {
          const waitMs = Math.min(o.settings.waitTimeoutMs, timeLeft(o.deadlineAt));
          if (waitMs <= 0) return;
          try {
            if (session) {
              computer = await session.get({ signal: o.signal, waitMs }).catch((err: unknown) => {
                if (!(err instanceof ToolError && err.code === 'COMPUTER_LOST')) throw err;
                o.notes.push(err.message);
                return session.get({ signal: o.signal, waitMs }); // the loss is reported; a fresh one
              });
            } else {
              computer = await o.leaseExtra(AbortSignal.any([o.signal, stopWaiting.signal]), waitMs);
            }
          } catch (err) {
            lastLeaseError = err;
            return;
          }
        }
        const i = take();
        if (i === undefined) return;
        const outcome = await runTask(i, o.tasks[i]!, computer, o).catch((err: unknown) => notRun(o.tasks[i]!, 'error', (err as Error).message));
        outcomes[i] = outcome;
        if (computer.lost || (outcome.status === 'error' && /COMPUTER_DEAD/.test(outcome.error ?? ''))) {
          outcome.error = `${outcome.error ?? 'the computer was lost'} (its computer ${computer.id} was lost${own ? '; this session gets a fresh one' : ''})`;
          if (session) await session.forget(computer);
          else await computer.lease.release();
          computer = undefined;
        }
      }
    } finally {
      if (!own && computer) await computer.lease.release();
    }
  };

  const extra = o.concurrent ? Math.max(0, Math.min(n, o.settings.maxComputers) - 1) : 0;
  try {
    await Promise.all([worker(true), ...Array.from({ length: extra }, () => worker(false))]);
  } finally {
    abortWaits();
  }
  const why = lastLeaseError === undefined ? (o.signal.aborted ? 'the request was cancelled' : 'no time was left') : `no computer for it: ${(lastLeaseError as Error).message}`;
  return outcomes.map((r, i) => r ?? notRun(o.tasks[i]!, o.signal.aborted ? 'cancelled' : 'error', why));
}
