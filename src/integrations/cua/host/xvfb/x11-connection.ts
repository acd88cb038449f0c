/**
 * A minimal X11 protocol client over the display's Unix socket: connection setup (with the
 * computer's cookie), request sequencing, replies, errors and events. Just enough for the
 * backend's own needs (screenshots, input through XTEST, pointer queries, the ctrl+alt+t grab,
 * focus) without a helper process per call.
 *
 * The X server runs inside the computer's sandbox and is not trusted: packets are bounded in size
 * and a malformed one closes the connection (the computer is then dead) instead of throwing.
 *
 * Wire format: we announce little-endian ('l') byte order, so every multi-byte field we read or
 * write is little-endian regardless of the host. Requests are built by `x11-requests.ts`.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { COOKIE_NAME } from './xauth.js';

export interface X11Format {
  depth: number;
  bitsPerPixel: number;
  scanlinePad: number;
}

export interface X11Setup {
  resourceIdBase: number;
  resourceIdMask: number;
  imageByteOrder: 'lsb' | 'msb';
  minKeycode: number;
  maxKeycode: number;
  formats: X11Format[];
  root: number;
  rootDepth: number;
  rootVisual: number;
  width: number;
  height: number;
  /** Channel masks of the root visual (0x00ff0000/0x0000ff00/0x000000ff on Xvfb's TrueColor). */
  redMask: number;
  greenMask: number;
  blueMask: number;
}

/** An X error packet (code 0) decoded. */
export class X11ProtocolError extends Error {
  constructor(
    readonly errorCode: number,
    readonly majorOpcode: number,
    readonly minorOpcode: number,
    readonly badValue: number,
  ) {
    super(`X11 error ${errorCode} (${X11_ERROR_NAMES[errorCode] ?? 'unknown'}) for request ${majorOpcode}.${minorOpcode}, value 0x${badValue.toString(16)}`);
    this.name = 'X11ProtocolError';
  }
}

/** The connection is gone (server died, socket closed) or could not be made. */
export class X11ClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'X11ClosedError';
  }
}

/** A request's reply did not arrive in time. */
export class X11TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'X11TimeoutError';
  }
}

const X11_ERROR_NAMES: Record<number, string> = {
  1: 'BadRequest', 2: 'BadValue', 3: 'BadWindow', 4: 'BadPixmap', 5: 'BadAtom', 6: 'BadCursor',
  7: 'BadFont', 8: 'BadMatch', 9: 'BadDrawable', 10: 'BadAccess', 11: 'BadAlloc', 12: 'BadColor',
  13: 'BadGC', 14: 'BadIDChoice', 15: 'BadName', 16: 'BadLength', 17: 'BadImplementation',
};

