/**
 * What runs inside an actor thread: the toolsets, loaded once, and the current Incarnation (an
 * McpServer with them registered), served over a PortTransport to the main thread.
 *
 * Lifecycle: boot (load toolset modules) → incarnate (new McpServer, toolsets registered, post
 * `ready`) → `bind` (to a session, a handle or the stateless pool; post `bound`) → messages →
 * `recycle` (stop hooks, close, detach, incarnate again, post `ready`) or `stop`.
 *
 * A shared start thread (warmPool.sharedStart) also hosts actors in slots: `slot` messages carry
 * each one's bind, requests and call results, and every message a slot's incarnation posts goes
 * out wrapped with its slot number; `slot-release` retires it.
 */
import type { MessagePort } from 'node:worker_threads';
import { actorLogger } from './actor-log.js';
import type { Toolset } from './toolsets/types.js';
import type { ActorBootData, FromActor, ToActor } from '../shared/actor-messages.js';
import { RuntimeCalls } from './runtime-calls.js';
import { lowerThreadPriority } from '../shared/thread-priority.js';
import { Incarnation } from './incarnation.js';
import { importToolset } from './builtin-toolsets.js';
import { bootKind } from '../shared/code-cache.js';

type Port = Pick<MessagePort, 'postMessage' | 'on'>;

async function loadToolset(specifier: string): Promise<Toolset> {
  const mod = (await importToolset(specifier)) as { default?: unknown; toolset?: unknown };
  const t = (mod.default ?? mod.toolset) as Partial<Toolset> | undefined;
  if (!t || typeof t.name !== 'string' || typeof t.register !== 'function') {
    throw new Error(`${specifier} does not export a Toolset (a default export with a "name" and a "register" function)`);
  }
  return t as Toolset;
}

export async function runSessionActor(port: Port, boot: ActorBootData): Promise<void> {
  const post = (m: FromActor) => port.postMessage(m);
  const log = actorLogger(post, boot.logLevel);
  const niceFailed = lowerThreadPriority(boot.nice);
  if (niceFailed) log.warn({ err: niceFailed, nice: boot.nice }, 'could not lower the actor thread priority');

  let toolsets: Toolset[];
  try {
    toolsets = [];
    for (const spec of boot.toolsets) toolsets.push(await loadToolset(spec));
  } catch (err) {
    post({ t: 'boot-failed', message: `cannot load toolset: ${(err as Error).message}` });
    return;
  }
  const instructions = toolsets.map((t) => t.instructions).filter(Boolean).join('\n\n') || undefined;
  const calls = new RuntimeCalls(post);

  const incarnate = async (): Promise<Incarnation> => {
    const inc = new Incarnation(post, boot, calls, log, toolsets, instructions);
    await inc.register();
    return inc;
  };
  const booted = bootKind();
  const ready = (inc: Incarnation) => post({ t: 'ready', tools: inc.tools, handles: inc.handleTools, boot: booted });

  let current: Incarnation;
  try {
    current = await incarnate();
  } catch (err) {
    post({ t: 'boot-failed', message: `toolset registration failed: ${(err as Error).message}` });
    return;
  }

  let busy: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void>) => {
    busy = busy.then(fn).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'actor lifecycle step failed');
      // A thread that cannot bind or renew itself is useless: exit abnormally so it is replaced.
      process.exit(3);
    });
  };

  const slots = new Map<number, { inc: Incarnation; calls: RuntimeCalls }>();
  const onSlot = (slot: number, m: Extract<ToActor, { t: 'slot' }>['m']) => {
    if (m.t === 'bind') {
      const tagged = (x: FromActor) => post({ t: 'slot', slot, m: x });
      const slotCalls = new RuntimeCalls(tagged);
      const inc = new Incarnation(tagged, boot, slotCalls, log, toolsets, instructions);
      slots.set(slot, { inc, calls: slotCalls });
      serially(async () => {
        await inc.register();
        await inc.bind(m.actor, m.state, m.handshake);
        tagged({ t: 'bound' });
        for (const queued of inc.pendingIn.splice(0)) inc.deliver(queued as Extract<ToActor, { t: 'in' | 'abort' }>);
      });
      return;
    }
    const s = slots.get(slot);
    if (!s) return; // released meanwhile: nothing of it is left to answer
    if (m.t === 'result') s.calls.settle(m);
    else if (s.inc.bound) s.inc.deliver(m);
    else s.inc.pendingIn.push(m);
  };

  /** A stateless pool thread's claim slots (from its bind). */
  let claims: Int32Array | undefined;
  port.on('message', (m: ToActor) => {
    const inc = current;
    switch (m.t) {
      case 'slot':
        onSlot(m.slot, m.m);
        return;
      case 'slot-release': {
        const s = slots.get(m.slot);
        slots.delete(m.slot);
        serially(async () => {
          await s?.inc.retire();
          post({ t: 'slot-released', slot: m.slot });
        });
        return;
      }
      case 'bind':
        if (m.claims) claims = new Int32Array(m.claims);
        serially(async () => {
          await inc.bind(m.actor, m.state, m.handshake);
          post({ t: 'bound' });
          for (const queued of inc.pendingIn.splice(0)) inc.deliver(queued as Extract<ToActor, { t: 'in' | 'abort' }>);
        });
        return;
      case 'in':
        // Taken up only if the pool has not withdrawn it meanwhile (it then runs on another thread).
        if (m.claim && claims && Atomics.compareExchange(claims, m.claim.slot, m.claim.token, -m.claim.token) !== m.claim.token) {
          post({ t: 'withdrawn', token: m.claim.token }); // the pool hears from this thread again
          return;
        }
        if (inc.bound) inc.deliver(m);
        else inc.pendingIn.push(m);
        return;
      case 'abort':
        if (inc.bound) inc.deliver(m);
        else inc.pendingIn.push(m);
        return;
      case 'check-listen':
        inc.checkListen(m);
        return;
      case 'result':
        calls.settle(m);
        return;
      case 'recycle':
        serially(async () => {
          await inc.retire();
          current = await incarnate();
          ready(current);
        });
        return;
      case 'stop':
        serially(async () => {
          await inc.retire();
          process.exit(0);
        });
        return;
    }
  });

  ready(current);
}
