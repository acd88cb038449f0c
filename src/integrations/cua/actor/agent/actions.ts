/**
 * The computer_20250124 action vocabulary, mapped onto the Computer contract.
 *
 *   key              text                              computer.key(text)
 *   hold_key         text, duration (s)                computer.holdKey(text, duration·1000)
 *   type             text                              computer.type(text)
 *   cursor_position  –                                 computer.cursorPosition() → "X=…,Y=…"
 *   mouse_move       coordinate                        computer.move(x, y)
 *   left_mouse_down  [coordinate]                      [move(x, y)], computer.mouseDown('left')
 *   left_mouse_up    [coordinate]                      [move(x, y)], computer.mouseUp('left')
 *   left_click       [coordinate]                      computer.click(x, y, 'left')
 *   right_click      [coordinate]                      computer.click(x, y, 'right')
 *   middle_click     [coordinate]                      computer.click(x, y, 'middle')
 *   double_click     [coordinate]                      computer.doubleClick(x, y)
 *   triple_click     [coordinate]                      computer.tripleClick(x, y)
 *   left_click_drag  [start_coordinate], coordinate    computer.drag([start, end], 'left')
 *   scroll           scroll_direction, scroll_amount,  computer.scroll(x, y, dx, dy)
 *                    [coordinate]
 *   wait             duration (s)                      a timer (cut short by cancellation/deadline)
 *   screenshot       –                                 nothing (every result carries a screenshot)
 *
 * A missing optional coordinate means "where the pointer is" (cursorPosition()). Keys held during a
 * click or scroll (`text`, or `key` as the reference implementation names it) cannot be done with
 * the Computer contract, which has no separate key-down/key-up: such actions fail with
 * NOT_SUPPORTED rather than silently clicking without the modifiers.
 */
import { CodedError } from '../../../../shared/errors.js';
import { ComputerError, type Computer, type MouseButton, type Point } from '../../shared/computer.js';
import { sleep } from './sleep.js';

export const COMPUTER_ACTIONS = [
  'key', 'hold_key', 'type', 'cursor_position', 'mouse_move', 'left_mouse_down', 'left_mouse_up', 'left_click',
  'left_click_drag', 'right_click', 'middle_click', 'double_click', 'triple_click', 'scroll', 'wait', 'screenshot',
] as const;
export type ComputerAction = (typeof COMPUTER_ACTIONS)[number];

/** The model's input does not fit the action (missing or malformed parameter, unknown action): code BAD_ACTION_INPUT. */
export class ActionInputError extends CodedError<'BAD_ACTION_INPUT'> {
  constructor(message: string) {
    super('BAD_ACTION_INPUT', message);
    this.name = 'ActionInputError';
  }
}

export interface ActionContext {
  computer: Computer;
  /** Cuts a `wait` short. */
  signal: AbortSignal;
}

export interface ActionOutput {
  /** Text for the model (cursor_position's answer). */
  text?: string;
  /** The action changed the screen: let it settle before the screenshot. */
  settle: boolean;
}

/** Longest `wait` accepted, in seconds (as in Anthropic's reference implementation). */
export const MAX_WAIT_SECONDS = 100;

type Input = Record<string, unknown>;

function asInput(input: unknown): Input {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ActionInputError('the tool input must be an object');
  return input as Input;
}

