/**
 * Knowing when a cancelled handler has really finished.
 *
 * The SDK fires a handler's AbortSignal on `notifications/cancelled` and then suppresses its
 * response, so from outside a cancelled (or timed-out) request simply goes silent. The mailbox
 * must not start the next request of the session while that handler still runs, so every request
 * handler the server registers is wrapped: when a handler settles after its signal fired, we
 * report it. This reads the SDK's private `_requestHandlers` map (SDK version pinned in
 * package.json); `test/actors/session.test.ts` fails loudly if that ever changes.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';

type Handler = (request: { id: string | number }, extra: { signal: AbortSignal }) => unknown;

export function trackAbortedSettles(server: Server, onAbortedSettle: (id: string | number) => void): void {
  const holder = server as unknown as { _requestHandlers?: unknown };
  const handlers = holder._requestHandlers;
  if (!(handlers instanceof Map)) {
    throw new Error('@modelcontextprotocol/sdk internals changed: Protocol._requestHandlers is not a Map; mcp-actors cannot track cancelled handlers');
  }
  const wrap = (h: Handler): Handler => {
    const wrapped: Handler = (request, extra) => {
      const report = () => {
        if (extra.signal.aborted) onAbortedSettle(request.id);
      };
      let result: unknown;
      try {
        result = h(request, extra);
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
