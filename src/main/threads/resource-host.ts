/**
 * The main thread's handle on one resource host thread (a ThreadHandle): typed requests with
 * deadlines (every pending one rejected if the thread dies), lease ports, and `exited` for
 * supervision.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Correlator } from '../../shared/correlator.js';
import { CodedError } from '../../shared/errors.js';
import type { FromHost, HostBootData, ToHost } from '../../shared/host-messages.js';
import type { Logger } from '../observability/log.js';
import { ThreadHandle, threadEnv, type ThreadExit } from './thread-handle.js';

export const RESOURCE_HOST_WORKER = new URL('../../../workers/resource-host.js', import.meta.url);

type Request = Extract<ToHost, { rid: number }>;
type RequestBody = Request extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

let hostSeq = 0;

export class ResourceHost {
  readonly id: string;
  readonly ready: Promise<void>;
  readonly exited: Promise<ThreadExit>;
  /** Instances that died on their own (their lessees are already cut off). */
  onDied: (iid: string, reason: string) => void = () => {};
  private readonly handle: ThreadHandle<ToHost, FromHost>;
  private readonly requests = new Correlator('OP_TIMEOUT');

  constructor(boot: HostBootData, log: Logger, heapLimitMb?: number) {
    this.id = `${boot.kind}-host-${++hostSeq}`;
    this.handle = new ThreadHandle<ToHost, FromHost>(RESOURCE_HOST_WORKER, boot, { env: threadEnv(), heapLimitMb }, `${boot.kind} host`);
    this.ready = this.handle.ready.then(
      () => undefined,
      (err: Error) => {
        throw new Error(`${boot.kind} host failed to start: ${err.message}`);
      },
    );
    this.ready.catch(() => {}); // awaited by the kind; a failed boot is an exit too
    this.handle.onMessage = (m) => {
      if (m.t === 'done') {
        if (m.ok) this.requests.resolve(m.rid, m.value);
        else this.requests.reject(m.rid, new CodedError(m.error.code, m.error.message));
      }
      if (m.t === 'died') this.onDied(m.iid, m.reason);
      else if (m.t === 'log') log[m.level]({ host: this.id, ...m.data }, m.msg);
    };
    this.exited = this.handle.exited.then((exit) => {
      this.requests.close(new CodedError('RESOURCE_LOST', `${this.id} stopped while a request was pending`));
      return exit;
    });
  }

  get alive(): boolean {
    return this.handle.alive;
  }

  request(body: RequestBody, timeoutMs: number, transfer?: MessagePort[]): Promise<unknown> {
    if (!this.handle.alive) return Promise.reject(new CodedError('RESOURCE_LOST', `${this.id} is not running`));
    return this.requests.call((rid) => this.handle.post({ ...body, rid } as ToHost, transfer ?? []), timeoutMs, `${this.id}: ${body.t}`);
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
    this.handle.post({ t: 'detach', lid });
  }

  stop(): void {
    this.handle.stop({ t: 'stop' });
  }

  kill(reason: string): Promise<void> {
    return this.handle.kill(reason);
  }
}
