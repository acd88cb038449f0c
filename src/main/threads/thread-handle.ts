/**
 * The main thread's handle on one worker thread — an actor thread or a resource host thread, the
 * same plumbing for both: spawn with the secret-free environment and heap limits, stdout forwarded
 * to stderr (stdout carries MCP in stdio mode), the boot handshake (`ready` or `boot-failed`),
 * typed messages, and one `exited` promise that says why the thread stopped.
 *
 * Exit reasons: normal (we asked it to stop, however it ended), killed (we terminated it, with a
 * reason), oom (its heap limit), crash (an uncaught error), exit (it exited on its own).
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import type { ChildExit } from '../supervision/supervisor.js';

export type ThreadExitReason = 'normal' | 'crash' | 'oom' | 'exit' | 'killed';

export interface ThreadExit extends ChildExit {
  reason: ThreadExitReason;
  code: number;
}

export interface ThreadOptions {
  heapLimitMb?: number;
  youngGenerationMb?: number;
  env: Record<string, string>;
}

const SECRET_ENV = /(KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL)/i;

/** The environment a worker thread sees: the process's, minus anything that looks like a secret. */
export function threadEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !SECRET_ENV.test(k)) out[k] = v;
  return out;
}

/** The messages every worker posts first: ready (with its own fields) or boot-failed. */
type BootMessage = { t: 'ready' } | { t: 'boot-failed'; message: string };

export class ThreadHandle<In, Out extends { t: string }> {
  readonly worker: Worker;
  /** Resolves with the `ready` message; rejects when the boot failed or the thread exited first. */
  readonly ready: Promise<Extract<Out, { t: 'ready' }>>;
  readonly exited: Promise<ThreadExit>;
  /** Receives every message after `ready`. */
  onMessage: (m: Out) => void = () => {};
  private stopping = false;
  private killReason: string | undefined;
  private lastError: (Error & { code?: string }) | undefined;
  private gone = false;

  constructor(entry: URL, workerData: unknown, options: ThreadOptions, label: string) {
    const limits = {
      ...(options.heapLimitMb ? { maxOldGenerationSizeMb: options.heapLimitMb } : {}),
      ...(options.youngGenerationMb ? { maxYoungGenerationSizeMb: options.youngGenerationMb } : {}),
    };
    this.worker = new Worker(entry, { workerData, env: options.env, stdout: true, stderr: false, resourceLimits: limits });
    // Forwarded with a listener, not pipe(): a pipe per thread adds listeners to process.stderr.
    this.worker.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.worker.on('error', (err: Error & { code?: string }) => {
      this.lastError = err;
    });
    let booted = false;
    this.ready = new Promise((resolve, reject) => {
      const onBoot = (m: Out & BootMessage) => {
        if (m.t === 'ready') {
          booted = true;
          this.worker.off('message', onBoot);
          this.worker.on('message', (msg: Out) => this.onMessage(msg));
          resolve(m as Extract<Out, { t: 'ready' }>);
        } else if (m.t === 'boot-failed') {
          this.worker.off('message', onBoot);
          reject(new Error(m.message));
          void this.worker.terminate();
        }
      };
      this.worker.on('message', onBoot);
      this.worker.once('exit', (code) => {
        if (!booted) reject(new Error(this.lastError?.message ?? `${label} exited during boot (code ${code})`));
      });
    });
    this.ready.catch(() => {}); // observed by whoever awaits `ready`; a boot failure is also an exit
    this.exited = new Promise<ThreadExit>((resolve) => {
      this.worker.once('exit', (code) => {
        this.gone = true;
        resolve(this.classify(code));
      });
    });
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  get alive(): boolean {
    return !this.gone;
  }

  private classify(code: number): ThreadExit {
    // A thread we asked to stop has stopped normally, even if it had to be terminated.
    if (this.stopping) return { reason: 'normal', normal: true, code };
    if (this.killReason !== undefined) return { reason: 'killed', normal: false, code, message: this.killReason };
    const err = this.lastError;
    if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY') return { reason: 'oom', normal: false, code, message: err.message };
    if (err) return { reason: 'crash', normal: false, code, message: err.message };
    return { reason: 'exit', normal: false, code, message: `the thread exited with code ${code}` };
  }

  post(m: In, transfer?: readonly TransferListItem[]): void {
    if (!this.gone) this.worker.postMessage(m, transfer);
  }

  /** Asks the thread to stop (with its own stop message); whatever happens next counts as a normal exit. */
  stop(message: In): void {
    this.stopping = true;
    this.post(message);
  }

  /** Terminates the thread now. `reason` ends up in the exit record (unless it was stopping anyway). */
  async kill(reason: string): Promise<void> {
    if (this.gone) return;
    if (!this.stopping) this.killReason ??= reason;
    await this.worker.terminate();
  }
}
