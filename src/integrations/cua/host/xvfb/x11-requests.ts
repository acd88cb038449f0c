/**
 * Encoders for the handful of core X11 requests (and the XTEST FakeInput request) the backend
 * sends, and decoders for their replies and for the events it listens to. Little-endian, as
 * announced in the connection setup. Opcodes and layouts follow the X11 protocol specification.
 */

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(opcode: number, data: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = opcode;
  b[1] = data;
  b.writeUInt16LE(bytes / 4, 2);
  return b;
}

// ---- constants ------------------------------------------------------------------------------

export const EventMask = {
  SubstructureNotify: 0x80000,
} as const;

export const ModMask = {
  Shift: 0x1,
  Lock: 0x2,
  Control: 0x4,
  Mod1: 0x8,
  Mod2: 0x10,
  Mod3: 0x20,
  Mod4: 0x40,
  Mod5: 0x80,
  Any: 0x8000,
} as const;

export const EventCode = {
  KeyPress: 2,
  ButtonPress: 4,
  DestroyNotify: 17,
  UnmapNotify: 18,
  MapNotify: 19,
  MappingNotify: 34,
} as const;

export const PointerRoot = 1;
export const RevertToPointerRoot = 1;
export const AllowReplayPointer = 2;

// ---- requests -------------------------------------------------------------------------------

/** ChangeWindowAttributes(window, event-mask) — the only attribute we set. */
export function selectInput(window: number, eventMask: number): Buffer {
  const b = header(2, 0, 16);
  b.writeUInt32LE(window, 4);
  b.writeUInt32LE(0x800, 8); // CWEventMask
  b.writeUInt32LE(eventMask, 12);
  return b;
}

/** GetWindowAttributes: reply has map-state at byte 26 and override-redirect at byte 27. */
export function getWindowAttributes(window: number): Buffer {
  const b = header(3, 0, 8);
  b.writeUInt32LE(window, 4);
  return b;
}

/** ConfigureWindow(window, stack-mode Above): raises a window. */
export function raiseWindow(window: number): Buffer {
  const b = header(12, 0, 16);
  b.writeUInt32LE(window, 4);
  b.writeUInt16LE(0x40, 8); // CWStackMode
  b.writeUInt32LE(0, 12); // Above
  return b;
}

/** ConfigureWindow(window, x, y): moves a window. */
export function moveWindow(window: number, x: number, y: number): Buffer {
  const b = header(12, 0, 20);
  b.writeUInt32LE(window, 4);
  b.writeUInt16LE(0x1 | 0x2, 8); // CWX | CWY
  b.writeInt32LE(x, 12);
  b.writeInt32LE(y, 16);
  return b;
}

/** QueryTree(window): children in bottom-to-top stacking order. */
export function queryTree(window: number): Buffer {
  const b = header(15, 0, 8);
  b.writeUInt32LE(window, 4);
  return b;
}

/** GrabButton on `window`, every button and modifier, pointer frozen until AllowEvents. */
export function grabAnyButtonSync(window: number): Buffer {
  const b = header(28, 0, 24); // owner-events false
  b.writeUInt32LE(window, 4);
  b.writeUInt16LE(0x4, 8); // ButtonPress
  b[10] = 0; // pointer-mode Synchronous
  b[11] = 1; // keyboard-mode Asynchronous
  b.writeUInt32LE(0, 12); // confine-to None
  b.writeUInt32LE(0, 16); // cursor None
  b[20] = 0; // AnyButton
  b.writeUInt16LE(ModMask.Any, 22);
  return b;
}

/** GrabKey(window, modifiers, keycode), both modes asynchronous. */
export function grabKey(window: number, modifiers: number, keycode: number): Buffer {
  const b = header(33, 0, 16); // owner-events false
  b.writeUInt32LE(window, 4);
  b.writeUInt16LE(modifiers, 8);
  b[10] = keycode;
  b[11] = 1; // pointer-mode Asynchronous
  b[12] = 1; // keyboard-mode Asynchronous
  return b;
}

