/**
 * Test support: a tiny resource kind for the lease machinery's tests. Each instance counts hits;
 * it can be slow, fail with a code, die on its own, or take its whole host thread down.
 */
import { threadId } from 'node:worker_threads';
import { defineResourceFactory, type FactoryContext } from '../../../src/host/factory.js';

interface Counter {
  id: string;
  hits: number;
  resets: number;
  ctx: FactoryContext;
  healthy: boolean;
  secret: string | undefined;
}

let next = 0;

export default defineResourceFactory<{ label?: string }, Counter>({
  async create(spec, ctx) {
    return { id: `${spec?.label ?? 'counter'}-${++next}@${threadId}`, hits: 0, resets: 0, ctx, healthy: true, secret: ctx.secrets?.token };
  },
  expose(c) {
    return {
      hit: () => ({ instance: c.id, hits: ++c.hits, threadId, resets: c.resets }),
      slow: (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)),
      fail: (code: string) => {
        throw Object.assign(new Error(`failing with ${code}`), { code, retryable: code === 'RATE_LIMITED' });
      },
      die: () => {
        setTimeout(() => c.ctx.died('told to die'), 10);
        return true;
      },
      unhealthy: () => {
        c.healthy = false;
        return true;
      },
      crashHost: () => {
        setTimeout(() => process.exit(9), 10);
        return true;
      },
      hasSecret: () => c.secret !== undefined,
    };
  },
  async reset(c) {
    c.hits = 0;
    c.resets++;
  },
  async health(c) {
    if (!c.healthy) throw new Error('unhealthy');
  },
  async destroy() {},
});
