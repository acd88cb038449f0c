/**
 * Everything that crosses between the main thread and a resource host thread (exchange hosts,
 * computer hosts). One discriminated union per direction.
 */
import type { MessagePort } from 'node:worker_threads';

export interface HostBootData {
  /** Module specifier of the resource kind's factory (its default export is a ResourceFactory). */
  module: string;
  kind: string;
  config: Record<string, unknown>;
  logLevel: string;
  /** Linux nice value the host thread gives itself (and the processes it spawns); 0 = leave as is. */
  nice: number;
}

export type ToHost =
  /** Create instance `iid`. `secrets` (credentials) exist only here and in the main thread. */
  | { t: 'create'; rid: number; iid: string; spec: unknown; secrets?: Record<string, string> }
  /** Serve instance `iid` to a lessee over `port` (lease `lid`). */
  | { t: 'attach'; rid: number; iid: string; lid: string; port: MessagePort }
  | { t: 'detach'; lid: string }
  | { t: 'reset'; rid: number; iid: string }
  | { t: 'health'; rid: number; iid: string }
  | { t: 'destroy'; rid: number; iid: string }
  | { t: 'stop' };

export type FromHost =
  | { t: 'ready' }
  | { t: 'boot-failed'; message: string }
  | { t: 'done'; rid: number; ok: true; value?: unknown }
  | { t: 'done'; rid: number; ok: false; error: { code: string; message: string } }
  /** An instance died on its own (its process was killed, its socket dropped…); its lessees' ports are closed. */
  | { t: 'died'; iid: string; reason: string }
  | { t: 'log'; level: 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };
