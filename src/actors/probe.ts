/**
 * Asks a real actor for its initialize result (capabilities, server info, instructions), so the
 * runtime can answer initialize for new sessions without starting their actors yet.
 */
import type { ActorThread } from './actor-thread.js';

export async function probeInitialize(thread: ActorThread, protocolVersion: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const id = 'mcp-actors/probe';
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the initialize probe got no answer within ${timeoutMs} ms`)), timeoutMs);
    thread.onMessage = (m) => {
      if (m.t === 'bound') {
        const params = { protocolVersion, capabilities: {}, clientInfo: { name: 'mcp-actors-probe', version: '0' } };
        thread.post({ t: 'in', json: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params }), id, seq: 0 });
      } else if (m.t === 'out' && m.id === id) {
        clearTimeout(timer);
        thread.onMessage = () => {};
        const reply = JSON.parse(m.json) as { result?: Record<string, unknown>; error?: { message: string } };
        if (reply.result) resolve(reply.result);
        else reject(new Error(`the initialize probe failed: ${reply.error?.message ?? 'no result'}`));
      }
    };
    thread.post({ t: 'bind', sessionId: 'mcp-actors-probe', state: {} });
  });
}
