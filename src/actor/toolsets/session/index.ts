/**
 * Toolset `session`: what a session may learn about, and do to, sessions.
 *
 * - `get_session_stats`: server totals (as the CUA seed server reported them: total_sessions,
 *   max_concurrent) and, for the calling session only, created_at, last_activity, active_tasks.
 *   Other sessions are never named: a session id is a bearer secret.
 * - `cleanup_session{session_id}`: a session may end itself (after this call is answered);
 *   ending another session — by id or by the fingerprint /sessions shows — needs admin rights:
 *   a session created by an admin principal, or `admin_token`.
 */
import { toolErrorOf } from '../tool-error.js';
import { z } from 'zod';
import type { SessionService } from '../../runtime-calls.js';
import { defineToolset, type ToolsetContext } from '../types.js';

function service(ctx: ToolsetContext): SessionService {
  const s = ctx.service<SessionService>('session');
  if (!s) throw new Error('the session service is only available inside the mcp-actors runtime');
  return s;
}

export const toolset = defineToolset({
  name: 'session',
  description: 'Session statistics and cleanup',
  register(server, ctx) {
    server.registerTool(
      'get_session_stats',
      {
        description: 'Server-wide session totals and statistics of the calling session.',
        inputSchema: {},
        outputSchema: {
          total_sessions: z.number().describe('Open sessions, live and hibernated'),
          max_concurrent: z.number().describe('The most sessions the server accepts at once'),
          active_sessions: z.number(),
          hibernated_sessions: z.number(),
          session: z.object({
            created_at: z.string(),
            last_activity: z.string(),
            active_tasks: z.number().describe('Requests of this session running or queued, this one included'),
            restarts: z.number().describe('Times this session\'s actor was restarted after a fault'),
          }),
        },
        annotations: { readOnlyHint: true },
      },
      async () => {
        const stats = await service(ctx).stats();
        return { content: [{ type: 'text', text: JSON.stringify(stats) }], structuredContent: { ...stats } };
      },
    );

    server.registerTool(
      'cleanup_session',
      {
        description:
          'Ends a session. Your own session ends once this call has been answered. Ending another session (by id or fingerprint) requires admin rights.',
        inputSchema: {
          session_id: z.string().min(1).max(256).describe('The session to end: your own id, or (admin) another id or fingerprint'),
          admin_token: z.string().max(512).optional().describe('The server admin token, needed to end another session'),
        },
        outputSchema: { ended: z.boolean(), deferred: z.boolean() },
        annotations: { destructiveHint: true },
      },
      async ({ session_id, admin_token }) => {
        try {
          const result = await service(ctx).end(session_id, admin_token);
          const text = !result.ended ? 'No such session.' : result.deferred ? 'This session ends after this reply.' : 'Session ended.';
          return { content: [{ type: 'text', text }], structuredContent: result };
        } catch (err) {
          return toolErrorOf(err);
        }
      },
    );
  },
});

export default toolset;
