/**
 * Server side: one computer-server command -> calls on our Computer -> the reply's result fields.
 *
 * Semantics follow the computer-server's Linux handler: clicks without x/y happen where the
 * pointer is; `scroll` {x, y} are wheel amounts (y > 0 up) at the pointer; `drag_to` drags from the
 * pointer. Params a command does not take are ignored; a missing required one is BAD_ARGUMENT.
 * `key_down`/`key_up` are refused (NOT_SUPPORTED): the Computer contract only holds keys for a
 * given time (our `mcp_actors_hold_key` extension). Screenshots are PNG only.
 */
import { ComputerError, type Computer, type MouseButton, type Point } from '../../shared/computer.js';
import { COMMANDS, cuaKeysToXdotoolCombo, cuaKeyToXdotool, EXTENSIONS, type Params } from './protocol.js';

type Result = Record<string, unknown>;
type Handler = (c: Computer, p: Params, command: string) => Promise<Result>;

function present(p: Params, name: string): boolean {
  return p[name] !== undefined && p[name] !== null;
}

function required(p: Params, name: string, command: string): unknown {
  if (!present(p, name)) throw new ComputerError('BAD_ARGUMENT', `${command}: missing required parameter '${name}'`);
  return p[name];
}

function int(p: Params, name: string, command: string, dflt?: number): number {
  const v = dflt !== undefined && !present(p, name) ? dflt : required(p, name, command);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ComputerError('BAD_ARGUMENT', `${command}: '${name}' must be an integer`);
  return v;
}

function button(p: Params): MouseButton {
  return (present(p, 'button') ? p.button : 'left') as MouseButton; // the Computer validates it
}

/** The point a command names with optional x/y: both given, or the pointer's position. */
async function target(c: Computer, p: Params, command: string): Promise<Point> {
  if (present(p, 'x') && present(p, 'y')) return { x: p.x as number, y: p.y as number };
  if (present(p, 'x') || present(p, 'y')) throw new ComputerError('BAD_ARGUMENT', `${command}: give both x and y, or neither`);
  return c.cursorPosition();
}

function pathPoints(path: unknown, command: string): Point[] {
  if (!Array.isArray(path)) throw new ComputerError('BAD_ARGUMENT', `${command}: 'path' must be a list of [x, y] points`);
  return path.map((pt: unknown) => {
    if (Array.isArray(pt) && pt.length === 2) return { x: pt[0] as number, y: pt[1] as number };
    if (typeof pt === 'object' && pt !== null && 'x' in pt && 'y' in pt) return { x: (pt as Point).x, y: (pt as Point).y };
    throw new ComputerError('BAD_COORDINATES', `${command}: path holds a non-point`);
  });
}

async function scrollAt(c: Computer, dx: number, dy: number): Promise<Result> {
  const at = await c.cursorPosition();
  await c.scroll(at.x, at.y, dx, dy);
  return {};
}

const done = async (action: Promise<void>): Promise<Result> => {
  await action;
  return {};
};

