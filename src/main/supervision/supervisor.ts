/**
 * A supervisor with Erlang/OTP semantics.
 *
 * - Child specs name how to start, stop and kill a child, and its restart type:
 *   `permanent` (always restarted), `transient` (restarted only after an abnormal exit),
 *   `temporary` (never restarted).
 * - Restart intensity: at most R restarts in T ms. By default the window is the supervisor's
 *   (OTP's rule: past it, the supervisor terminates all its children and escalates to its owner).
 *   A child spec may carry its own intensity instead — as if that child had a one-for-one
 *   supervisor of its own — and past it only that child is given up (event `gave-up`), which
 *   is how one crash-looping session ends without touching any other.
 * - Exponential backoff with jitter between restarts.
 * - Shutdown: `stop` is asked first; after `shutdownMs` the child is killed.
 */
import { EventEmitter } from 'node:events';
import { RestartIntensity, backoffDelay, type BackoffSpec, type IntensitySpec } from './restart-policy.js';

export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface ChildExit {
  /** A short machine-readable reason: normal, crash, oom, exit, killed, start-failed, … */
  reason: string;
  /** Normal exits do not restart transient children. */
  normal: boolean;
  message?: string;
}

export interface ChildSpec<C> {
  id: string;
  restart: RestartType;
  start(): Promise<C>;
  /** Resolves once the running child has stopped, saying why. */
  exited(child: C): Promise<ChildExit>;
  /** Asks the child to stop cleanly. */
  stop(child: C): Promise<void> | void;
  /** Stops the child now (after shutdownMs, or when it must not run on). */
  kill(child: C): Promise<void> | void;
  shutdownMs: number;
  intensity?: IntensitySpec;
  /** Told before each restart (as the `restarting` event). */
  onRestarting?(exit: ChildExit, delayMs: number): void;
  /** Told when its own intensity is exceeded and it is given up (as the `gave-up` event). */
  onGaveUp?(exit: ChildExit): void;
}

export interface SupervisorOptions {
  name: string;
  intensity: IntensitySpec;
  backoff: BackoffSpec;
  random?: () => number;
}

interface ChildState<C> {
  spec: ChildSpec<C>;
  child: C | undefined;
  intensity: RestartIntensity | undefined;
  terminating: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  generation: number;
}

export interface SupervisorEvents {
  started: [id: string, child: unknown, restart: boolean];
  exited: [id: string, exit: ChildExit];
  restarting: [id: string, exit: ChildExit, delayMs: number];
  'gave-up': [id: string, exit: ChildExit];
  escalated: [exit: ChildExit];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly name: string;
  private readonly children = new Map<string, ChildState<unknown>>();
  private readonly terminations = new Map<string, Promise<void>>();

