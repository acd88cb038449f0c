/**
 * Test support: waiting on observable events instead of fixed sleeps. `waitFor` polls any
 * condition; the rest read what a running server shows — its metrics, and (as an admin) its own
 * view of each session's mailbox on GET /sessions — so a test can tell that a request it sent has
 * been accepted, or is running, before it takes the next step.
 */
import { fingerprint } from '../../src/main/observability/log.js';

export { fingerprint };

/** Polls `probe` until it yields something (not undefined/false), or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Anything with the origin of a running server (a ServerProcess). */
export interface Origin {
  origin: string;
}

/** The value of one sample on /metrics (the first line of `name` whose labels include `labels`), 0 when absent. */
export async function metric(server: Origin, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * An admin token for test servers: add `admin: { token: ADMIN_TOKEN }` to a server's config to let
 * `sessionView` read GET /sessions (on loopback this requires nothing of other clients).
 */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** One session as GET /sessions shows it. */
export interface SessionView {
  fingerprint: string;
  state: string;
  /** Requests waiting in its mailbox. */
  queueDepth: number;
  /** The method of the request its actor thread is running, if any. */
  inFlight?: string;
  restarts: number;
}

/** Every session the server holds, keyed by fingerprint (GET /sessions as an admin). */
export async function sessionViews(server: Origin, token = ADMIN_TOKEN): Promise<Map<string, SessionView>> {
  const res = await fetch(`${server.origin}/sessions`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET /sessions: ${res.status} ${await res.text()} (is admin.token set to ADMIN_TOKEN in the server's config?)`);
  const { sessions } = (await res.json()) as { sessions: SessionView[] };
  return new Map(sessions.map((s) => [s.fingerprint, s]));
}

/**
 * Waits until each session's mailbox has taken every request sent to it (`sent`: session id →
 * the pending replies of the requests sent to it so far): queued, running or already answered.
 * Waiting after each send makes the arrival order the send order.
 */
export async function untilAccepted(server: Origin, sent: Record<string, Array<Promise<unknown>>>, token = ADMIN_TOKEN): Promise<void> {
  const answered = new Map<string, number>();
  for (const [session, replies] of Object.entries(sent)) {
    answered.set(session, 0);
    for (const p of replies) {
      const done = () => answered.set(session, answered.get(session)! + 1);
      p.then(done, done);
    }
  }
  await waitFor(`the server to accept ${Object.values(sent).flat().length} request(s)`, async () => {
    // Answers are counted before the server is asked: a request answered in between is then
    // counted by neither (and the next poll sees it), never by both.
    const seen = new Map(answered);
    const views = await sessionViews(server, token);
    return Object.entries(sent).every(([session, replies]) => {
      const v = views.get(fingerprint(session));
      const pending = v ? v.queueDepth + (v.inFlight ? 1 : 0) : 0;
      return pending + seen.get(session)! >= replies.length;
    });
  });
}

/** Waits until the session's actor thread is running a request (and `queued` more wait behind it). */
export async function untilRunning(server: Origin, session: string, queued = 0, token = ADMIN_TOKEN): Promise<SessionView> {
  return waitFor(`session ${fingerprint(session)} to run a request${queued ? ` with ${queued} queued` : ''}`, async () => {
    const v = (await sessionViews(server, token)).get(fingerprint(session));
    return v?.inFlight !== undefined && v.queueDepth >= queued && v;
  });
}
