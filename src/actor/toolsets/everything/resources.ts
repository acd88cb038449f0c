/**
 * The conformance fixtures' resources, resource template and resource subscriptions.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ToolsetContext } from '../types.js';
import {
  PNG_1X1_BASE64,
  STATIC_BINARY_URI,
  STATIC_TEXT,
  STATIC_TEXT_URI,
  TEMPLATE_URI,
  WATCHED_TEXT,
  WATCHED_URI,
} from './fixtures.js';
import type { SessionLog } from '../logging.js';

/** `ctx.state` key of the session's subscribed URIs (a string array, so it survives restarts). */
export const SUBSCRIPTIONS_KEY = 'everything.subscriptions';

export function registerResources(server: McpServer, ctx: ToolsetContext, log: SessionLog): void {
  server.registerResource(
    'static-text',
    STATIC_TEXT_URI,
    { title: 'Static Text Resource', description: 'A static text resource for testing', mimeType: 'text/plain' },
    async () => ({ contents: [{ uri: STATIC_TEXT_URI, mimeType: 'text/plain', text: STATIC_TEXT }] }),
  );

  server.registerResource(
    'static-binary',
    STATIC_BINARY_URI,
    {
      title: 'Static Binary Resource',
      description: 'A static binary resource (image) for testing',
      mimeType: 'image/png',
    },
    async () => ({ contents: [{ uri: STATIC_BINARY_URI, mimeType: 'image/png', blob: PNG_1X1_BASE64 }] }),
  );

  server.registerResource(
    'template',
    new ResourceTemplate(TEMPLATE_URI, { list: undefined }),
    {
      title: 'Resource Template',
      description: 'A resource template with parameter substitution',
      mimeType: 'application/json',
    },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
        },
      ],
    }),
  );

  server.registerResource(
    'watched-resource',
    WATCHED_URI,
    {
      title: 'Watched Resource',
      description: 'A resource clients can subscribe to (resources/subscribe)',
      mimeType: 'text/plain',
    },
    async () => ({ contents: [{ uri: WATCHED_URI, mimeType: 'text/plain', text: WATCHED_TEXT }] }),
  );

  // Subscriptions: McpServer has no built-in handlers for these, so the toolset declares
  // `resources.subscribe` and answers them itself. Like the reference server it accepts any URI.
  // Fail loudly if another toolset already claimed them rather than silently replacing theirs.
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.assertCanSetRequestHandler('resources/subscribe');
  server.server.assertCanSetRequestHandler('resources/unsubscribe');

  const subscriptions = () => new Set(ctx.state.get<string[]>(SUBSCRIPTIONS_KEY) ?? []);

  server.server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const uris = subscriptions();
    uris.add(request.params.uri);
    ctx.state.set(SUBSCRIPTIONS_KEY, [...uris]);
    await log.send(extra, 'info', `Subscribed to resource: ${request.params.uri}`);
    return {};
  });

  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request, extra) => {
    const uris = subscriptions();
    uris.delete(request.params.uri);
    ctx.state.set(SUBSCRIPTIONS_KEY, [...uris]);
    await log.send(extra, 'info', `Unsubscribed from resource: ${request.params.uri}`);
    return {};
  });
}
