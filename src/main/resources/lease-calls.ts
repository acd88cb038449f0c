/**
 * The runtime calls an actor makes to lease resource actors (ctx.service('leases') in a toolset):
 * acquire (a MessagePort straight to the resource's host thread), release, abandon a wait. A lease
 * belongs to the incarnation of the actor that asked: one granted after that incarnation let go of
 * its thread is given back at once.
 */
import { codedError } from '../../shared/errors.js';
import type { CallRegistry } from '../calls.js';
import { Transferring } from '../transferring.js';
import type { ResourceKind } from './kind.js';

export function registerLeaseCalls(calls: CallRegistry, kindOf: (name: unknown) => ResourceKind<unknown>): void {
  calls.register('lease.acquire', async (caller, args) => {
    const kind = kindOf(args.kind);
    const owner = caller.owner;
    const g = await kind.pool.acquire(owner, args.spec, {
      waitMs: typeof args.waitMs === 'number' ? args.waitMs : undefined,
      waitId: typeof args.waitId === 'string' ? args.waitId : undefined,
    });
    if (caller.owner !== owner || caller.ended) {
      // The incarnation that asked let go of its thread while waiting: nobody will use this lease.
      g.port.close();
      await kind.pool.release(g.lid);
      throw codedError('LEASE_CANCELLED', 'the actor moved on before its lease was granted');
    }
    return new Transferring({ lid: g.lid, label: g.label, port: g.port }, [g.port]);
  });
  calls.register('lease.release', async (caller, args) => {
    const kind = kindOf(args.kind);
    if (kind.pool.ownerOf(String(args.lid)) === caller.owner) await kind.pool.release(String(args.lid));
    return null;
  });
  calls.register('lease.abandon', async (_actor, args) => kindOf(args.kind).pool.abandon(String(args.waitId)));
}