export function allowEvents(mode: number): Buffer {
  const b = header(35, mode, 8);
  b.writeUInt32LE(0, 4); // CurrentTime
  return b;
}

/** QueryPointer(window): reply root-x/root-y at 16/18, button/modifier mask at 24. */
export function queryPointer(window: number): Buffer {
  const b = header(38, 0, 8);
  b.writeUInt32LE(window, 4);
  return b;
}

/** WarpPointer to absolute root coordinates. */
export function warpPointer(root: number, x: number, y: number): Buffer {
  const b = header(41, 0, 24);
  b.writeUInt32LE(0, 4); // src-window None
  b.writeUInt32LE(root, 8);
  b.writeInt16LE(x, 20);
  b.writeInt16LE(y, 22);
  return b;
}

export function setInputFocus(focus: number, revertTo: number): Buffer {
  const b = header(42, revertTo, 12);
  b.writeUInt32LE(focus, 4);
  b.writeUInt32LE(0, 8); // CurrentTime
  return b;
}

/** GetInputFocus: the cheapest round trip there is. Reply: focus window at 8. */
export function getInputFocus(): Buffer {
  return header(43, 0, 4);
}

/** QueryKeymap: reply bytes 8..39 are a bit vector of the keycodes held down. */
export function queryKeymap(): Buffer {
  return header(44, 0, 4);
}

/** GetImage(drawable, rectangle) in ZPixmap format, all planes. */
export function getImage(drawable: number, x: number, y: number, width: number, height: number): Buffer {
  const b = header(73, 2, 20);
  b.writeUInt32LE(drawable, 4);
  b.writeInt16LE(x, 8);
  b.writeInt16LE(y, 10);
  b.writeUInt16LE(width, 12);
  b.writeUInt16LE(height, 14);
  b.writeUInt32LE(0xffffffff, 16);
  return b;
}

/** GetGeometry: reply has width at byte 16 and height at byte 18. */
export function getGeometry(drawable: number): Buffer {
  const b = header(14, 0, 8);
  b.writeUInt32LE(drawable, 4);
  return b;
}

export function decodeGeometry(reply: Buffer): { width: number; height: number } {
  return { width: reply.readUInt16LE(16), height: reply.readUInt16LE(18) };
}

export function queryExtension(name: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const b = header(98, 0, 8 + n.length + pad4(n.length));
  b.writeUInt16LE(n.length, 4);
  n.copy(b, 8);
  return b;
}

export function getKeyboardMapping(firstKeycode: number, count: number): Buffer {
  const b = header(101, 0, 8);
  b[4] = firstKeycode;
  b[5] = count;
  return b;
}

/** KillClient(resource): closes the connection of the client that created `resource`. */
export function killClient(resource: number): Buffer {
  const b = header(113, 0, 8);
  b.writeUInt32LE(resource, 4);
  return b;
}

export function getModifierMapping(): Buffer {
  return header(119, 0, 4);
}

export const FakeEvent = {
  KeyPress: 2,
  KeyRelease: 3,
  ButtonPress: 4,
  ButtonRelease: 5,
  Motion: 6,
} as const;

/**
 * XTEST FakeInput (minor opcode 2): key press/release (detail = keycode), button press/release
 * (detail = button), or an absolute pointer motion to (x, y) on `root`.
 */
export function xtestFakeInput(majorOpcode: number, type: number, detail: number, root = 0, x = 0, y = 0): Buffer {
  const b = header(majorOpcode, 2, 36);
  b[4] = type;
  b[5] = detail;
  if (type === FakeEvent.Motion) {
    b.writeUInt32LE(root, 12);
    b.writeInt16LE(x, 24);
    b.writeInt16LE(y, 26);
  }
  return b;
}