interface Pending {
  seq: number;
  resolve: (reply: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

export interface X11ConnectionEvents {
  /** A 32-byte event packet (codes 2..34), `code` with the SendEvent bit stripped. */
  event: [code: number, packet: Buffer];
  /** An error for a request nobody awaited a reply for. */
  asyncError: [err: X11ProtocolError];
  close: [reason: string];
}

export interface X11Target {
  /** The server's Unix socket. */
  path: string;
  /** Presented as MIT-MAGIC-COOKIE-1. */
  cookie?: Buffer;
  /** Names the display in messages. */
  label: string;
}

/** A connection setup larger than this is refused (a real one is a few KB). */
const MAX_SETUP_BYTES = 1024 * 1024;

/** Connection setup: byte order 'l', protocol 11.0, and the authorization (name and data, each padded to 4). */
function setupRequest(cookie: Buffer | undefined): Buffer {
  const name = Buffer.from(cookie ? COOKIE_NAME : '', 'latin1');
  const data = cookie ?? Buffer.alloc(0);
  const hello = Buffer.alloc(12 + name.length + pad4(name.length) + data.length + pad4(data.length));
  hello.write('l', 0, 'latin1');
  hello.writeUInt16LE(11, 2);
  hello.writeUInt16LE(0, 4);
  hello.writeUInt16LE(name.length, 6);
  hello.writeUInt16LE(data.length, 8);
  name.copy(hello, 12);
  data.copy(hello, 12 + name.length + pad4(name.length));
  return hello;
}

export class X11Connection extends EventEmitter<X11ConnectionEvents> {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private seq = 0;
  private readonly pending: Pending[] = [];
  private closedReason: string | undefined;
  /** The largest reply we accept: a whole-screen image and then some. */
  private readonly maxPacketBytes: number;

  private constructor(
    private readonly socket: net.Socket,
    readonly setup: X11Setup,
  ) {
    super();
    this.maxPacketBytes = setup.width * setup.height * 4 + 1024 * 1024;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(`socket error: ${err.message}`));
    socket.on('close', () => this.shutdown('connection closed by the X server'));
  }

  /**
   * Connects through a Unix socket and performs the connection setup, presenting `cookie` as
   * MIT-MAGIC-COOKIE-1 when given. `label` names the display in messages.
   */
  static connect(target: X11Target, timeoutMs: number): Promise<X11Connection> {
    const { path, label } = target;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path });
      let acc = Buffer.alloc(0);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new X11TimeoutError(`X11 connection setup to ${label} timed out after ${timeoutMs} ms`)), timeoutMs);
      socket.on('error', (err) => fail(new X11ClosedError(`cannot connect to ${label}: ${err.message}`)));
      socket.on('close', () => fail(new X11ClosedError(`X server ${label} closed the connection during setup`)));
      socket.on('connect', () => socket.write(setupRequest(target.cookie)));
      socket.on('data', (chunk: Buffer) => {
        acc = Buffer.concat([acc, chunk]);
        if (acc.length > MAX_SETUP_BYTES) {
          fail(new X11ClosedError(`X server ${label} sent an oversized connection setup`));
          return;
        }
        if (acc.length < 8) return;
        const total = 8 + acc.readUInt16LE(6) * 4;
        if (acc.length < total) return;
        const status = acc[0];
        if (status !== 1) {
          const reasonLength = acc[1] ?? 0;
          const reason = status === 0 ? acc.subarray(8, 8 + reasonLength).toString('latin1') : 'authentication required';
          fail(new X11ClosedError(`X server ${label} refused the connection: ${reason.trim()}`));
          return;
        }
        let setup: X11Setup;
        try {
          setup = parseSetup(acc.subarray(0, total));
        } catch (err) {
          fail(new X11ClosedError(`X server ${label} sent a malformed connection setup: ${(err as Error).message}`));
          return;
        }
        clearTimeout(timer);
        socket.removeAllListeners();
        const conn = new X11Connection(socket, setup);
        const rest = acc.subarray(total);
        if (rest.length > 0) conn.onData(rest);
        resolve(conn);
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Sends a request that has no reply. Errors for it arrive as 'asyncError' events. */
  send(request: Buffer): void {
    if (this.closedReason !== undefined) throw new X11ClosedError(this.closedReason);
    this.seq = (this.seq + 1) & 0xffff;
    this.socket.write(request);
  }

  /** Sends a request and resolves with its whole reply packet (32-byte header + extra data). */
  request(request: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closedReason !== undefined) return Promise.reject(new X11ClosedError(this.closedReason));
    this.seq = (this.seq + 1) & 0xffff;
    const seq = this.seq;
    return new Promise<Buffer>((resolve, reject) => {
      const entry: Pending = { seq, resolve, reject, timer: undefined, done: false };
      entry.timer = setTimeout(() => {
        // The entry stays queued so that a late reply is matched to it and dropped.
        entry.done = true;
        reject(new X11TimeoutError(`X11 request (opcode ${request[0]}) got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push(entry);
      this.socket.write(request);
    });
  }

  /** Closes the connection; pending requests reject. Idempotent. */
  close(): void {
    this.shutdown('connection closed by the client');
    this.socket.destroy();
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const entry of this.pending.splice(0)) this.settle(entry, new X11ClosedError(reason));
    this.emit('close', reason);
  }

  private settle(entry: Pending, outcome: Buffer | Error): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.done) return;
    entry.done = true;
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 32) return;
      const head = this.peek(32);
      const code = head[0] ?? 0;
      let total = 32;
      // Replies (1) and GenericEvents (35) carry extra data, counted in 4-byte units.
      if (code === 1 || (code & 0x7f) === 35) total += head.readUInt32LE(4) * 4;
      if (total > this.maxPacketBytes) {
        // The server is not trusted (it runs in the computer's sandbox): nothing it sends may grow our memory without bound.
        this.shutdown(`the X server announced a ${total}-byte packet (limit ${this.maxPacketBytes})`);
        this.socket.destroy();
        return;
      }
      if (this.buffered < total) return;
      const packet = this.take(total);
      try {
        this.dispatch(packet);
      } catch (err) {
        // A packet we (or an event listener) could not make sense of: the server is broken or hostile.
        this.shutdown(`malformed packet from the X server: ${(err as Error).message}`);
        this.socket.destroy();
        return;
      }
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    this.chunks.push(joined);
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const want = n - filled;
        if (c.length <= want) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, want);
          filled += want;
          this.chunks[0] = c.subarray(want);
        }
      }
    }
    this.buffered -= n;
    return out;
  }

  private dispatch(packet: Buffer): void {
    const code = packet[0] ?? 0;
    if (code === 0 || code === 1) {
      const seq = packet.readUInt16LE(2);
      const index = this.pending.findIndex((p) => p.seq === seq);
      const error = code === 0 ? decodeError(packet) : undefined;
      if (index < 0) {
        if (error) this.emit('asyncError', error);
        return;
      }
      // Replies come in request order: anything queued before this one can no longer be answered.
      const answered = this.pending.splice(0, index + 1);
      const entry = answered.pop() as Pending;
      for (const stale of answered) this.settle(stale, new X11ClosedError('X11 reply lost'));
      this.settle(entry, error ?? packet);
      return;
    }
    this.emit('event', code & 0x7f, packet);
  }
}

function decodeError(packet: Buffer): X11ProtocolError {
  return new X11ProtocolError(packet[1] ?? 0, packet[10] ?? 0, packet.readUInt16LE(8), packet.readUInt32LE(4));
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function parseSetup(b: Buffer): X11Setup {
  const resourceIdBase = b.readUInt32LE(12);
  const resourceIdMask = b.readUInt32LE(16);
  const vendorLength = b.readUInt16LE(24);
  const screenCount = b[28] ?? 0;
  const formatCount = b[29] ?? 0;
  const imageByteOrder = b[30] === 0 ? 'lsb' : 'msb';
  const minKeycode = b[34] ?? 8;
  const maxKeycode = b[35] ?? 255;
  let off = 40 + vendorLength + pad4(vendorLength);
  const formats: X11Format[] = [];
  for (let i = 0; i < formatCount; i++, off += 8) {
    formats.push({ depth: b[off] ?? 0, bitsPerPixel: b[off + 1] ?? 0, scanlinePad: b[off + 2] ?? 0 });
  }
  if (screenCount < 1) throw new Error('X server reported no screens');
  // Screen 0.
  const root = b.readUInt32LE(off);
  const width = b.readUInt16LE(off + 20);
  const height = b.readUInt16LE(off + 22);
  const rootVisual = b.readUInt32LE(off + 32);
  const rootDepth = b[off + 38] ?? 0;
  const depthCount = b[off + 39] ?? 0;
  let redMask = 0;
  let greenMask = 0;
  let blueMask = 0;
  let d = off + 40;
  for (let i = 0; i < depthCount; i++) {
    const visualCount = b.readUInt16LE(d + 2);
    let v = d + 8;
    for (let j = 0; j < visualCount; j++, v += 24) {
      if (b.readUInt32LE(v) === rootVisual) {
        redMask = b.readUInt32LE(v + 8);
        greenMask = b.readUInt32LE(v + 12);
        blueMask = b.readUInt32LE(v + 16);
      }
    }
    d = v;
  }
  return {
    resourceIdBase, resourceIdMask, imageByteOrder, minKeycode, maxKeycode, formats,
    root, rootDepth, rootVisual, width, height, redMask, greenMask, blueMask,
  };
}
