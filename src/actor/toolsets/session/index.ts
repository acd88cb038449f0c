/**
 * Toolset `session`: what a workflow may learn about, and do to, its session.
 *
 * A "session" here is the workflow's state, in either protocol era:
 * - a 2025 MCP session (the client's `Mcp-Session-Id`), which is state by itself;
 * - an MCP 2026-07-28 state handle: `create_session` starts one — an actor of its own — and
 *   returns it as `session_id`; the tools of this and other toolsets that take `session_id`
 *   (cua's computer, ccxt's accounts) then run on that handle's actor.
 *
 * - `create_session`: a new session handle (in a 2025 session: that session's own handle).
 * - `get_session_stats{session_id?}`: server totals (as the CUA seed server reported them:
 *   total_sessions, max_concurrent) and, for the calling session or handle only, created_at,
 *   last_activity, active_tasks. Other sessions are never named: an id is a bearer secret.
 * - `cleanup_session{session_id}`: a session or handle may end itself (after this call is
 *   answered); ending another 2025 session — by id or by the fingerprint /sessions shows — needs
 *   admin rights: a session created by an admin principal, or `admin_token`.
 */
import { toolError, toolErrorOf } from '../tool-error.js';
import { z } from 'zod';
import type { SessionService } from '../../runtime-calls.js';
import { defineToolset, type ToolsetContext } from '../types.js';

function service(ctx: ToolsetContext): SessionService {
  const s = ctx.service<SessionService>('session');
  if (!s) throw new Error('the session service is only available inside the mcp-actors runtime');
  return s;
}

const sessionId = z.string().min(1).max(256);

/** The tools' schemas, built once per thread (register() runs for every session it serves). */
const schemas = {
  create_session: {
    input: z.object({}),
    output: z.object({ session_id: z.string() }),
  },
  get_session_stats: {
    input: z.object({ session_id: sessionId.optional().describe('The session to report on: yours') }),
    output: z.object({
      total_sessions: z.number().describe('Open sessions and session handles, live and hibernated'),
      max_concurrent: z.number().describe('The most sessions the server accepts at once'),
      active_sessions: z.number(),
      hibernated_sessions: z.number(),
      session: z
        .object({
          created_at: z.string(),
          last_activity: z.string(),
          active_tasks: z.number().describe('Requests of this session running or queued, this one included'),
          restarts: z.number().describe('Times this session\'s actor was restarted after a fault'),
        })
        .optional()
        .describe('Absent when the call names no session'),
    }),
  },
  cleanup_session: {
    input: z.object({
      session_id: sessionId.describe('The session to end: yours, or (admin) another 2025 session\'s id or fingerprint'),
      admin_token: z.string().max(512).optional().describe('The server admin token, needed to end another session'),
    }),
    output: z.object({ ended: z.boolean(), deferred: z.boolean() }),
  },
};

export const toolset = defineToolset({
  name: 'session',
  description: 'Session handles, statistics and cleanup',
  handles: { argument: 'session_id', create: ['create_session'], destroy: 'cleanup_session', optional: ['get_session_stats'], noun: 'session' },
  register(server, ctx) {
    server.registerTool(
      'create_session',
      {
        description: 'Starts a session: the state a workflow keeps across calls (a computer, exchange accounts, counters).',
        inputSchema: schemas.create_session.input,
        outputSchema: schemas.create_session.output,
      },
      async () => {
        const handle = ctx.actor.handle;
        if (!handle) return toolError('NOT_AVAILABLE', 'sessions can only be created inside the mcp-actors runtime');
        return { content: [{ type: 'text', text: JSON.stringify({ session_id: handle }) }], structuredContent: { session_id: handle } };
      },
    );

    server.registerTool(
      'get_session_stats',
      {
        description: 'Server-wide session totals and statistics of the calling session (given its session_id, or the 2025 session the call belongs to).',
        inputSchema: schemas.get_session_stats.input,
        outputSchema: schemas.get_session_stats.output,
        annotations: { readOnlyHint: true },
      },
      async () => {
        try {
          const stats = await service(ctx).stats();
          return { content: [{ type: 'text', text: JSON.stringify(stats) }], structuredContent: { ...stats } };
        } catch (err) {
          return toolErrorOf(err);
        }
      },
    );

    server.registerTool(
      'cleanup_session',
      {
        description:
          'Ends a session: your own (its session_id) once this call has been answered. Ending another 2025 session (by id or fingerprint) requires admin rights.',
        inputSchema: schemas.cleanup_session.input,
        outputSchema: schemas.cleanup_session.output,
        annotations: { destructiveHint: true },
      },
      async ({ session_id, admin_token }) => {
        try {
          // A session's own handle names the session itself.
          const target = session_id === ctx.actor.handle ? ctx.actor.key : session_id;
          const result = await service(ctx).end(target, admin_token);
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
