/**
 * /health, /metrics, /sessions and the structured logs — and that none of them shows a session id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from './support/server.js';
import { callTool, openSession, structured } from './support/mcp-http.js';

const ADMIN = 'test-admin-token-0123456789abcdef';
let server: ServerProcess;
let ids: string[];

beforeAll(async () => {
  server = await startServer({ toolsets: ['diagnostics', 'session'], config: { admin: { token: ADMIN }, sessions: { hibernateAfterMs: 0 } } });
  ids = [await openSession(server.url), await openSession(server.url), await openSession(server.url)];
  for (const s of ids) await callTool(server.url, s, 'echo', { text: 'hi' });
  await callTool(server.url, ids[0]!, 'crash');
  await callTool(server.url, ids[0]!, 'echo', { text: 'after' });
});
afterAll(async () => {
  await server?.stop();
});

/** A small, strict reader of the Prometheus text exposition format (0.0.4). */
function parsePrometheus(text: string): Map<string, Array<{ labels: string; value: number }>> {
  const samples = new Map<string, Array<{ labels: string; value: number }>>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      expect(line).toMatch(/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*/);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      expect(m, line).not.toBeNull();
      types.set(m![1]!, m![2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( -?\d+)?$/.exec(line);
    expect(m, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const name = m![1]!;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(name) || types.has(base), `sample without TYPE: ${line}`).toBe(true);
    const list = samples.get(name) ?? [];
    list.push({ labels: m![2] ?? '', value: Number(m![3]) });
    samples.set(name, list);
  }
  return samples;
}

describe('observability', () => {
  it('/health: status, session counts, uptime — and no session id', async () => {
    const res = await fetch(`${server.origin}/health`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const h = JSON.parse(text);
    expect(h.status).toBe('ok');
    expect(h.sessions.total).toBe(3);
    expect(h.sessions.active + h.sessions.hibernated + h.sessions.restarting + h.sessions.starting).toBe(3);
    expect(h.uptimeSeconds).toBeGreaterThanOrEqual(0);
    for (const id of ids) expect(text).not.toContain(id);
  });

  it('/metrics parses as Prometheus text, has the runtime series, and shows no session id', async () => {
    const res = await fetch(`${server.origin}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const m = parsePrometheus(text);
    for (const name of ['mcp_actors_sessions', 'mcp_actors_actor_restarts_total', 'mcp_actors_mailbox_queued', 'mcp_actors_request_duration_seconds_bucket', 'mcp_actors_actor_threads', 'mcp_actors_warm_pool']) {
      expect(m.has(name), name).toBe(true);
    }
    expect(m.get('mcp_actors_sessions')!.find((s) => s.labels.includes('state="active"'))!.value).toBeGreaterThan(0);
    expect(m.get('mcp_actors_actor_restarts_total')!.some((s) => s.value >= 1)).toBe(true);
    const echo = m.get('mcp_actors_request_duration_seconds_count')!.find((s) => s.labels.includes('tool="echo"'));
    expect(echo!.value).toBeGreaterThanOrEqual(4);
    for (const id of ids) expect(text).not.toContain(id);
  });

  it('keeps metric labels bounded: an unknown tool name a client sends is recorded as "unknown"', async () => {
    await callTool(server.url, ids[1]!, 'no_such_tool_zzzz');
    const text = await (await fetch(`${server.origin}/metrics`)).text();
    expect(text).not.toContain('no_such_tool_zzzz');
    expect(text).toContain('tool="unknown"');
  });

  it('/sessions needs the admin token (401 otherwise) and lists fingerprints, never ids', async () => {
    const none = await fetch(`${server.origin}/sessions`);
    expect(none.status).toBe(401);
    expect((await none.json()).error.message).toMatch(/Bearer <admin token>/);
    const bad = await fetch(`${server.origin}/sessions`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await bad.json()).error.message).toMatch(/not an admin credential/);
    // The log says what happened: a wrong token is not a missing one.
    const failures = server.logs().filter((l) => l.msg === 'admin endpoint: authentication failed');
    expect(failures.at(-1)?.kind ?? failures.at(-1)?.failure).toBe('invalid_token');
    const ok = await fetch(`${server.origin}/sessions`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    for (const id of ids) expect(text).not.toContain(id);
    const { sessions } = JSON.parse(text);
    expect(sessions).toHaveLength(3);
    for (const s of sessions) {
      expect(s.fingerprint).toMatch(/^[0-9a-f]{12}$/);
      expect(Date.parse(s.connectedAt)).not.toBeNaN();
      expect(Date.parse(s.lastActivity)).not.toBeNaN();
      expect(s.clientIp).toMatch(/127\.0\.0\.1/);
      expect(['active', 'hibernated', 'starting', 'restarting']).toContain(s.state);
      expect(typeof s.queueDepth).toBe('number');
      expect(typeof s.restarts).toBe('number');
    }
    expect(sessions.some((s: { restarts: number }) => s.restarts === 1)).toBe(true);
  });

  it('logs one structured line per lifecycle event and fault, with fingerprints and without ids', () => {
    const logs = server.logs();
    expect(logs.filter((l) => l.msg === 'session created')).toHaveLength(3);
    expect(logs.some((l) => l.msg === 'session actor thread died' && l.reason === 'exit')).toBe(true);
    expect(logs.some((l) => l.msg === 'restarting session actor')).toBe(true);
    expect(logs.some((l) => l.msg === 'admin endpoint: authentication failed')).toBe(true);
    const all = server.stderr.join('\n');
    for (const id of ids) expect(all).not.toContain(id);
    expect(logs.filter((l) => l.msg === 'session created').every((l) => typeof l.session === 'string' && (l.session as string).length === 12)).toBe(true);
  });
});

describe('toolset: session', () => {
  it('get_session_stats reports totals and the calling session only', async () => {
    const stats = structured(await callTool(server.url, ids[1]!, 'get_session_stats'));
    expect(stats.total_sessions).toBe(3);
    expect(stats.max_concurrent).toBe(10_000);
    expect(Date.parse(stats.session.created_at)).not.toBeNaN();
    expect(stats.session.active_tasks).toBe(1); // this very call
    expect(JSON.stringify(stats)).not.toContain(ids[0]);
  });

  it('cleanup_session: a session may end itself; ending another needs the admin token', async () => {
    const a = await openSession(server.url);
    const b = await openSession(server.url);
    const refused = await callTool(server.url, a, 'cleanup_session', { session_id: b });
    expect(refused.json.result.isError).toBe(true);
    expect(JSON.stringify(refused.json.result.content)).toMatch(/admin/);
    expect(structured(await callTool(server.url, b, 'echo', { text: 'alive' })).text).toBe('alive');

    const byAdmin = structured(await callTool(server.url, a, 'cleanup_session', { session_id: b, admin_token: ADMIN }));
    expect(byAdmin).toEqual({ ended: true, deferred: false });
    expect((await callTool(server.url, b, 'echo', { text: 'x' })).status).toBe(404);
    expect(server.logs().some((l) => l.msg === 'admin action: session ended')).toBe(true);

    const self = structured(await callTool(server.url, a, 'cleanup_session', { session_id: a }));
    expect(self).toEqual({ ended: true, deferred: true }); // answered first, then ended
    expect((await callTool(server.url, a, 'echo', { text: 'x' })).status).toBe(404);
  });

  it('process metrics carry the conventional process_* and nodejs_* names (standard dashboards match)', async () => {
    const text = await (await fetch(`${server.origin}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toContain('mcp_actors_process_');
  });
});

describe('/sessions on a server without any admin credential', () => {
  it('says how to configure one (MCP_ACTORS_ADMIN_TOKEN)', async () => {
    const plain = await startServer({ toolsets: ['diagnostics'], env: { MCP_ACTORS_ADMIN_TOKEN: '' } });
    try {
      const r = await fetch(`${plain.origin}/sessions`);
      expect(r.status).toBe(401);
      expect((await r.json()).error.message).toMatch(/no admin credential is configured on this server: set MCP_ACTORS_ADMIN_TOKEN/);
    } finally {
      await plain.stop();
    }
  });
});
