/**
 * A session's small toolset state, held in the actor and mirrored to the main thread's session
 * record on every change — so it survives the thread (hibernation, crash, restart).
 */
import type { SessionState } from './toolsets/types.js';
import type { FromActor } from '../shared/actor-messages.js';

export class ActorState {
  private values = new Map<string, unknown>();
  private sizes = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly post: (m: FromActor) => void,
    private readonly maxBytes: number,
  ) {}

  /** Replaces everything with the record the main thread kept. */
  load(record: Record<string, unknown>): void {
    this.values.clear();
    this.sizes.clear();
    this.total = 0;
    for (const [k, v] of Object.entries(record)) {
      const size = k.length + JSON.stringify(v).length;
      this.values.set(k, v);
      this.sizes.set(k, size);
      this.total += size;
    }
  }

  /**
   * A view whose keys are prefixed with the toolset's name, so toolsets cannot collide. Once
   * `detached()` is true (the session let go of this thread) writes throw.
   */
  namespace(ns: string, detached: () => boolean = () => false): SessionState {
    const prefix = `${ns}:`;
    const guard = () => {
      if (detached()) throw new Error('this session is over: its state can no longer change');
    };
    return {
      get: <T>(key: string) => this.values.get(prefix + key) as T | undefined,
      set: (key: string, value: unknown) => {
        guard();
        this.set(prefix + key, value);
      },
      delete: (key: string) => {
        guard();
        this.delete(prefix + key);
      },
      keys: () => [...this.values.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)),
    };
  }

  private set(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`session state "${key}": value is not JSON-serializable`);
    const size = key.length + json.length;
    const next = this.total - (this.sizes.get(key) ?? 0) + size;
    if (next > this.maxBytes) {
      throw new RangeError(`session state is capped at ${this.maxBytes} bytes; storing "${key}" would make it ${next}`);
    }
    const copy: unknown = JSON.parse(json);
    this.values.set(key, copy);
    this.sizes.set(key, size);
    this.total = next;
    this.post({ t: 'state', key, value: copy });
  }

  private delete(key: string): void {
    if (!this.values.has(key)) return;
    this.total -= this.sizes.get(key) ?? 0;
    this.values.delete(key);
    this.sizes.delete(key);
    this.post({ t: 'state', key, deleted: true });
  }
}
