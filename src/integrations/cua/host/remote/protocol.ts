/**
 * trycua's computer-server protocol: the frames, and how our Computer methods map onto its commands.
 *
 * Implemented: computer-server protocol version 1 (the `protocol` field of its `version` command),
 * as served by cua-computer-server 0.3.42. Facts read (not copied) from trycua/cua at commit
 * b296ec9cbf460f360cf8ea2e203c26bcc92614b0:
 *   - libs/python/computer-server/computer_server/main.py — /ws loop, auth handshake, command
 *     table and aliases, reply wrapping, /cmd, /status, /commands, `version`
 *   - libs/python/computer-server/computer_server/handlers/base.py — command signatures
 *   - libs/python/computer-server/computer_server/handlers/linux.py, macos.py, windows.py, vnc.py —
 *     key names (pynput Key attributes), scroll sign, reply fields
 *   - libs/python/computer-server/computer_server/backend_policy.py — the remote-control command
 *     set, a failure reply with an extra `code`
 *   - libs/python/computer-server/computer_server/cli.py — default port 8000
 *   - libs/python/computer/computer/interface/generic.py, models.py — the Python client's frames,
 *     auth handshake, REST-first /cmd with WebSocket fallback, key aliases
 *   - libs/python/agent/cua_agent/computers/sandbox.py — X11/Anthropic key names -> pynput names
 *   - libs/python/cua-sandbox/cua_sandbox/transport/computer_server.py — reply shapes a client accepts
 *   - libs/typescript/computer/src/interface/base.ts, macos.ts — the TypeScript client's frames
 *
 * The protocol:
 * - WebSocket at `/ws`, JSON text frames. Request `{"command": name, "params": {...}}`; exactly one
 *   reply per request, in order (the server handles one frame at a time per connection). Params
 *   the handler does not take are ignored; a missing required one is a failure reply.
 * - Reply: `{"success": true, ...result fields}` or `{"success": false, "error": "<text>"}`.
 *   Result fields: `screenshot` -> `image_data` (base64) and `format` ("png"); `get_screen_size` ->
 *   `size: {width, height}`; `get_cursor_position` -> `position: {x, y}`; `version` ->
 *   `protocol` (1) and `package` (a version string); input commands -> nothing more.
 *   Unknown command -> `{"success": false, "error": "Unknown command: <name>[. Did you mean: ...?]"}`.
 * - Auth (only when the server is a cloud sandbox, i.e. has CONTAINER_NAME set): the first frame
 *   must be `{"command": "authenticate", "params": {"api_key", "container_name"}}`; the server
 *   answers `{"success": true, "message": "Authentication successful"}` or
 *   `{"success": false, "error": "First message must be authentication" | "API key required" |
 *   "Container name required" | "Authentication failed"}` and closes. Clients send it only when
 *   they have both a key and a container name; a server without auth does not know the command.
 * - Commands used here (params): `move_cursor` {x, y}; `left_click`/`right_click`/`double_click`
 *   {x?, y?}; `mouse_down`/`mouse_up` {x?, y?, button = "left"}; `drag_to` {x, y, button, duration};
 *   `drag` {path: [[x, y], ...], button, duration}; `type_text` {text}; `press_key` {key};
 *   `hotkey` {keys: [...]}; `key_down`/`key_up` {key}; `scroll` {x, y} — wheel amounts, not a
 *   position: y > 0 up, y < 0 down, x > 0 right; `scroll_down`/`scroll_up` {clicks = 1};
 *   `scroll_direction` {direction, clicks}; `screenshot` {format = "png", quality};
 *   `get_screen_size`; `get_cursor_position`; `version`. Aliases: type, key, tap, click.
 * - HTTP: `GET /status` -> `{"status": "ok", "os_type", "features": [...]}`; `POST /cmd` with the
 *   same body (auth in X-API-Key / X-Container-Name headers) answers one `data: <reply JSON>\n\n`
 *   line; the Python client tries /cmd first and falls back to /ws when the body is not that.
 *
 * Our extensions (a cua server does not have them; its clients never see them): failure replies
 * may carry `code` (a ComputerErrorCode), and our server's `version` reply lists `extensions`
 * (commands below) and says `computers: "per-connection"` (each connection gets a fresh computer).
 */
import type { ComputerErrorCode, MouseButton, Point, ScreenSize } from '../../shared/computer.js';