  /** Forgets a child, unless a newer child of the same id has taken its place. */
  private forget(id: string, state: ChildState<unknown>): void {
    if (this.children.get(id) === state) this.children.delete(id);
  }
  private readonly intensity: RestartIntensity;
  private shutDown = false;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.name = options.name;
    this.intensity = new RestartIntensity(options.intensity);
  }

  get size(): number {
    return this.children.size;
  }

  has(id: string): boolean {
    return this.children.has(id);
  }

  childOf<C>(id: string): C | undefined {
    return this.children.get(id)?.child as C | undefined;
  }

  /** Starts a child under supervision. Rejects (and forgets the child) if the first start fails. */
  async startChild<C>(spec: ChildSpec<C>): Promise<C> {
    if (this.shutDown) throw new Error(`supervisor ${this.name} is shut down`);
    // A child of the same id still being terminated: wait for it to be gone, then start anew.
    const leaving = this.children.get(spec.id);
    if (leaving?.terminating) await this.terminations.get(spec.id);
    if (this.children.has(spec.id)) throw new Error(`supervisor ${this.name}: child ${spec.id} already exists`);
    const state: ChildState<C> = {
      spec,
      child: undefined,
      intensity: spec.intensity ? new RestartIntensity(spec.intensity) : undefined,
      terminating: false,
      restartTimer: undefined,
      generation: 0,
    };
    this.children.set(spec.id, state as ChildState<unknown>);
    let child: C;
    try {
      child = await spec.start();
    } catch (err) {
      this.forget(spec.id, state as ChildState<unknown>);
      throw err;
    }
    if (state.terminating || this.shutDown) {
      await this.shutdownChild(spec, child);
      this.forget(spec.id, state as ChildState<unknown>);
      throw new Error(`child ${spec.id} was terminated while starting`);
    }
    this.adopt(state, child, false);
    return child;
  }

  private adopt<C>(state: ChildState<C>, child: C, restart: boolean): void {
    state.child = child;
    const generation = ++state.generation;
    this.emit('started', state.spec.id, child, restart);
    state.spec.exited(child).then(
      (exit) => this.onExit(state, generation, exit),
      (err: unknown) => this.onExit(state, generation, { reason: 'crash', normal: false, message: String(err) }),
    );
  }

  private onExit<C>(state: ChildState<C>, generation: number, exit: ChildExit): void {
    if (generation !== state.generation) return;
    state.child = undefined;
    const id = state.spec.id;
    this.emit('exited', id, exit);
    if (state.terminating || this.shutDown) {
      this.forget(id, state as ChildState<unknown>);
      return;
    }
    const restart = state.spec.restart === 'permanent' || (state.spec.restart === 'transient' && !exit.normal);
    if (!restart) {
      this.forget(id, state as ChildState<unknown>);
      return;
    }
    this.scheduleRestart(state, exit);
  }

  private scheduleRestart<C>(state: ChildState<C>, exit: ChildExit): void {
    const id = state.spec.id;
    const now = Date.now();
    const window = state.intensity ?? this.intensity;
    if (!window.admit(now)) {
      this.forget(id, state as ChildState<unknown>);
      state.spec.onGaveUp?.(exit);
      this.emit('gave-up', id, exit);
      // Past its own intensity only the child is given up; past the supervisor's, everything is.
      if (!state.intensity) void this.escalate(exit);
      return;
    }
    const delay = backoffDelay(window.recent, this.options.backoff, this.options.random);
    state.spec.onRestarting?.(exit, delay);
    this.emit('restarting', id, exit, delay);
    state.restartTimer = setTimeout(() => {
      state.restartTimer = undefined;
      if (state.terminating || this.shutDown) {
        this.forget(id, state as ChildState<unknown>);
        return;
      }
      state.spec.start().then(
        (child) => {
          if (state.terminating || this.shutDown) {
            void this.shutdownChild(state.spec, child);
            this.forget(id, state as ChildState<unknown>);
            return;
          }
          this.adopt(state, child, true);
        },
        (err: unknown) => this.onExit(state, state.generation, { reason: 'start-failed', normal: false, message: (err as Error)?.message ?? String(err) }),
      );
    }, delay);
    state.restartTimer.unref?.();
  }

  private async escalate(exit: ChildExit): Promise<void> {
    await this.shutdown();
    this.emit('escalated', exit);
  }

  /** Stops a child for good (no restart): stop, then kill after the spec's shutdownMs. */
  terminateChild(id: string): Promise<void> {
    const pending = this.terminations.get(id);
    if (pending) return pending;
    const state = this.children.get(id);
    if (!state) return Promise.resolve();
    const done = this.terminate(id, state).finally(() => this.terminations.delete(id));
    this.terminations.set(id, done);
    return done;
  }

  private async terminate(id: string, state: ChildState<unknown>): Promise<void> {
    state.terminating = true;
    if (state.restartTimer) {
      clearTimeout(state.restartTimer);
      state.restartTimer = undefined;
      this.forget(id, state);
      return;
    }
    if (state.child !== undefined) {
      await this.shutdownChild(state.spec, state.child);
    }
    this.forget(id, state);
  }

  /** Kills a running child now; it is then restarted (or not) by its restart type. */
  async killChild(id: string): Promise<void> {
    const state = this.children.get(id);
    if (state?.child !== undefined) await state.spec.kill(state.child);
  }

  /** Asks the child to stop; if it has not exited within shutdownMs (stop included), kills it. */
  private async shutdownChild<C>(spec: ChildSpec<C>, child: C): Promise<void> {
    let gone = false;
    const exited = spec.exited(child).then(
      () => {
        gone = true;
      },
      () => {
        gone = true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, spec.shutdownMs);
    });
    const stopped = (async () => {
      try {
        await spec.stop(child);
      } catch {
        // a failing stop is followed by kill below
      }
      await exited;
    })();
    await Promise.race([stopped, timeout]);
    clearTimeout(timer);
    if (!gone) {
      await spec.kill(child);
      await exited;
    }
  }

  /** Terminates every child (in parallel) and refuses new ones. */
  async shutdown(): Promise<void> {
    this.shutDown = true;
    await Promise.all([...this.children.keys()].map((id) => this.terminateChild(id)));
  }
}
