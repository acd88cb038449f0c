/**
 * Test support: a toolset that kills an exchange-host thread on purpose, the honest way — it
 * leases the venue's public ccxt client and calls `crashHost`, which the factory exposes only
 * when the server runs with `ccxt.testHooks: true`; the host thread then calls process.exit (in
 * a worker thread that ends the thread only), exactly like a crash of the thread.
 */
import { z } from 'zod';
import type { LeaseService } from '../../src/actor/lease-client.js';
import { defineToolset } from '../../src/actor/toolsets/types.js';

export default defineToolset({
  name: 'ccxtcrash',
  register(server, ctx) {
    server.registerTool(
      'ccxt_crash_host',
      { inputSchema: { exchange: z.string().default('binance') }, outputSchema: { crashed: z.boolean() } },
      async ({ exchange }, extra) => {
        const lease = await ctx.service<LeaseService>('leases')!.acquire<{ crashHost(): boolean }>('ccxt', { role: 'public', exchange, marketType: 'spot', sandbox: false }, { signal: extra.signal, callTimeoutMs: 5_000 });
        const crashed = (await lease.resource.crashHost()) === true;
        return { content: [{ type: 'text', text: JSON.stringify({ crashed }) }], structuredContent: { crashed } };
      },
    );
  },
});