export { cuaKeyToXdotool, cuaKeysToXdotoolCombo, parseXdotoolKeys, xdotoolKeyToCua, xdotoolKeysToCua } from './keys.js';

export const PROTOCOL_VERSION = 1;
export const WS_PATH = '/ws';
export const STATUS_PATH = '/status';
export const CMD_PATH = '/cmd';

export const COMMANDS = {
  authenticate: 'authenticate',
  version: 'version',
  screenshot: 'screenshot',
  getScreenSize: 'get_screen_size',
  getCursorPosition: 'get_cursor_position',
  moveCursor: 'move_cursor',
  leftClick: 'left_click',
  rightClick: 'right_click',
  doubleClick: 'double_click',
  mouseDown: 'mouse_down',
  mouseUp: 'mouse_up',
  dragTo: 'drag_to',
  drag: 'drag',
  typeText: 'type_text',
  pressKey: 'press_key',
  hotkey: 'hotkey',
  keyDown: 'key_down',
  keyUp: 'key_up',
  scroll: 'scroll',
  scrollDown: 'scroll_down',
  scrollUp: 'scroll_up',
  scrollDirection: 'scroll_direction',
} as const;

/** The computer-server's command aliases that name commands we serve. */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  type: COMMANDS.typeText,
  key: COMMANDS.pressKey,
  tap: COMMANDS.leftClick,
  click: COMMANDS.leftClick,
};

/** Our extension commands (advertised in `version.extensions` by our server only). */
export const EXTENSIONS = {
  /** {} -> Computer.reset(): no client windows, input released, cursor centred. */
  reset: 'mcp_actors_reset',
  /** {keys: "<xdotool combos>", ms} -> Computer.holdKey(). */
  holdKey: 'mcp_actors_hold_key',
  /** {x, y} -> Computer.tripleClick(). */
  tripleClick: 'mcp_actors_triple_click',
} as const;
export type ExtensionCommand = (typeof EXTENSIONS)[keyof typeof EXTENSIONS];

// ---- frames ----------------------------------------------------------------------------------

export type Params = Record<string, unknown>;

export interface CommandFrame {
  command: string;
  params?: Params;
}

export interface AuthFrame {
  command: typeof COMMANDS.authenticate;
  params: { api_key: string; container_name?: string };
}

export interface SuccessReply {
  success: true;
  [field: string]: unknown;
}

export interface FailureReply {
  success: false;
  error: string;
  /** Ours only: the ComputerErrorCode behind the failure. */
  code?: ComputerErrorCode;
}

export type Reply = SuccessReply | FailureReply;

export interface ScreenshotReply extends SuccessReply {
  image_data: string;
  format: 'png';
}

export interface ScreenSizeReply extends SuccessReply {
  size: ScreenSize;
}

export interface CursorPositionReply extends SuccessReply {
  position: Point;
}

export interface VersionReply extends SuccessReply {
  protocol: number;
  package: string;
  /** Ours only. */
  extensions?: string[];
  /** Ours only: every WebSocket connection gets its own fresh computer. */
  computers?: 'per-connection';
}

export interface StatusBody {
  status: 'ok';
  os_type: string;
  features: string[];
}

export function authFrame(apiKey: string, containerName: string | undefined): AuthFrame {
  const params: AuthFrame['params'] = { api_key: apiKey };
  if (containerName !== undefined) params.container_name = containerName;
  return { command: COMMANDS.authenticate, params };
}

export function frame(command: string, params: Params = {}): CommandFrame {
  return { command, params };
}

export function failure(error: string, code?: ComputerErrorCode): FailureReply {
  return code === undefined ? { success: false, error } : { success: false, error, code };
}

/** Auth failure texts, exactly as the computer-server words them. */
export const AUTH_ERRORS = {
  firstMessage: 'First message must be authentication',
  apiKeyRequired: 'API key required',
  containerRequired: 'Container name required',
  failed: 'Authentication failed',
} as const;

export const AUTH_OK_MESSAGE = 'Authentication successful';

// ---- our methods -> frames --------------------------------------------------------------------

