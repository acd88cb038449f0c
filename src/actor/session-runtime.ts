/**
 * What runs inside an actor thread: the toolsets, loaded once, and the current Incarnation (an
 * McpServer with them registered), served over a PortTransport to the main thread.
 *
 * Lifecycle: boot (load toolset modules) → incarnate (new McpServer, toolsets registered, post
 * `ready`) → `bind` (to a session, a handle or the stateless pool; post `bound`) → messages →
 * `recycle` (stop hooks, close, detach, incarnate again, post `ready`) or `stop`.
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

  port.on('message', (m: ToActor) => {
    const inc = current;
    switch (m.t) {
      case 'bind':
        serially(async () => {
          await inc.bind(m.actor, m.state, m.handshake);
          post({ t: 'bound' });
          for (const queued of inc.pendingIn.splice(0)) inc.deliver(queued as Extract<ToActor, { t: 'in' | 'abort' }>);
        });
        return;
      case 'in':
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
