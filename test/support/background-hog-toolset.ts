/**
 * Test support: a toolset whose tool answers at once and then, `delayMs` later, keeps its thread
 * busy for `ms` outside any request (as a toolset's own background work would): the thread reads
 * no message meanwhile and has nothing to answer when it is done.
 */
import { z } from 'zod';
import { defineToolset } from '../../src/actor/toolsets/types.js';

const input = z.object({ ms: z.number().int().min(1).max(10_000), delayMs: z.number().int().min(0).max(1_000) });
const output = z.object({ threadId: z.number() });

export default defineToolset({
  name: 'backgroundhog',
  register(server, ctx) {
    server.registerTool('hog_later', { description: 'Answers, then busy-loops its thread for ms after delayMs.', inputSchema: input, outputSchema: output }, async ({ ms, delayMs }) => {
      setTimeout(() => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          // busy: no message is read
        }
      }, delayMs);
      const threadId = ctx.threadId;
      return { content: [{ type: 'text' as const, text: String(threadId) }], structuredContent: { threadId } };
    });
  },
});
