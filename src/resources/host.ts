/**
 * The main thread's handle on one resource host thread: typed requests with deadlines (every
 * pending one rejected if the thread dies), lease ports, and an `exited` promise for supervision.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { actorEnv } from '../actors/actor-thread.js';
import type { Logger } from '../observability/log.js';
import type { ChildExit } from '../supervision/supervisor.js';
import type { FromHost, HostBootData, ToHost } from './host-messages.js';

export const RESOURCE_HOST_WORKER = new URL('../../workers/resource-host.js', import.meta.url);

type Request = Extract<ToHost, { rid: number }>;
type RequestBody = Request extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

export class HostError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

let hostSeq = 0;

export class ResourceHost {
  readonly id: string;
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly exited: Promise<ChildExit>;
  /** Instances that died on their own (their lessees are already cut off). */
  onDied: (iid: string, reason: string) => void = () => {};
  private rid = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private stopping = false;
  private killReason: string | undefined;
  private lastError: Error | undefined;
  private gone = false;

  constructor(boot: HostBootData, log: Logger, heapLimitMb?: number) {
    this.id = `${boot.kind}-host-${++hostSeq}`;
    this.worker = new Worker(RESOURCE_HOST_WORKER, {
      workerData: boot,
      env: actorEnv(),
      stdout: true,
      ...(heapLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: heapLimitMb } } : {}),
    });
    // Forwarded with a listener, not pipe(): a pipe per thread adds listeners to process.stderr.
    this.worker.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.worker.on('error', (err) => (this.lastError = err));
    let onBoot: (m: FromHost) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onBoot = (m: FromHost) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'boot-failed') reject(new Error(`${boot.kind} host failed to start: ${m.message}`));
      };
      this.worker.on('message', onBoot);
      this.worker.once('exit', (code) => reject(new Error(this.lastError?.message ?? `${boot.kind} host exited during boot (code ${code})`)));
    });
    this.ready.then(
      () => this.worker.off('message', onBoot),
      () => this.worker.off('message', onBoot),
    );
    this.worker.on('message', (m: FromHost) => {
      if (m.t === 'done') {
        const p = this.pending.get(m.rid);
        if (!p) return;
        this.pending.delete(m.rid);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.value);
        else p.reject(new HostError(m.error.code, m.error.message));
      } else if (m.t === 'died') {
        this.onDied(m.iid, m.reason);
      } else if (m.t === 'log') {
        log[m.level]({ host: this.id, ...m.data }, m.msg);
      }
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      this.worker.once('exit', (code) => {
        this.gone = true;
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new HostError('RESOURCE_LOST', `${this.id} stopped while a request was pending`));
        }
        this.pending.clear();
        if (this.stopping) resolve({ reason: 'normal', normal: true });
        else if (this.killReason) resolve({ reason: 'killed', normal: false, message: this.killReason });
        else if ((this.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve({ reason: 'oom', normal: false, message: this.lastError!.message });
        else if (this.lastError) resolve({ reason: 'crash', normal: false, message: this.lastError.message });
        else resolve({ reason: 'exit', normal: code === 0, message: `exited with code ${code}` });
      });
    });
  }

  get alive(): boolean {
    return !this.gone;
  }

  request(body: RequestBody, timeoutMs: number, transfer?: MessagePort[]): Promise<unknown> {
    if (this.gone) return Promise.reject(new HostError('RESOURCE_LOST', `${this.id} is not running`));
    const rid = ++this.rid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new HostError('TIMEOUT', `${this.id}: ${body.t} did not complete within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
      this.worker.postMessage({ ...body, rid } as ToHost, transfer ?? []);
    });
  }

  /** Serves instance `iid` to a new lessee; returns the lessee's end of the channel. */
  async attach(iid: string, lid: string, timeoutMs: number): Promise<MessagePort> {
    const { port1, port2 } = new MessageChannel();
    try {
      await this.request({ t: 'attach', iid, lid, port: port1 }, timeoutMs, [port1]);
    } catch (err) {
      port2.close();
      throw err;
    }
    return port2;
  }

  detach(lid: string): void {
    if (!this.gone) this.worker.postMessage({ t: 'detach', lid } satisfies ToHost);
  }

  stop(): void {
    this.stopping = true;
    if (!this.gone) this.worker.postMessage({ t: 'stop' } satisfies ToHost);
  }

  async kill(reason: string): Promise<void> {
    if (this.gone) return;
    if (!this.stopping) this.killReason ??= reason;
    await this.worker.terminate();
  }
}
