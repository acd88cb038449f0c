/**
 * The conformance fixtures' resources, resource template and (2025-era) resource subscriptions.
 *
 * A URI that matches none of them is answered by the SDK with -32602 "Resource not found" (data
 * `{uri}`), never with empty contents (sep-2164). 2026-07-28 clients subscribe to updates with
 * `subscriptions/listen` instead, which the runtime serves from `ctx.events`.
 */
import { ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import type { ToolsetContext } from '../types.js';
import {
  LOGGER,
  PNG_1X1_BASE64,
  STATIC_BINARY_URI,
  STATIC_TEXT,
  STATIC_TEXT_URI,
  TEMPLATE_URI,
  WATCHED_TEXT,
  WATCHED_URI,
} from './fixtures.js';

/** `ctx.state` key of a 2025 session's subscribed URIs (a string array, so it survives restarts). */
export const SUBSCRIPTIONS_KEY = 'everything.subscriptions';

export function registerResources(server: McpServer, ctx: ToolsetContext): void {
  server.registerResource(
    'static-text',
    STATIC_TEXT_URI,
    { title: 'Static Text Resource', description: 'A static text resource for testing', mimeType: 'text/plain' },
    async (): Promise<ReadResourceResult> => ({ contents: [{ uri: STATIC_TEXT_URI, mimeType: 'text/plain', text: STATIC_TEXT }] }),
  );

  server.registerResource(
    'static-binary',
    STATIC_BINARY_URI,
    { title: 'Static Binary Resource', description: 'A static binary resource (image) for testing', mimeType: 'image/png' },
    async (): Promise<ReadResourceResult> => ({ contents: [{ uri: STATIC_BINARY_URI, mimeType: 'image/png', blob: PNG_1X1_BASE64 }] }),
  );

  server.registerResource(
    'template',
    new ResourceTemplate(TEMPLATE_URI, { list: undefined }),
    { title: 'Resource Template', description: 'A resource template with parameter substitution', mimeType: 'application/json' },
    async (uri, { id }): Promise<ReadResourceResult> => {
      const value = Array.isArray(id) ? id.join(',') : id;
      if (value === undefined || value === '') throw new ResourceNotFoundError(uri.href);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id: value, templateTest: true, data: `Data for ID: ${value}` }),
          },
        ],
      };
    },
  );

  server.registerResource(
    'watched-resource',
    WATCHED_URI,
    { title: 'Watched Resource', description: 'A resource clients can subscribe to (resources/subscribe)', mimeType: 'text/plain' },
    async (): Promise<ReadResourceResult> => ({ contents: [{ uri: WATCHED_URI, mimeType: 'text/plain', text: WATCHED_TEXT }] }),
  );

  // 2025-era subscriptions: McpServer has no handlers for these, so the toolset answers them.
  // Like the reference server it accepts any URI. Fail loudly if another toolset already claimed
  // them rather than silently replacing theirs. (2026-07-28 removed both methods: the SDK answers
  // them -32601 there, and `resources.subscribe` makes `subscriptions/listen` honour
  // `resourceSubscriptions`.)
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.assertCanSetRequestHandler('resources/subscribe');
  server.server.assertCanSetRequestHandler('resources/unsubscribe');

  // A session's subscriptions live in its state (the runtime replays them on an actor restart);
  // no other actor kind receives these methods, and none of them has state to keep.
  const update = (change: (uris: Set<string>) => void) => {
    if (ctx.actor.kind !== 'session') return;
    const uris = new Set(ctx.state.get<string[]>(SUBSCRIPTIONS_KEY) ?? []);
    change(uris);
    ctx.state.set(SUBSCRIPTIONS_KEY, [...uris]);
  };

  server.server.setRequestHandler('resources/subscribe', async (request, hctx) => {
    update((uris) => uris.add(request.params.uri));
    await hctx.mcpReq.log('info', `Subscribed to resource: ${request.params.uri}`, LOGGER);
    return {};
  });

  server.server.setRequestHandler('resources/unsubscribe', async (request, hctx) => {
    update((uris) => uris.delete(request.params.uri));
    await hctx.mcpReq.log('info', `Unsubscribed from resource: ${request.params.uri}`, LOGGER);
    return {};
  });
}
