/**
 * Knowing when a cancelled handler has really finished.
 *
 * The SDK fires a handler's AbortSignal on `notifications/cancelled` and then suppresses its
 * response, so from outside a cancelled (or timed-out) request simply goes silent. The mailbox
 * must not start the next request of an actor while that handler still runs, and the stateless
 * pool counts it against its thread, so every request handler the server registers is wrapped:
 * when a handler settles after its signal fired, we report it. This reads the SDK's private
 * `_requestHandlers` map (SDK version pinned in package.json); `test/actors/mailbox.test.ts`
 * fails loudly if that ever changes.
 */
import type { Server } from '@modelcontextprotocol/server';

type Handler = (request: { id: string | number }, ctx: { mcpReq?: { signal?: AbortSignal } }) => unknown;

export function trackAbortedSettles(server: Server, onAbortedSettle: (id: string | number) => void): void {
  const holder = server as unknown as { _requestHandlers?: unknown };
  const handlers = holder._requestHandlers;
  if (!(handlers instanceof Map)) {
    throw new Error('@modelcontextprotocol/server internals changed: Protocol._requestHandlers is not a Map; mcp-actors cannot track cancelled handlers');
  }
  const wrap = (h: Handler): Handler => {
    const wrapped: Handler = (request, ctx) => {
      const report = () => {
        if (ctx.mcpReq?.signal?.aborted) onAbortedSettle(request.id);
      };
      let result: unknown;
      try {
        result = h(request, ctx);
      } catch (err) {
        report();
        throw err;
      }
      Promise.resolve(result).then(report, report);
      return result;
    };
    return wrapped;
  };
  for (const [method, h] of handlers) handlers.set(method, wrap(h as Handler));
  const originalSet = handlers.set.bind(handlers);
  handlers.set = (method: unknown, h: unknown) => originalSet(method, wrap(h as Handler));
}
