/**
 * What runs inside a resource host thread: the kind's factory, its instances, and one RPC
 * endpoint per lease (a MessagePort handed over by the main thread).
 */
import type { MessagePort } from 'node:worker_threads';
import { serve } from '../shared/rpc.js';
import type { ResourceFactory } from './factory.js';
import type { FromHost, HostBootData, ToHost } from '../shared/host-messages.js';
import { lowerThreadPriority } from '../shared/thread-priority.js';

type Port = Pick<MessagePort, 'postMessage' | 'on'>;

interface Instance {
  resource: unknown;
  leases: Map<string, MessagePort>;
  dead: boolean;
}

function errorOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err) };
}

export async function runResourceHost(port: Port, boot: HostBootData): Promise<void> {
  const post = (m: FromHost) => port.postMessage(m);
  const niceFailed = lowerThreadPriority(boot.nice);
  if (niceFailed) post({ t: 'log', level: 'warn', msg: 'could not lower the resource host thread priority', data: { err: niceFailed, nice: boot.nice } });
  let factory: ResourceFactory;
  try {
    const mod = (await import(boot.module)) as { default?: ResourceFactory };
    if (!mod.default || typeof mod.default.create !== 'function') throw new Error(`${boot.module} does not export a ResourceFactory`);
    factory = mod.default;
    await factory.init?.(boot.config);
  } catch (err) {
    post({ t: 'boot-failed', message: (err as Error).message });
    return;
  }
  const instances = new Map<string, Instance>();
  const leaseOwner = new Map<string, string>();

  const kill = (iid: string, reason: string) => {
    const inst = instances.get(iid);
    if (!inst || inst.dead) return;
    inst.dead = true;
    for (const [lid, p] of inst.leases) {
      p.close();
      leaseOwner.delete(lid);
    }
    inst.leases.clear();
    post({ t: 'died', iid, reason });
  };

  const op = async (rid: number, fn: () => Promise<unknown>) => {
    try {
      const value = await fn();
      post({ t: 'done', rid, ok: true, value });
    } catch (err) {
      post({ t: 'done', rid, ok: false, error: errorOf(err) });
    }
  };

  const get = (iid: string): Instance => {
    const inst = instances.get(iid);
    if (!inst) throw Object.assign(new Error(`no instance ${iid} on this host`), { code: 'NO_INSTANCE' });
    if (inst.dead) throw Object.assign(new Error(`instance ${iid} is dead`), { code: 'RESOURCE_LOST' });
    return inst;
  };

  port.on('message', (m: ToHost) => {
    switch (m.t) {
      case 'create':
        void op(m.rid, async () => {
          const resource = await factory.create(m.spec, {
            config: boot.config,
            secrets: m.secrets,
            died: (reason) => kill(m.iid, reason),
            log: (level, msg, data) => post({ t: 'log', level, msg, data: { ...data, iid: m.iid } }),
          });
          instances.set(m.iid, { resource, leases: new Map(), dead: false });
        });
        return;
      case 'attach':
        void op(m.rid, async () => {
          const inst = get(m.iid);
          serve(factory.expose(inst.resource, { lid: m.lid }), m.port);
          inst.leases.set(m.lid, m.port);
          leaseOwner.set(m.lid, m.iid);
        });
        return;
      case 'detach': {
        const iid = leaseOwner.get(m.lid);
        leaseOwner.delete(m.lid);
        const inst = iid ? instances.get(iid) : undefined;
        inst?.leases.get(m.lid)?.close();
        inst?.leases.delete(m.lid);
        return;
      }
      case 'reset':
        void op(m.rid, async () => {
          const inst = get(m.iid);
          await factory.reset?.(inst.resource);
        });
        return;
      case 'health':
        void op(m.rid, async () => {
          const inst = get(m.iid);
          await factory.health?.(inst.resource);
        });
        return;
      case 'destroy':
        void op(m.rid, async () => {
          const inst = instances.get(m.iid);
          if (!inst) return;
          for (const [lid, p] of inst.leases) {
            p.close();
            leaseOwner.delete(lid);
          }
          instances.delete(m.iid);
          inst.dead = true;
          await factory.destroy(inst.resource);
        });
        return;
      case 'stop':
        void (async () => {
          for (const [iid, inst] of instances) {
            instances.delete(iid);
            try {
              await factory.destroy(inst.resource);
            } catch {
              // best effort on the way out
            }
          }
          process.exit(0);
        })();
        return;
    }
  });
  post({ t: 'ready' });
}
