/**
 * One WebSocket to a computer-server, used as a request/reply channel: one command on the wire at
 * a time, each answered by the next reply frame (the server answers in order, one reply each).
 *
 * Timeouts: a command that gets no reply within its time rejects with TIMEOUT, but its slot stays
 * taken until the late reply arrives (and is dropped), so that replies never shift onto later
 * commands. A command that finds the slot taken waits for it, and is never sent if less than half
 * of its time is left — a command that timed out before it was sent does not run later.
 */
import WebSocket from 'ws';
import { ComputerError } from '../../shared/computer.js';
import { keepAlive } from './heartbeat.js';
import { parseReply, type CommandFrame, type Reply } from './protocol.js';

/** The connection is gone (closed by either side or broken). */
export class ConnectionLost extends Error {
  constructor(
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(`connection closed (${closeCode}${closeReason ? `: ${closeReason}` : ''})`);
    this.name = 'ConnectionLost';
  }
}

interface InFlight {
  command: string;
  timedOut: boolean;
  timer: NodeJS.Timeout;
  resolve(reply: Reply): void;
  reject(err: Error): void;
  /** Resolves when the slot is free again (reply arrived or connection closed). */
  freed: Promise<void>;
  free(): void;
}

export interface ChannelOptions {
  /** Ping the peer this often and drop the connection when a ping goes unanswered until the next (0 = never). */
  pingIntervalMs: number;
  /** Called once, when the socket has closed. */
  onClose(lost: ConnectionLost): void;
}

export class ReplyChannel {
  private inFlight: InFlight | undefined;
  private lost: ConnectionLost | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: ChannelOptions,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data)));
    ws.on('error', () => {
      // 'close' follows and carries the news.
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    keepAlive(ws, options.pingIntervalMs);
    if (ws.readyState === WebSocket.CLOSED) this.onClose(1006, 'closed before use');
  }

  get closed(): ConnectionLost | undefined {
    return this.lost;
  }

  /** Sends `frame` once the slot is free and resolves with its reply (a failure reply too). */
  async request(frame: CommandFrame, timeoutMs: number): Promise<Reply> {
    const started = Date.now();
    for (;;) {
      if (this.lost) throw this.lost;
      const busy = this.inFlight;
      if (!busy) break;
      const waitable = timeoutMs / 2 - (Date.now() - started);
      if (waitable <= 0 || !(await waitFor(busy.freed, waitable))) {
        if (this.lost) throw this.lost;
        throw new ComputerError(
          'TIMEOUT',
          `${frame.command} not sent: the server has not answered an earlier ${busy.command} within ${Math.round(timeoutMs / 2)} ms`,
        );
      }
    }
    const budget = timeoutMs - (Date.now() - started);
    return new Promise<Reply>((resolve, reject) => {
      let free!: () => void;
      const freed = new Promise<void>((r) => {
        free = r;
      });
      const entry: InFlight = {
        command: frame.command,
        timedOut: false,
        resolve,
        reject,
        freed,
        free,
        timer: setTimeout(() => {
          entry.timedOut = true;
          reject(new ComputerError('TIMEOUT', `no reply to ${frame.command} within ${timeoutMs} ms`));
        }, budget),
      };
      this.inFlight = entry;
      this.ws.send(JSON.stringify(frame), (err) => {
        if (err && !this.lost) this.ws.terminate(); // 'close' rejects the entry
      });
    });
  }

  /** Closes the socket (a normal closure), or terminates it when it does not close within `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(1000, 'client closed');
    const t = setTimeout(() => this.ws.terminate(), graceMs);
    await closed;
    clearTimeout(t);
  }

  private onMessage(data: string): void {
    const entry = this.inFlight;
    if (!entry) return; // unsolicited: nobody asked
    this.inFlight = undefined;
    clearTimeout(entry.timer);
    entry.free();
    if (entry.timedOut) return; // the late reply of a command that already failed
    const reply = parseReply(data);
    if (reply) entry.resolve(reply);
    else entry.reject(new ComputerError('BACKEND_ERROR', `malformed reply to ${entry.command}: ${data.slice(0, 200)}`));
  }

  private onClose(code: number, reason: string): void {
    if (this.lost) return;
    this.lost = new ConnectionLost(code, reason);
    const entry = this.inFlight;
    this.inFlight = undefined;
    if (entry) {
      clearTimeout(entry.timer);
      entry.free();
      if (!entry.timedOut) entry.reject(this.lost);
    }
    this.options.onClose(this.lost);
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function waitFor(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}