const HANDLERS: Readonly<Record<string, Handler>> = {
  [COMMANDS.screenshot]: async (c, p, command) => {
    const format = present(p, 'format') ? p.format : 'png';
    if (typeof format !== 'string' || format.toLowerCase() !== 'png') {
      throw new ComputerError('NOT_SUPPORTED', `${command}: unsupported screenshot format ${JSON.stringify(format)}; this server produces png only`);
    }
    const png = await c.screenshot();
    return { image_data: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64'), format: 'png' };
  },
  [COMMANDS.getScreenSize]: async (c) => ({ size: await c.screenSize() }),
  [COMMANDS.getCursorPosition]: async (c) => ({ position: await c.cursorPosition() }),
  [COMMANDS.moveCursor]: (c, p, command) => done(c.move(required(p, 'x', command) as number, required(p, 'y', command) as number)),
  [COMMANDS.leftClick]: async (c, p, command) => {
    const at = await target(c, p, command);
    return done(c.click(at.x, at.y, 'left'));
  },
  [COMMANDS.rightClick]: async (c, p, command) => {
    const at = await target(c, p, command);
    return done(c.click(at.x, at.y, 'right'));
  },
  [COMMANDS.doubleClick]: async (c, p, command) => {
    const at = await target(c, p, command);
    return done(c.doubleClick(at.x, at.y));
  },
  [COMMANDS.mouseDown]: async (c, p, command) => {
    if (present(p, 'x') || present(p, 'y')) {
      const at = await target(c, p, command);
      await c.move(at.x, at.y);
    }
    return done(c.mouseDown(button(p)));
  },
  [COMMANDS.mouseUp]: async (c, p, command) => {
    if (present(p, 'x') || present(p, 'y')) {
      const at = await target(c, p, command);
      await c.move(at.x, at.y);
    }
    return done(c.mouseUp(button(p)));
  },
  [COMMANDS.dragTo]: async (c, p, command) => {
    const to = { x: required(p, 'x', command) as number, y: required(p, 'y', command) as number };
    const from = await c.cursorPosition();
    return done(c.drag([from, to], button(p)));
  },
  [COMMANDS.drag]: (c, p, command) => done(c.drag(pathPoints(required(p, 'path', command), command), button(p))),
  [COMMANDS.typeText]: (c, p, command) => done(c.type(required(p, 'text', command) as string)),
  [COMMANDS.pressKey]: (c, p, command) => done(c.key(cuaKeyToXdotool(required(p, 'key', command)))),
  [COMMANDS.hotkey]: (c, p, command) => done(c.key(cuaKeysToXdotoolCombo(required(p, 'keys', command)))),
  [COMMANDS.keyDown]: async (_c, _p, command) => {
    throw new ComputerError('NOT_SUPPORTED', `${command} is not supported by this computer-server (keys can only be held for a given time: ${EXTENSIONS.holdKey})`);
  },
  [COMMANDS.keyUp]: async (_c, _p, command) => {
    throw new ComputerError('NOT_SUPPORTED', `${command} is not supported by this computer-server (keys can only be held for a given time: ${EXTENSIONS.holdKey})`);
  },
  [COMMANDS.scroll]: (c, p, command) => scrollAt(c, int(p, 'x', command), -int(p, 'y', command)),
  [COMMANDS.scrollDown]: (c, p, command) => scrollAt(c, 0, Math.abs(int(p, 'clicks', command, 1))),
  [COMMANDS.scrollUp]: (c, p, command) => scrollAt(c, 0, -Math.abs(int(p, 'clicks', command, 1))),
  [COMMANDS.scrollDirection]: (c, p, command) => {
    const clicks = Math.abs(int(p, 'clicks', command, 1));
    const direction = String(required(p, 'direction', command)).toLowerCase();
    const d = { up: [0, -clicks], down: [0, clicks], left: [-clicks, 0], right: [clicks, 0] }[direction];
    if (!d) throw new ComputerError('BAD_ARGUMENT', `Invalid direction: ${direction.slice(0, 20)}. Use 'up', 'down', 'left', or 'right'.`);
    return scrollAt(c, d[0] as number, d[1] as number);
  },
  [EXTENSIONS.reset]: (c) => done(c.reset()),
  [EXTENSIONS.holdKey]: (c, p, command) => done(c.holdKey(required(p, 'keys', command) as string, required(p, 'ms', command) as number)),
  [EXTENSIONS.tripleClick]: async (c, p, command) => {
    const at = await target(c, p, command);
    return done(c.tripleClick(at.x, at.y));
  },
};

/** The commands this server runs against a computer (besides `version` and `authenticate`). */
export function hasCommand(command: string): boolean {
  return Object.hasOwn(HANDLERS, command);
}

/** Runs one command against `computer`; rejects with a ComputerError (or whatever the Computer threw). */
export function dispatch(computer: Computer, command: string, params: Params): Promise<Result> {
  const handler = hasCommand(command) ? HANDLERS[command] : undefined;
  if (!handler) return Promise.reject(new ComputerError('NOT_SUPPORTED', `Unknown command: ${command}`));
  return handler(computer, params, command);
}