function point(input: Input, name: string): Point {
  const v = input[name];
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number') {
    throw new ActionInputError(`${name} must be [x, y] (two numbers), got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  // Range and integrality are the computer's to check (BAD_COORDINATES).
  return { x: v[0], y: v[1] };
}

async function pointOrCursor(input: Input, name: string, computer: Computer): Promise<Point> {
  return input[name] === undefined || input[name] === null ? computer.cursorPosition() : point(input, name);
}

function text(input: Input, action: string): string {
  const v = input.text;
  if (typeof v !== 'string' || v.length === 0) throw new ActionInputError(`${action} needs a non-empty string "text"`);
  return v;
}

function seconds(input: Input, action: string, max: number): number {
  const v = input.duration;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new ActionInputError(`${action} needs "duration" in seconds, a number from 0 to ${max}, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return v;
}

function refuseHeldKeys(input: Input, action: string): void {
  const held = [input.text, input.key].find((v) => typeof v === 'string' && v.trim() !== '');
  if (held !== undefined) {
    throw new ComputerError(
      'NOT_SUPPORTED',
      `holding keys (${JSON.stringify(held)}) during ${action} is not supported by this computer; nothing was done. ` +
        'Do the action without held keys, or use key/hold_key actions instead',
    );
  }
}

const CLICKS: Record<string, (c: Computer, p: Point) => Promise<void>> = {
  left_click: (c, p) => c.click(p.x, p.y, 'left'),
  right_click: (c, p) => c.click(p.x, p.y, 'right'),
  middle_click: (c, p) => c.click(p.x, p.y, 'middle'),
  double_click: (c, p) => c.doubleClick(p.x, p.y),
  triple_click: (c, p) => c.tripleClick(p.x, p.y),
};

const WHEEL: Record<string, (n: number) => { dx: number; dy: number }> = {
  up: (n) => ({ dx: 0, dy: -n }),
  down: (n) => ({ dx: 0, dy: n }),
  left: (n) => ({ dx: -n, dy: 0 }),
  right: (n) => ({ dx: n, dy: 0 }),
};

async function button(input: Input, ctx: ActionContext, press: (c: Computer, b: MouseButton) => Promise<void>): Promise<ActionOutput> {
  if (input.coordinate !== undefined && input.coordinate !== null) {
    const p = point(input, 'coordinate');
    await ctx.computer.move(p.x, p.y);
  }
  await press(ctx.computer, 'left');
  return { settle: true };
}

/**
 * Performs one computer action. Rejects with ActionInputError (bad input), ComputerError (the
 * computer refused or failed), or the signal's reason (a `wait` cut short).
 */
export async function performAction(raw: unknown, ctx: ActionContext): Promise<ActionOutput> {
  const input = asInput(raw);
  const action = input.action;
  const { computer } = ctx;
  switch (action) {
    case 'key':
      await computer.key(text(input, action));
      return { settle: true };
    case 'hold_key': {
      const keys = text(input, action);
      await computer.holdKey(keys, Math.round(seconds(input, action, MAX_WAIT_SECONDS) * 1000));
      return { settle: true };
    }
    case 'type':
      await computer.type(text(input, action));
      return { settle: true };
    case 'cursor_position': {
      const p = await computer.cursorPosition();
      return { text: `X=${p.x},Y=${p.y}`, settle: false };
    }
    case 'mouse_move': {
      const p = point(input, 'coordinate');
      await computer.move(p.x, p.y);
      return { settle: true };
    }
    case 'left_mouse_down':
      return button(input, ctx, (c, b) => c.mouseDown(b));
    case 'left_mouse_up':
      return button(input, ctx, (c, b) => c.mouseUp(b));
    case 'left_click':
    case 'right_click':
    case 'middle_click':
    case 'double_click':
    case 'triple_click': {
      refuseHeldKeys(input, action);
      const p = await pointOrCursor(input, 'coordinate', computer);
      await CLICKS[action]!(computer, p);
      return { settle: true };
    }
    case 'left_click_drag': {
      const end = point(input, 'coordinate');
      const start = await pointOrCursor(input, 'start_coordinate', computer);
      await computer.drag([start, end], 'left');
      return { settle: true };
    }
    case 'scroll': {
      refuseHeldKeys(input, action);
      const direction = input.scroll_direction;
      const wheel = typeof direction === 'string' ? WHEEL[direction] : undefined;
      if (wheel === undefined) throw new ActionInputError(`scroll_direction must be up, down, left or right, got ${JSON.stringify(direction) ?? 'nothing'}`);
      const amount = input.scroll_amount;
      if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0) {
        throw new ActionInputError(`scroll_amount must be a non-negative integer, got ${JSON.stringify(amount) ?? 'nothing'}`);
      }
      const p = await pointOrCursor(input, 'coordinate', computer);
      const { dx, dy } = wheel(amount);
      await computer.scroll(p.x, p.y, dx, dy);
      return { settle: true };
    }
    case 'wait':
      await sleep(seconds(input, action, MAX_WAIT_SECONDS) * 1000, ctx.signal);
      return { settle: false };
    case 'screenshot':
      return { settle: false };
    default:
      throw new ActionInputError(`unknown action ${JSON.stringify(action) ?? '(none)'}; the actions are ${COMPUTER_ACTIONS.join(', ')}`);
  }
}
