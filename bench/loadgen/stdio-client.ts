/**
 * The stdio transport: spawn the server, speak newline-delimited JSON-RPC on its stdin/stdout.
 * One session (one process); any number of calls in flight at once, matched by id. Requests
 * from the server are answered (`ping` with {}, anything else with "method not found"); its
 * stderr is discarded unless `verbose`, then forwarded to ours.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { JsonRpcMessage } from './reply.js';
import type { PreparedCall } from './scenario.js';
import {
  classifyResponse,
  initializeBody,
  listAllTools,
  INITIALIZED_BODY,
  PROTOCOL_VERSION,
  replyToServerRequest,
  type BenchSession,
  type CallError,
  type Driver,
  type OpenedSessions,
} from './session.js';
import { shellWords } from './shell-words.js';

export interface StdioDriverOptions {
  /** A command line (split like a shell would, without expansion) or an argv array. */
  command: string | string[];
  verbose?: boolean;
  protocolVersion?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type Settle = (r: JsonRpcMessage | string) => void;

interface Pending {
  settle: Settle;
  timer: NodeJS.Timeout;
}

export class StdioDriver implements Driver, BenchSession {
  readonly transport = 'stdio' as const;
  readonly target: string;
  /** Set when the child can no longer serve calls (exited, stdin broken); the run stops. */
  fatal: string | undefined;
  private readonly argv: string[];
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private partial = '';
  private gone = false;

  constructor(private readonly o: StdioDriverOptions) {
    this.argv = typeof o.command === 'string' ? shellWords(o.command) : [...o.command];
    if (this.argv.length === 0) throw new Error('--stdio needs a command');
    this.target = `stdio:${typeof o.command === 'string' ? o.command : o.command.join(' ')}`;
  }

  async open(count: number, timeoutMs: number): Promise<OpenedSessions> {
    if (count !== 1) throw new Error('the stdio transport has exactly one session');
    const child = spawn(this.argv[0]!, this.argv.slice(1), {
      stdio: ['pipe', 'pipe', this.o.verbose ? 'inherit' : 'ignore'],
      env: this.o.env ?? process.env,
      cwd: this.o.cwd,
    });
    this.child = child;
    this.exitPromise = new Promise((resolve) => child.once('close', () => resolve()));
    child.on('error', (err) => {
      this.gone = true; // spawn failed (or the process could not be signalled)
      this.fail(`conn_${(err as NodeJS.ErrnoException).code ?? 'spawn_error'}`);
    });
    child.on('exit', () => {
      this.gone = true;
      this.fail('conn_child_exited');
    });
    child.stdin!.on('error', (err) => this.fail(`conn_${(err as NodeJS.ErrnoException).code ?? 'stdin_error'}`));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));

    const t0 = performance.now();
    const init = await this.request(0, initializeBody(0, this.o.protocolVersion ?? PROTOCOL_VERSION), timeoutMs);
    const ms = performance.now() - t0;
    if (typeof init === 'string') return { sessions: [], createMs: [], errors: { [`init_${init}`]: 1 } };
    if (init.error !== undefined) {
      return { sessions: [], createMs: [], errors: { [`init_${classifyResponse(init)?.kind ?? 'rpc_error'}`]: 1 } };
    }
    this.write(`${INITIALIZED_BODY}\n`);
    return { sessions: [this], createMs: [ms], errors: {} };
  }

  call(c: PreparedCall, timeoutMs: number): Promise<CallError | null> {
    const id = this.nextId++;
    return this.request(id, `${c.prefix}${id}}`, timeoutMs).then((r) => (typeof r === 'string' ? { kind: r } : classifyResponse(r)));
  }

  listTools(timeoutMs: number): Promise<string[] | CallError> {
    return listAllTools(async (body) => {
      const id = this.nextId++;
      const r = await this.request(id, body.replace(/"id":"tools-\d+"/, `"id":${id}`), timeoutMs);
      return typeof r === 'string' ? { kind: r } : r;
    });
  }

  private request(id: number, body: string, timeoutMs: number): Promise<JsonRpcMessage | string> {
    if (this.fatal !== undefined) return Promise.resolve(this.fatal);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve('timeout');
      }, timeoutMs);
      this.pending.set(id, { settle: resolve, timer });
      this.write(`${body}\n`);
    });
  }

  private write(line: string): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || this.fatal !== undefined) return;
    stdin.write(line);
  }

  private onData(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl === -1) {
      this.partial += chunk;
      return;
    }
    while (nl !== -1) {
      let line = chunk.slice(start, nl);
      if (this.partial !== '') {
        line = this.partial + line;
        this.partial = '';
      }
      this.onLine(line);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) this.partial = chunk.slice(start);
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let msg: JsonRpcMessage;
    try {
      msg = JSON.parse(line) as JsonRpcMessage;
    } catch {
      return; // not ours to judge: some servers log to stdout
    }
    if (typeof msg !== 'object' || msg === null) return;
    if (typeof msg.method === 'string') {
      if (msg.id !== undefined && msg.id !== null) this.write(`${replyToServerRequest(msg)}\n`);
      return; // notifications are ignored
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (p === undefined) return; // late answer to a call that timed out
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    p.settle(msg);
  }

  private fail(kind: string): void {
    if (this.fatal !== undefined) return;
    this.fatal = kind;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.settle(kind);
    }
    this.pending.clear();
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (this.fatal === undefined) this.fatal = 'closed';
    const exited = (ms: number): Promise<boolean> =>
      Promise.race([
        this.exitPromise.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
      ]);
    if (!this.gone) {
      child.stdin?.end();
      if (!(await exited(2_000))) {
        child.kill('SIGTERM');
        if (!(await exited(2_000))) child.kill('SIGKILL');
      }
    }
    await exited(this.gone ? 200 : 2_000);
  }
}
