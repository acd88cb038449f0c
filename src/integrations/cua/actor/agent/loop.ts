/**
 * runAgentTask: the computer-use agent loop.
 *
 * Each turn sends the conversation to the model (POST /v1/messages with the computer_20250124
 * tool). If the answer asks for actions (tool_use blocks), that is one step: every action runs on
 * the computer, and each gets a tool_result — a screenshot, or is_error with what went wrong —
 * in the next user message. An answer without tool_use ends the task. Only the `maxImages` most
 * recent screenshots travel with each request.
 *
 * Stops: 'done' (the model answered), 'max_steps' (it asked for more actions after maxSteps steps),
 * 'deadline' (deadlineMs passed), 'cancelled' (signal aborted), 'error' (the model API failed, the
 * model stopped abnormally, or the computer died). A deadline or cancellation abandons an
 * in-flight model request and cuts a `wait` short; an action already running finishes first.
 */
import { ComputerError, type Computer } from '../../shared/computer.js';
import { ActionInputError, performAction } from './actions.js';
import { DEFAULT_MAX_IMAGES, DEFAULT_MAX_STEPS, DEFAULT_MAX_TOKENS } from '../../shared/agent-config.js';
import { describeAction } from './describe.js';
import { keepRecentImages } from './images.js';
import { ModelError, postMessagesWithRetries, redact } from './model-client.js';
import { sleep } from './sleep.js';
import { defaultSystemPrompt } from './system-prompt.js';
import { Transcript } from './transcript.js';
import type { AgentResult, AgentStatus, AgentStep, AgentTaskOptions } from './types.js';
import {
  COMPUTER_TOOL_NAME, COMPUTER_TOOL_TYPE, COMPUTER_USE_BETA, imageBlock, isTextBlock, isToolUseBlock,
  type ComputerToolDefinition, type ImageBlock, type Message, type TextBlock, type ToolResultBlock, type ToolUseBlock,
} from './wire.js';

const DEFAULT_SETTLE_MS = 300;
const MAX_TIMER_MS = 2 ** 31 - 1;

type Outcome = { status: AgentStatus; error?: string };

function check(options: AgentTaskOptions): void {
  const { computer, task, model } = options;
  if (typeof computer !== 'object' || computer === null) throw new TypeError('runAgentTask: computer is required');
  if (typeof task !== 'string' || task.trim() === '') throw new TypeError('runAgentTask: task must be a non-empty string');
  if (typeof model !== 'object' || model === null) throw new TypeError('runAgentTask: model is required');
  for (const key of ['baseUrl', 'apiKey', 'model'] as const) {
    if (typeof model[key] !== 'string' || model[key].trim() === '') throw new TypeError(`runAgentTask: model.${key} must be a non-empty string`);
  }
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`runAgentTask: ${name} must be a positive integer, got ${String(v)}`);
  };
  positiveInt('maxSteps', options.maxSteps);
  positiveInt('maxImages', options.maxImages);
  positiveInt('model.maxTokens', model.maxTokens);
  if (model.maxRetries !== undefined && (!Number.isInteger(model.maxRetries) || model.maxRetries < 0)) {
    throw new RangeError('runAgentTask: model.maxRetries must be a non-negative integer');
  }
  if (typeof options.deadlineMs !== 'number' || !(options.deadlineMs > 0)) throw new RangeError('runAgentTask: deadlineMs must be a positive number');
  if (options.settleMs !== undefined && !(options.settleMs >= 0)) throw new RangeError('runAgentTask: settleMs must be >= 0');
}

/** Runs `task` on `computer` with the model; never rejects once the options are valid. */
export async function runAgentTask(options: AgentTaskOptions): Promise<AgentResult> {
  check(options);
  return new AgentRun(options).run();
}

class AgentRun {
  private readonly computer: Computer;
  private readonly transcript: Transcript;
  private readonly deadline = new AbortController();
  /** Aborts on cancellation or at the deadline. */
  private readonly signal: AbortSignal;
  private readonly maxSteps: number;
  private readonly maxImages: number;
  private readonly settleMs: number;
  private steps = 0;
  private finalText = '';
  private computerDead = false;