/** Which frames a Computer method becomes (the client adds sequencing and release-on-failure). */
export const toCua = {
  move: (x: number, y: number) => frame(COMMANDS.moveCursor, { x, y }),
  /** Left and right have their own command; middle is mouse_down + mouse_up there. */
  click(x: number, y: number, button: MouseButton): CommandFrame[] {
    if (button === 'left') return [frame(COMMANDS.leftClick, { x, y })];
    if (button === 'right') return [frame(COMMANDS.rightClick, { x, y })];
    return [frame(COMMANDS.mouseDown, { x, y, button }), frame(COMMANDS.mouseUp, { x, y, button })];
  },
  doubleClick: (x: number, y: number) => frame(COMMANDS.doubleClick, { x, y }),
  /** No triple_click upstream: a double click then a click at the same point, back to back. */
  tripleClick: (x: number, y: number) => [frame(COMMANDS.doubleClick, { x, y }), frame(COMMANDS.leftClick, { x, y })],
  mouseDown: (button: MouseButton) => frame(COMMANDS.mouseDown, { button }),
  mouseUp: (button: MouseButton) => frame(COMMANDS.mouseUp, { button }),
  /**
   * Upstream `drag` releases and presses again between path points on Linux, so a path is sent as
   * move_cursor(first), mouse_down, move_cursor(each next), mouse_up — the same on every handler.
   */
  drag(path: readonly Point[], button: MouseButton): { start: CommandFrame[]; moves: CommandFrame[]; release: CommandFrame } {
    const [first, ...rest] = path as [Point, ...Point[]];
    return {
      start: [frame(COMMANDS.moveCursor, { x: first.x, y: first.y }), frame(COMMANDS.mouseDown, { button })],
      moves: rest.map((p) => frame(COMMANDS.moveCursor, { x: p.x, y: p.y })),
      release: frame(COMMANDS.mouseUp, { button }),
    };
  },
  /** Our dy > 0 scrolls down; cua's y > 0 scrolls up. */
  scroll: (x: number, y: number, dx: number, dy: number) => [
    frame(COMMANDS.moveCursor, { x, y }),
    ...(dx !== 0 || dy !== 0 ? [frame(COMMANDS.scroll, { x: dx, y: -dy })] : []),
  ],
  type: (text: string) => frame(COMMANDS.typeText, { text }),
  /** One cua combo: press_key for a single key, hotkey for several. */
  combo: (keys: readonly string[]) =>
    keys.length === 1 ? frame(COMMANDS.pressKey, { key: keys[0] }) : frame(COMMANDS.hotkey, { keys: [...keys] }),
  keyDown: (key: string) => frame(COMMANDS.keyDown, { key }),
  keyUp: (key: string) => frame(COMMANDS.keyUp, { key }),
  screenshot: () => frame(COMMANDS.screenshot, { format: 'png' }),
  screenSize: () => frame(COMMANDS.getScreenSize),
  cursorPosition: () => frame(COMMANDS.getCursorPosition),
  version: () => frame(COMMANDS.version),
} as const;

// ---- replies -> our errors --------------------------------------------------------------------

const CODES: ReadonlySet<string> = new Set<ComputerErrorCode>([
  'BAD_COORDINATES', 'BAD_ARGUMENT', 'COMPUTER_DEAD', 'TIMEOUT', 'BACKEND_ERROR', 'AUTH_FAILED', 'NOT_SUPPORTED',
]);

/** The ComputerErrorCode a failure reply stands for: ours when given, else read from the text. */
export function failureCode(reply: { error?: unknown; code?: unknown }): ComputerErrorCode {
  if (typeof reply.code === 'string' && CODES.has(reply.code)) return reply.code as ComputerErrorCode;
  const text = typeof reply.error === 'string' ? reply.error : '';
  if (/^Unknown command\b/.test(text)) return 'NOT_SUPPORTED';
  if (/^Unknown key\b/.test(text)) return 'BAD_ARGUMENT';
  if (Object.values(AUTH_ERRORS).some((e) => text === e)) return 'AUTH_FAILED';
  return 'BACKEND_ERROR';
}

/** Parses one reply frame; undefined when it is not a JSON object with a boolean `success`. */
export function parseReply(data: string): Reply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  // The TypeScript client treats any reply with a truthy `error` as a failure; so do we.
  if (v.success === false || (typeof v.error === 'string' && v.error.length > 0)) {
    const out: FailureReply = { success: false, error: typeof v.error === 'string' ? v.error : 'command failed' };
    if (typeof v.code === 'string' && CODES.has(v.code)) out.code = v.code as ComputerErrorCode;
    return out;
  }
  if (v.success === true) return v as SuccessReply;
  return undefined;
}
