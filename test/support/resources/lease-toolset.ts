/**
 * Test support: a toolset that leases the test "counter" resource kind, holds the lease across
 * calls (as a real toolset keeps its computer), and calls it.
 */
import { z } from 'zod';
import type { LeaseService, ResourceLease } from '../../../src/actor/lease-client.js';
import { defineToolset } from '../../../src/actor/toolsets/types.js';

interface CounterApi {
  hit(): { instance: string; hits: number; threadId: number; resets: number };
  slow(ms: number): number;
  fail(code: string): never;
  die(): boolean;
  unhealthy(): boolean;
  crashHost(): boolean;
}

export default defineToolset({
  name: 'leasetest',
  register(server, ctx) {
    let lease: ResourceLease<CounterApi> | undefined;
    const text = (v: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(v) }], structuredContent: { value: v as never } });
    const fail = (err: unknown) => {
      const e = { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message, retryable: false };
      return { isError: true, content: [{ type: 'text' as const, text: e.message }], structuredContent: e };
    };
    const get = async (signal: AbortSignal, waitMs?: number) => {
      if (lease && !lease.isLost) return lease;
      lease = await ctx.service<LeaseService>('leases')!.acquire<CounterApi>('counter', {}, { signal, waitMs, callTimeoutMs: 500 });
      return lease;
    };
    server.registerTool(
      'lease_call',
      {
        description: 'Calls a method of the leased counter (leasing one first if needed).',
        inputSchema: z.object({ method: z.string(), args: z.array(z.unknown()).default([]), waitMs: z.number().optional() }),
        outputSchema: z.object({ value: z.unknown() }),
      },
      async ({ method, args, waitMs }, hctx) => {
        try {
          const l = await get(hctx.mcpReq.signal, waitMs);
          const fn = (l.resource as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
          return text(await fn(...args));
        } catch (err) {
          return fail(err);
        }
      },
    );
    server.registerTool('lease_release', { description: 'Releases the lease.', inputSchema: z.object({}) }, async () => {
      await lease?.release();
      lease = undefined;
      return { content: [{ type: 'text' as const, text: 'released' }] };
    });
  },
});