  constructor(private readonly options: AgentTaskOptions) {
    this.computer = options.computer;
    this.transcript = new Transcript(options.task);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.deadline.signal]) : this.deadline.signal;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  async run(): Promise<AgentResult> {
    const ms = this.options.deadlineMs;
    const timer = setTimeout(() => this.deadline.abort(new Error(`deadline of ${ms} ms passed`)), Math.min(ms, MAX_TIMER_MS));
    let outcome: Outcome;
    try {
      outcome = await this.loop();
    } catch (err) {
      outcome = this.stopped() ?? { status: 'error', error: this.describeError(err) };
    } finally {
      clearTimeout(timer);
    }
    let finalScreenshot: Uint8Array | undefined;
    if (!this.computerDead) {
      finalScreenshot = await this.computer.screenshot().catch((err: unknown) => {
        this.transcript.note(`(no final screenshot: ${(err as Error).message})`);
        return undefined;
      });
    }
    const error = outcome.error === undefined ? undefined : redact(outcome.error, this.options.model.apiKey);
    this.transcript.note(`=> ${outcome.status} after ${this.steps} step${this.steps === 1 ? '' : 's'}${error === undefined ? '' : `: ${error}`}`);
    const result: AgentResult = {
      status: outcome.status,
      finalText: this.finalText,
      transcript: redact(this.transcript.toString(), this.options.model.apiKey),
      steps: this.steps,
    };
    if (finalScreenshot !== undefined) result.finalScreenshot = finalScreenshot;
    if (error !== undefined) result.error = error;
    return result;
  }

  /** Cancellation wins over the deadline when both happened. */
  private stopped(): Outcome | undefined {
    if (this.options.signal?.aborted) return { status: 'cancelled' };
    if (this.deadline.signal.aborted) return { status: 'deadline' };
    return undefined;
  }

  private async loop(): Promise<Outcome> {
    const early = this.stopped();
    if (early) return early;
    const { model } = this.options;
    const size = await this.computer.screenSize();
    const tool: ComputerToolDefinition = {
      type: COMPUTER_TOOL_TYPE,
      name: COMPUTER_TOOL_NAME,
      display_width_px: size.width,
      display_height_px: size.height,
    };
    const system = this.options.system ?? defaultSystemPrompt(this.computer, size);
    const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: this.options.task }] }];
    const betaHeader = this.options.betaHeader ?? COMPUTER_USE_BETA;

    for (;;) {
      const stop = this.stopped();
      if (stop) return stop;
      keepRecentImages(messages, this.maxImages);
      const response = await postMessagesWithRetries(
        model,
        { model: model.model, max_tokens: model.maxTokens ?? DEFAULT_MAX_TOKENS, system, tools: [tool], messages },
        { signal: this.signal, betaHeader },
      );
      messages.push({ role: 'assistant', content: response.content });
      const text = response.content.filter(isTextBlock).map((b) => b.text).join('\n').trim();
      this.finalText = text;
      this.transcript.model(this.steps + 1, text);

      const uses = response.content.filter(isToolUseBlock);
      if (uses.length === 0) return this.endOfTurn(response.stop_reason);
      if (this.steps >= this.maxSteps) return { status: 'max_steps' };

      const step = ++this.steps;
      const results: ToolResultBlock[] = [];
      const descriptions: string[] = [];
      let failed = false;
      for (const use of uses) {
        const done = await this.execute(use);
        results.push(done.result);
        descriptions.push(done.description);
        this.transcript.action(step, done.description, done.error);
        if (done.error !== undefined) failed = true;
      }
      messages.push({ role: 'user', content: results });
      await this.report({ step, action: descriptions.join('; '), text, failed });
    }
  }

  private endOfTurn(stopReason: string | null): Outcome {
    switch (stopReason) {
      case 'end_turn':
      case 'stop_sequence':
      case null:
        return { status: 'done' };
      case 'max_tokens':
        return { status: 'error', error: `the model reached max_tokens (${this.options.model.maxTokens ?? DEFAULT_MAX_TOKENS}) before finishing its answer` };
      case 'refusal':
        return { status: 'error', error: 'the model refused to continue the task' };
      default:
        return { status: 'error', error: `the model stopped with stop_reason ${JSON.stringify(stopReason)} and no action` };
    }
  }

  /** Runs one tool_use; failures the model can react to become an is_error tool_result. */
  private async execute(use: ToolUseBlock): Promise<{ result: ToolResultBlock; description: string; error?: string }> {
    const description = use.name === COMPUTER_TOOL_NAME ? describeAction(use.input) : `${use.name} (unknown tool)`;
    const failure = (error: string) => ({
      result: { type: 'tool_result' as const, tool_use_id: use.id, is_error: true, content: [{ type: 'text' as const, text: error }] },
      description,
      error,
    });
    if (use.name !== COMPUTER_TOOL_NAME) return failure(`unknown tool ${JSON.stringify(use.name)}; the only tool is "${COMPUTER_TOOL_NAME}"`);

    let text: string | undefined;
    try {
      const out = await performAction(use.input, { computer: this.computer, signal: this.signal });
      text = out.text;
      if (out.settle && this.settleMs > 0) await sleep(this.settleMs, this.signal);
    } catch (err) {
      if (this.signal.aborted) throw err;
      this.noteDeath(err);
      if (err instanceof ComputerError) return failure(`${err.code}: ${err.message}`);
      if (err instanceof ActionInputError) return failure(`invalid input: ${err.message}`);
      return failure(`the action failed unexpectedly: ${(err as Error)?.message ?? String(err)}`);
    }

    const content: Array<TextBlock | ImageBlock> = [];
    if (text !== undefined) content.push({ type: 'text', text });
    try {
      content.push(imageBlock(await this.computer.screenshot()));
    } catch (err) {
      this.noteDeath(err);
      content.push({ type: 'text', text: `The action was performed, but the screenshot failed: ${(err as Error).message}` });
    }
    return { result: { type: 'tool_result', tool_use_id: use.id, content }, description };
  }

  /** A dead computer ends the task: nothing the model does can help. */
  private noteDeath(err: unknown): void {
    if (err instanceof ComputerError && err.code === 'COMPUTER_DEAD') {
      this.computerDead = true;
      throw err;
    }
  }

  private async report(step: AgentStep): Promise<void> {
    if (!this.options.onStep) return;
    try {
      await this.options.onStep(step);
    } catch {
      // A progress listener's failure must not end the task.
    }
  }

  private describeError(err: unknown): string {
    if (err instanceof ModelError) return err.message;
    if (err instanceof ComputerError) return `the computer ${this.computer.id} failed: ${err.code}: ${err.message}`;
    return (err as Error)?.message ?? String(err);
  }
}
