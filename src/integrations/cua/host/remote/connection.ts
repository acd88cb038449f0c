/**
 * Server side: one WebSocket connection = one computer.
 *
 * Frames are handled one at a time, in order, one reply each. With an API key configured the first
 * frame must be `authenticate` (the computer-server's handshake and wording); the computer is only
 * created once the client is in. When the socket closes the computer is closed; when the computer
 * dies (an `exited` promise settles, or a command reports COMPUTER_DEAD) the socket is closed with
 * 1011, so the client learns it at once.
 */
import WebSocket from 'ws';
import { ComputerError, type Computer } from '../../shared/computer.js';
import { keyMatches } from './auth.js';
import { dispatch, hasCommand } from './dispatch.js';
import { keepAlive } from './heartbeat.js';
import {
  AUTH_ERRORS, AUTH_OK_MESSAGE, COMMAND_ALIASES, COMMANDS, failure, type Params, type Reply, type VersionReply,
} from './protocol.js';

export interface ConnectionOptions {
  apiKey: string | undefined;
  createComputer(): Promise<Computer>;
  version: VersionReply;
  authTimeoutMs: number;
  /** Most frames that may wait for their turn before the connection is dropped. */
  maxPending: number;
  pingIntervalMs: number;
}

export class ServerConnection {
  /** Settles when the socket is closed and the computer (if any) is closed too. */
  readonly finished: Promise<void>;
  private authenticated: boolean;
  private computer: Promise<Computer> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly authTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly o: ConnectionOptions,
  ) {
    this.authenticated = o.apiKey === undefined;
    if (this.authenticated) this.startComputer();
    else {
      this.authTimer = setTimeout(() => this.end(1008, 'authentication timeout'), o.authTimeoutMs);
      this.authTimer.unref();
    }
    this.finished = new Promise<void>((resolve) => {
      ws.once('close', () => {
        clearTimeout(this.authTimer);
        void this.release().then(resolve);
      });
    });
    ws.on('error', () => {
      // 'close' follows.
    });
    ws.on('message', (data, isBinary) => {
      if (++this.pending > o.maxPending) {
        this.end(1008, 'too many commands waiting');
        return;
      }
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data);
      this.chain = this.chain
        .then(() => this.handle(text))
        .catch((err: unknown) => this.send(failure(`internal error: ${(err as Error)?.message ?? String(err)}`, 'BACKEND_ERROR')))
        .finally(() => {
          this.pending--;
        });
    });
    keepAlive(ws, o.pingIntervalMs);
  }

  /** Closes the connection (its computer is closed when the socket is). */
  end(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    const t = setTimeout(() => this.ws.terminate(), 2000);
    t.unref();
  }

  private get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private send(reply: Reply | Record<string, unknown>): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => this.ws.send(JSON.stringify(reply), () => resolve()));
  }

  private startComputer(): void {
    const created = Promise.resolve().then(() => this.o.createComputer());
    this.computer = created;
    void created.then(
      (computer) => {
        const exited = (computer as { exited?: unknown }).exited;
        if (exited instanceof Promise) {
          void exited.then(
            () => this.end(1011, 'computer exited'),
            () => this.end(1011, 'computer exited'),
          );
        }
        if (!this.open) void computer.close().catch(() => {});
      },
      () => {
        // Reported to the commands that wait for it.
      },
    );
  }

  private async release(): Promise<void> {
    if (!this.computer) return;
    try {
      const computer = await this.computer;
      await computer.close();
    } catch {
      // never started, or closing failed: nothing more we can do here
    }
  }

  private async handle(text: string): Promise<void> {
    if (!this.open) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      if (!this.authenticated) return this.refuse(AUTH_ERRORS.failed);
      return this.send(failure(`Invalid JSON: ${(err as Error).message}`, 'BAD_ARGUMENT'));
    }
    const m = (typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? msg : {}) as { command?: unknown; params?: unknown };
    const params = (typeof m.params === 'object' && m.params !== null && !Array.isArray(m.params) ? m.params : {}) as Params;
    const raw = typeof m.command === 'string' ? m.command : String(m.command);
    const command = COMMAND_ALIASES[raw] ?? raw;

    if (!this.authenticated) return this.authenticate(command, params);
    if (command === COMMANDS.authenticate) return this.send({ success: true, message: AUTH_OK_MESSAGE });
    if (command === COMMANDS.version) return this.send(this.o.version);
    if (!hasCommand(command)) return this.send(failure(`Unknown command: ${raw.slice(0, 100)}`, 'NOT_SUPPORTED'));

    let computer: Computer;
    try {
      computer = await (this.computer as Promise<Computer>);
    } catch (err) {
      await this.send(failure(`no computer: ${(err as Error).message}`, 'BACKEND_ERROR'));
      return this.end(1011, 'computer could not start');
    }
    try {
      const result = await dispatch(computer, command, params);
      await this.send({ success: true, ...result });
    } catch (err) {
      const e = err instanceof ComputerError ? err : new ComputerError('BACKEND_ERROR', (err as Error)?.message ?? String(err));
      await this.send(failure(e.message, e.code));
      if (e.code === 'COMPUTER_DEAD') this.end(1011, 'computer is dead');
    }
  }

  private async authenticate(command: string, params: Params): Promise<void> {
    if (command !== COMMANDS.authenticate) return this.refuse(AUTH_ERRORS.firstMessage);
    if (typeof params.api_key !== 'string' || params.api_key.length === 0) return this.refuse(AUTH_ERRORS.apiKeyRequired);
    if (!keyMatches(params.api_key, this.o.apiKey as string)) return this.refuse(AUTH_ERRORS.failed);
    clearTimeout(this.authTimer);
    this.authenticated = true;
    this.startComputer();
    await this.send({ success: true, message: AUTH_OK_MESSAGE });
  }

  private async refuse(error: string): Promise<void> {
    await this.send(failure(error, 'AUTH_FAILED'));
    this.end(1008, 'authentication failed');
  }
}
