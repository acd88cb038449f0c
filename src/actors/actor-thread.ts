/**
 * The main thread's handle on one actor thread: spawn, typed messages, readiness, and a single
 * `exited` promise that says why the thread stopped (normal, crash, oom, exit, killed).
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import type { ChildExit } from '../supervision/supervisor.js';
import type { ActorBootData, FromActor, ToActor } from './messages.js';

export type ActorExitReason = 'normal' | 'crash' | 'oom' | 'exit' | 'killed';

export interface ActorExit extends ChildExit {
  reason: ActorExitReason;
  code: number;
}

export interface ActorThreadOptions {
  heapLimitMb: number;
  youngGenerationMb?: number;
  env: Record<string, string>;
}

const SECRET_ENV = /(KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL)/i;

/** The environment an actor thread sees: the process's, minus anything that looks like a secret. */
export function actorEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !SECRET_ENV.test(k)) out[k] = v;
  return out;
}

let nextLocalId = 0;

export class ActorThread {
  readonly worker: Worker;
  readonly localId = ++nextLocalId;
  readonly ready: Promise<void>;
  readonly exited: Promise<ActorExit>;
  /** Tool name → the toolset that registered it, as the thread reported at boot. */
  tools: Record<string, string> = {};
  /** Set by the owner; receives every message after `ready`. */
  onMessage: (m: FromActor) => void = () => {};
  private stopping = false;
  private killReason: string | undefined;
  private lastError: (Error & { code?: string }) | undefined;
  private isReady = false;
  private hasExited = false;
  private recycleWaiter: ((ok: boolean) => void) | undefined;
  /** Sessions this thread has served and let go of (recycled), so far. */
  reuses = 0;
  /** Requests this thread has served, over all its sessions: its V8 isolate's JIT warmth, roughly. */
  served = 0;
  /** How the warm pool last handed this thread out: a waiting session got it fresh from boot ("cold"), or it was ready ("warm"). */
  handedOut: 'cold' | 'warm' = 'warm';

  constructor(entry: URL, boot: ActorBootData, options: ActorThreadOptions) {
    this.worker = new Worker(entry, {
      workerData: boot,
      env: options.env,
      stdout: true,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb, ...(options.youngGenerationMb ? { maxYoungGenerationSizeMb: options.youngGenerationMb } : {}) },
    });
    // A toolset's console.log must never reach stdout (it carries MCP in stdio mode).
    // Forwarded with a listener, not pipe(): a pipe per thread adds listeners to process.stderr.
    this.worker.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));

    this.ready = new Promise<void>((resolve, reject) => {
      const onBootMessage = (m: FromActor) => {
        if (m.t === 'ready') {
          this.isReady = true;
          this.tools = m.tools;
          this.worker.off('message', onBootMessage);
          this.worker.on('message', (msg: FromActor) => {
            if (msg.t === 'ready' && this.recycleWaiter) {
              this.tools = msg.tools;
              const done = this.recycleWaiter;
              this.recycleWaiter = undefined;
              done(true);
              return;
            }
            this.onMessage(msg);
          });
          resolve();
        } else if (m.t === 'boot-failed') {
          this.worker.off('message', onBootMessage);
          reject(new Error(m.message));
          void this.worker.terminate();
        }
      };
      this.worker.on('message', onBootMessage);
      this.worker.once('exit', (code) => {
        if (!this.isReady) reject(new Error(this.lastError?.message ?? `actor thread exited during boot (code ${code})`));
      });
    });
    this.ready.catch(() => {});

    this.worker.on('error', (err: Error & { code?: string }) => {
      this.lastError = err;
    });
    this.exited = new Promise<ActorExit>((resolve) => {
      this.worker.once('exit', (code) => {
        this.hasExited = true;
        resolve(this.classify(code));
      });
    });
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  private classify(code: number): ActorExit {
    // A thread we asked to stop has stopped normally, even if it had to be terminated.
    if (this.stopping) return { reason: 'normal', normal: true, code };
    if (this.killReason !== undefined) {
      return { reason: 'killed', normal: false, code, message: this.killReason };
    }
    const err = this.lastError;
    if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return { reason: 'oom', normal: false, code, message: err.message };
    }
    if (err) return { reason: 'crash', normal: false, code, message: err.message };
    return { reason: 'exit', normal: false, code, message: `the actor thread exited with code ${code}` };
  }

  post(m: ToActor, transfer?: readonly TransferListItem[]): void {
    if (!this.hasExited) this.worker.postMessage(m, transfer);
  }

  /**
   * Lets the thread go from its session and renews it for another one: its incarnation retires
   * (stop hooks, server closed, detached) and a fresh one is registered. Resolves true once the
   * thread is `ready` again, false if it died instead.
   */
  recycle(): Promise<boolean> {
    if (this.hasExited) return Promise.resolve(false);
    this.reuses++;
    const renewed = new Promise<boolean>((resolve) => {
      this.recycleWaiter = resolve;
      void this.exited.then(() => resolve(false));
    });
    this.post({ t: 'recycle' });
    return renewed;
  }

  /** Graceful stop request; the owner's supervisor kills the thread if it does not exit in time. */
  stop(): void {
    this.stopping = true;
    this.post({ t: 'stop' });
  }

  /** Terminates the thread now. `reason` ends up in the exit record. */
  async kill(reason: string): Promise<void> {
    if (this.hasExited) return;
    this.killReason ??= reason;
    await this.worker.terminate();
  }
}
