/**
 * The agent loop's public types: what runAgentTask() takes and what it returns.
 */
import type { Computer } from '../../shared/computer.js';

/** Where and how to reach a model that speaks the Anthropic Messages API. */
export interface ModelConfig {
  /** API origin without the path, e.g. "https://api.anthropic.com" (a trailing slash is fine). */
  baseUrl: string;
  /** Sent as `x-api-key`; never appears in results, transcripts or error messages. */
  apiKey: string;
  /** Model id, e.g. "claude-sonnet-4-5-20250929". */
  model: string;
  /** `max_tokens` of every request (default 4096). */
  maxTokens?: number;
  /**
   * Retries of one request after 429, 5xx, 529 (overloaded) or a network failure, with backoff
   * (or the server's retry-after). Default 2, like Anthropic's SDKs. 0 disables retrying.
   */
  maxRetries?: number;
}

/** Reported once per step (one model turn and the actions it asked for). */
export interface AgentStep {
  /** 1-based step number. */
  step: number;
  /** The step's action(s), human-readable, e.g. `left_click (120, 40)`; several are joined with "; ". */
  action: string;
  /** The model's text in that turn ('' if it said nothing). */
  text: string;
  /** True when at least one of the step's actions failed (and was reported to the model as an error). */
  failed: boolean;
}

export interface AgentTaskOptions {
  computer: Computer;
  /** The user's instruction. */
  task: string;
  model: ModelConfig;
  /** Most steps (model turns that ask for actions) to execute (default 30). */
  maxSteps?: number;
  /** Most screenshots kept in the conversation sent to the model (default 3); older ones become a text placeholder. */
  maxImages?: number;
  /** Time budget of the whole task in ms, counted from the call. */
  deadlineMs: number;
  /** Aborting it cancels the task: an in-flight model request is abandoned, no further action starts. */
  signal?: AbortSignal;
  /** Called (and awaited) after every step; its failures are ignored. */
  onStep?: (step: AgentStep) => void | Promise<void>;
  /** System prompt; default: DEFAULT_SYSTEM_PROMPT plus the screen size. */
  system?: string;
  /** `anthropic-beta` header (default "computer-use-2025-01-24"); '' sends none. */
  betaHeader?: string;
  /** Pause after an input action before its screenshot, in ms, so the screen can settle (default 300). */
  settleMs?: number;
}

export type AgentStatus = 'done' | 'max_steps' | 'deadline' | 'cancelled' | 'error';

export interface AgentResult {
  status: AgentStatus;
  /** The model's text of its last turn (its answer when status is 'done'). */
  finalText: string;
  /** Human-readable log: the task, the model's text blocks, one line per action, the outcome. */
  transcript: string;
  /** Steps executed. */
  steps: number;
  /** PNG of the screen when the task ended (absent if it could not be taken). */
  finalScreenshot?: Uint8Array;
  /** What went wrong, when status is 'error'. */
  error?: string;
}
