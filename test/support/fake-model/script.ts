// What the fake model says, turn by turn: a script of tool uses, a final answer, and injected
// failures. Each request that passes validation takes the next step.

/** The `input` of a computer tool_use, e.g. { action: 'left_click', coordinate: [10, 20] }. */
export interface FakeToolInput {
  action: string;
  [key: string]: unknown;
}

/** Anthropic's error types, as they appear in `{"type":"error","error":{"type":…}}`. */
export type FakeErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/**
 * Canned failures: 'rate_limit' 429, 'overloaded' 529, 'server' 500, 'invalid_request' 400,
 * 'auth' 401 (all in Anthropic's error shape), 'bad_json' a 200 whose body is not JSON,
 * 'bad_shape' a 200 JSON message without a content array.
 */
export type FaultKind = 'rate_limit' | 'overloaded' | 'server' | 'invalid_request' | 'auth' | 'bad_json' | 'bad_shape';

export interface CustomFault {
  status: number;
  type: FakeErrorType;
  message: string;
}

export type ScriptStep =
  /** One turn with one tool_use block per input (usually one), stop_reason 'tool_use'. */
  | { use: FakeToolInput | FakeToolInput[]; text?: string; delayMs?: number }
  /** A final text answer, stop_reason 'end_turn' unless given. */
  | { final: string; stopReason?: string; delayMs?: number }
  /** Answer `times` requests (default 1) with a failure; `retryAfter` seconds sets the retry-after header. */
  | { fail: FaultKind | CustomFault; times?: number; retryAfter?: number; delayMs?: number };

/** Walks a script; a failure step with times > 1 answers that many requests. */
export class ScriptPlayer {
  private index = 0;
  private usedTimes = 0;

  constructor(private readonly steps: readonly ScriptStep[]) {}

  /** The step the next request gets (undefined once the script is over). */
  peek(): { step: ScriptStep; index: number } | undefined {
    const step = this.steps[this.index];
    return step === undefined ? undefined : { step, index: this.index };
  }

  /** Marks the peeked step as used by one request. */
  consume(): void {
    const step = this.steps[this.index];
    if (step === undefined) return;
    if ('fail' in step && ++this.usedTimes < (step.times ?? 1)) return;
    this.usedTimes = 0;
    this.index++;
  }

  get done(): boolean {
    return this.index >= this.steps.length;
  }
}

/** Checks a script read from JSON (the CLI); throws with the first problem. */
export function parseScript(raw: unknown): ScriptStep[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? (raw as { script?: unknown }).script : undefined;
  if (!Array.isArray(list)) throw new Error('a script is a JSON array of steps (or {"script": [...]})');
  return list.map((s: unknown, i) => {
    if (typeof s !== 'object' || s === null) throw new Error(`step ${i} is not an object`);
    const step = s as Record<string, unknown>;
    if ('use' in step) {
      const uses = Array.isArray(step.use) ? step.use : [step.use];
      for (const u of uses) {
        if (typeof u !== 'object' || u === null || typeof (u as { action?: unknown }).action !== 'string') {
          throw new Error(`step ${i}: every "use" needs a string "action"`);
        }
      }
    } else if ('final' in step) {
      if (typeof step.final !== 'string') throw new Error(`step ${i}: "final" must be a string`);
    } else if (!('fail' in step)) {
      throw new Error(`step ${i} needs "use", "final" or "fail"`);
    }
    return step as ScriptStep;
  });
}
