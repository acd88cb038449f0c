/**
 * Test support: a toolset that crashes the exchange-host threads on purpose — it broadcasts to
 * them over the channel that crash-hosts-register.ts (preloaded into the server's threads by the
 * test) listens on; each ccxt host thread then dies of an uncaught error, exactly like a crash.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { z } from 'zod';
import { defineToolset } from '../../src/actor/toolsets/types.js';
import { CRASH_CHANNEL } from './crash-hosts-register.js';

export default defineToolset({
  name: 'ccxtcrash',
  register(server) {
    server.registerTool(
      'ccxt_crash_host',
      { description: 'Crashes every exchange-host thread.', inputSchema: z.object({}), outputSchema: z.object({ crashed: z.boolean() }) },
      async () => {
        const channel = new BroadcastChannel(CRASH_CHANNEL);
        channel.postMessage({ kind: 'ccxt' });
        channel.close();
        return { content: [{ type: 'text' as const, text: JSON.stringify({ crashed: true }) }], structuredContent: { crashed: true } };
      },
    );
  },
});