/** ChangeKeyboardMapping: `keysyms` (keysymsPerKeycode of them per keycode) from `firstKeycode` on. */
export function changeKeyboardMapping(firstKeycode: number, keysymsPerKeycode: number, keysyms: readonly number[]): Buffer {
  const count = keysyms.length / keysymsPerKeycode;
  const b = header(100, count, 8 + 4 * keysyms.length);
  b[4] = firstKeycode;
  b[5] = keysymsPerKeycode;
  keysyms.forEach((k, i) => b.writeUInt32LE(k, 8 + 4 * i));
  return b;
}

// ---- replies --------------------------------------------------------------------------------

export function decodeQueryTree(reply: Buffer): number[] {
  const count = reply.readUInt16LE(16);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(reply.readUInt32LE(32 + 4 * i));
  return out;
}

export interface WindowAttributes {
  /** 0 Unmapped, 1 Unviewable, 2 Viewable. */
  mapState: number;
  overrideRedirect: boolean;
}

export function decodeWindowAttributes(reply: Buffer): WindowAttributes {
  return { mapState: reply[26] ?? 0, overrideRedirect: reply[27] === 1 };
}

export interface PointerState {
  x: number;
  y: number;
  mask: number;
}

export function decodeQueryPointer(reply: Buffer): PointerState {
  return { x: reply.readInt16LE(16), y: reply.readInt16LE(18), mask: reply.readUInt16LE(24) };
}

export function decodeExtension(reply: Buffer): { present: boolean; majorOpcode: number } {
  return { present: reply[8] === 1, majorOpcode: reply[9] ?? 0 };
}

/** keysyms[keycode - first][level] */
export function decodeKeyboardMapping(reply: Buffer, firstKeycode: number): Map<number, number[]> {
  const perKeycode = reply[1] ?? 0;
  const total = reply.readUInt32LE(4);
  const map = new Map<number, number[]>();
  if (perKeycode === 0) return map;
  const count = total / perKeycode;
  for (let k = 0; k < count; k++) {
    const syms: number[] = [];
    for (let l = 0; l < perKeycode; l++) syms.push(reply.readUInt32LE(32 + 4 * (k * perKeycode + l)));
    map.set(firstKeycode + k, syms);
  }
  return map;
}

/** modifier index (0 Shift .. 7 Mod5) → keycodes */
export function decodeModifierMapping(reply: Buffer): number[][] {
  const perModifier = reply[1] ?? 0;
  const out: number[][] = [];
  for (let m = 0; m < 8; m++) {
    const codes: number[] = [];
    for (let i = 0; i < perModifier; i++) {
      const code = reply[32 + m * perModifier + i] ?? 0;
      if (code !== 0) codes.push(code);
    }
    out.push(codes);
  }
  return out;
}

export function decodeKeymap(reply: Buffer): number[] {
  const down: number[] = [];
  for (let byte = 0; byte < 32; byte++) {
    const bits = reply[8 + byte] ?? 0;
    for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) down.push(byte * 8 + bit);
  }
  return down;
}

// ---- events ---------------------------------------------------------------------------------

export interface InputEvent {
  detail: number;
  root: number;
  event: number;
  child: number;
  rootX: number;
  rootY: number;
  state: number;
}

/** KeyPress/ButtonPress and friends share one layout. */
export function decodeInputEvent(packet: Buffer): InputEvent {
  return {
    detail: packet[1] ?? 0,
    root: packet.readUInt32LE(8),
    event: packet.readUInt32LE(12),
    child: packet.readUInt32LE(16),
    rootX: packet.readInt16LE(20),
    rootY: packet.readInt16LE(22),
    state: packet.readUInt16LE(28),
  };
}

/** MapNotify/UnmapNotify/DestroyNotify: event window at 4, window at 8 (MapNotify: override-redirect at 12). */
export function decodeStructureEvent(packet: Buffer): { event: number; window: number; overrideRedirect: boolean } {
  return { event: packet.readUInt32LE(4), window: packet.readUInt32LE(8), overrideRedirect: packet[12] === 1 };
}
