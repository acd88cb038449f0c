/**
 * The main thread's handle on one session actor thread (a ThreadHandle): readiness with the tools
 * it registered, renewal between sessions (`recycle`), and the counters the warm pool reads.
 */
import type { ActorBootData, FromActor, HandleTool, ToActor } from '../../shared/actor-messages.js';
import type { BootKind } from '../../shared/code-cache.js';
import type { TransferListItem } from 'node:worker_threads';
import { ThreadHandle, threadEnv, type ThreadExit, type ThreadOptions } from './thread-handle.js';

export type ActorExit = ThreadExit;

/** The environment an actor thread sees: the process's, minus anything that looks like a secret. */
export const actorEnv = threadEnv;

/**
 * What a session actor holds while it runs: a thread of its own (ActorThread) or a slot on a
 * shared start thread (ActorSlot, src/main/sessions/shared-start.ts).
 */
export interface ActorHost {
  readonly threadId: number;
  readonly exited: Promise<ActorExit>;
  /** A slot on a shared start thread (the actor moves to a thread of its own when it can). */
  readonly shared: boolean;
  /** When a slot was taken (performance.now()); undefined for a thread of its own. */
  readonly since?: number;
  /** Requests served on this thread (its JIT warmth, roughly). */
  served: number;
  onMessage: (m: FromActor) => void;
  post(m: ToActor, transfer?: readonly TransferListItem[]): void;
  /** Let go: a thread stops, a slot is released. */
  stop(): void;
  /** Terminates the thread now (a slot's: every actor on it). */
  kill(reason: string): Promise<void>;
}

export class ActorThread implements ActorHost {
  readonly shared = false;
  private readonly handle: ThreadHandle<ToActor, FromActor>;
  readonly ready: Promise<void>;
  readonly exited: Promise<ActorExit>;
  /** Tool name → the toolset that registered it, as the thread reported at boot (and renewal). */
  tools: Record<string, string> = {};
  /** The tools that create, carry or end state handles (from the toolsets' HandleSpecs). */
  handles: Record<string, HandleTool> = {};
  /** Set by the owner; receives every message after `ready`. */
  onMessage: (m: FromActor) => void = () => {};
  private recycleWaiter: ((ok: boolean) => void) | undefined;
  /** Sessions this thread has served and let go of (recycled), so far. */
  reuses = 0;
  /** Requests this thread has served, over all its sessions: its V8 isolate's JIT warmth, roughly. */
  served = 0;
  /** How the thread booted (module graph, or bundle and code cache), and how long it took. */
  boot: { kind: BootKind; ms: number } | undefined;
  /** How the warm pool last handed this thread out: a waiting session got it fresh from boot ("cold"), or it was ready ("warm"). */
  handedOut: 'cold' | 'warm' = 'warm';

  constructor(entry: URL, boot: ActorBootData, options: ThreadOptions) {
    const started = performance.now();
    this.handle = new ThreadHandle<ToActor, FromActor>(entry, boot, options, 'actor thread');
    this.ready = this.handle.ready.then((m) => {
      this.tools = m.tools;
      this.handles = m.handles;
      this.boot = { kind: m.boot, ms: performance.now() - started };
    });
    this.ready.catch(() => {}); // observed by the warm pool; a failed boot is an exit too
    this.exited = this.handle.exited;
    this.handle.onMessage = (m) => {
      if (m.t === 'ready' && this.recycleWaiter) {
        this.tools = m.tools;
        const done = this.recycleWaiter;
        this.recycleWaiter = undefined;
        done(true);
        return;
      }
      this.onMessage(m);
    };
  }

  get threadId(): number {
    return this.handle.threadId;
  }

  get alive(): boolean {
    return this.handle.alive;
  }

  post(m: ToActor, transfer?: Parameters<ThreadHandle<ToActor, FromActor>['post']>[1]): void {
    this.handle.post(m, transfer);
  }

  /**
   * Lets the thread go from its session and renews it for another one: its incarnation retires
   * (stop hooks, server closed, detached) and a fresh one is registered. Resolves true once the
   * thread is `ready` again, false if it died instead.
   */
  recycle(): Promise<boolean> {
    if (!this.handle.alive) return Promise.resolve(false);
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
    this.handle.stop({ t: 'stop' });
  }

  /** Terminates the thread now. `reason` ends up in the exit record. */
  kill(reason: string): Promise<void> {
    return this.handle.kill(reason);
  }
}
