#!/usr/bin/env node
/**
 * The stdio baseline: the SDK's `serveStdio` over this process's stdin/stdout, serving the same
 * toolsets in-process (what a developer writes for a stdio MCP server with the SDK v2). The
 * connection's first exchange pins its era: `initialize` → one 2025-era session (legacy: 'serve');
 * a 2026-07-28 message → one McpServer answering every request of the connection statelessly, or
 * on a state handle (context.ts), with `subscriptions/listen` served by the SDK.
 *
 *   node dist/bench/baseline/stdio.js [--toolsets diagnostics] [--log-level warn]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type McpServer,
  type RequestId,
  type ServerEvent,
  type Transport,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { BaselineHost, stderrLogger, type Binding, type LogLevel, type ModernRequest } from './context.js';
import { flags, loadToolsets } from './toolsets.js';

const f = flags(process.argv.slice(2));
const logLevel = (f['log-level'] ?? 'warn') as LogLevel;
const log = stderrLogger(logLevel, { component: 'baseline-stdio' });
const toolsets = await loadToolsets((f.toolsets ?? 'diagnostics').split(',').filter(Boolean));
const runtime = new BaselineHost({ toolsets, logLevel });
await runtime.init();

/** Runs `then(transport)` once serveStdio has connected `server` to its channel. */
function afterConnect(server: McpServer, then: (transport: Transport) => void): void {
  const connect = server.connect.bind(server);
  server.connect = async (transport: Transport) => {
    await connect(transport);
    then(transport);
  };
}

/** Feeds the bus's server events to `server` until it closes. */
function subscribe(server: McpServer, deliver: (event: ServerEvent) => Promise<void>): void {
  const unsubscribe = runtime.bus.subscribe((event) => void deliver(event).catch((err: unknown) => log.debug({ err: (err as Error).message }, 'a server event was not delivered')));
  const onclose = server.server.onclose;
  server.server.onclose = () => {
    onclose?.();
    unsubscribe();
  };
}

// The one pinned 2026 instance serves many requests: each runs inside its routed ModernRequest
// (AsyncLocalStorage, entered where the channel delivers the request to the server).
const requests = new AsyncLocalStorage<ModernRequest>();
const outside = runtime.route(undefined);
const modernBinding: Binding = {
  actor: () => (requests.getStore() ?? outside).actor(),
  served: () => (requests.getStore() ?? outside).served(),
};

/** Routes each request the channel delivers, and finishes it when answered or cancelled. */
function routeRequests(transport: Transport): void {
  const open = new Map<RequestId, ModernRequest>();
  const finish = (id: RequestId) => {
    open.get(id)?.finish();
    open.delete(id);
  };
  const deliver = transport.onmessage!;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) {
      const routed = runtime.route(message);
      open.set(message.id, routed);
      requests.run(routed, () => deliver(message, extra));
      return;
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined) finish(id);
    }
    deliver(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    try {
      await send(message, options);
    } finally {
      if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) finish(message.id);
    }
  };
}

const connection = serveStdio(
  async ({ era }) => {
    if (era === 'legacy') {
      const session = runtime.newSession();
      const server = await runtime.createServer(session);
      afterConnect(server, (transport) => session.stamp(transport));
      runtime.opened(session);
      // The process is the session: ending it (cleanup_session) ends the process.
      session.session.onEnd = () => void connection.close().then(() => process.exit(0));
      subscribe(server, (event) => session.deliver(server, event));
      return server;
    }
    const server = await runtime.createServer(modernBinding);
    afterConnect(server, routeRequests);
    // serveStdio turns the pinned instance's change notifications into subscriptions/listen frames.
    subscribe(server, (event) => {
      switch (event.kind) {
        case 'tools_list_changed':
          return server.server.sendToolListChanged();
        case 'prompts_list_changed':
          return server.server.sendPromptListChanged();
        case 'resources_list_changed':
          return server.server.sendResourceListChanged();
        case 'resource_updated':
          return server.server.sendResourceUpdated({ uri: event.uri });
      }
    });
    return server;
  },
  { legacy: 'serve', onerror: (err) => log.debug({ err: err.message }, 'stdio serving reported') },
);

process.stdin.once('end', () => {
  void connection.close().then(() => process.exit(0));
});
