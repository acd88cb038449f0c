/**
 * The NATS permissions a node of cluster `name` needs — and all it gets: its cluster's subjects
 * (forwarded requests, pings, events), its cluster's inboxes (relayed responses, JetStream
 * replies) and its cluster's four KV buckets. Give clients and other services users without
 * these, and no one but a node can send a node a request (which carries an authenticated
 * principal) or read a record. `mcp-actors cluster-permissions` prints them for nats-server.
 */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

export function nodePermissions(name: string): NatsPermissions {
  const api: string[] = [];
  for (const bucket of ['owners', 'records', 'settings', 'nodes']) {
    const stream = `KV_${name}-${bucket}`;
    api.push(
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$KV.${name}-${bucket}.>`,
    );
  }
  return {
    publish: [`${name}.>`, `_INBOX_${name}.>`, "$JS.API.INFO", ...api],
    subscribe: [`${name}.>`, `_INBOX_${name}.>`],
  };
}

/** A nats-server `authorization` users entry for a node (password auth; adapt for nkeys or JWTs). */
export function natsServerUser(name: string, user: string, password: string): string {
  const p = nodePermissions(name);
  const list = (xs: string[]) => xs.map((x) => JSON.stringify(x)).join(', ');
  return `{ user: ${JSON.stringify(user)}, password: ${JSON.stringify(password)}, permissions: { publish: [${list(p.publish)}], subscribe: [${list(p.subscribe)}] } }`;
}
