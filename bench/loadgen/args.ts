/**
 * `mcp-actors bench` flag parsing (node's util.parseArgs, strict). Every mistake becomes a
 * UsageError with a message that says what to fix; the command exits 2 on it.
 */
import { parseArgs } from 'node:util';
import type { LoadOptions } from './run.js';
import { loadScenarioFile, ScenarioError } from './scenario.js';
import { shellWords } from './shell-words.js';

export class UsageError extends Error {}

export const HELP = `Usage: mcp-actors bench (--url <endpoint> | --stdio "<command>") (--tool <name> | --scenario <file>) [options]

Load-tests any MCP server over Streamable HTTP or stdio: opens sessions, drives concurrent
tools/call requests for a duration or a number of calls, and reports throughput, latency
percentiles, errors by kind and session-creation latency.

Target (exactly one):
  --url <url>            Streamable HTTP MCP endpoint, e.g. http://127.0.0.1:3000/mcp
  --stdio "<command>"    spawn a stdio MCP server; the command is split like a shell would
                         (quotes, backslashes; no expansion: use "sh -c '...'" for that).
                         One session; calls are multiplexed on it by id.

What to call (exactly one):
  --tool <name>          tool to call
  --args <json>          its arguments as a JSON object (default {})
  --scenario <file>      weighted mix of tools, a JSON file:
                           { "mix": [ { "tool": "echo", "args": { "text": "hi" }, "weight": 3 },
                                      { "tool": "add",  "args": { "a": 1, "b": 2 } } ] }
                         "args" defaults to {}, "weight" to 1 (any positive number). Each call
                         draws its tool from a PRNG seeded by --seed, so runs are reproducible.

Load:
  --sessions <n>         sessions to open (default 1; stdio: always 1)
  --concurrency <n>      concurrent callers, spread evenly over the sessions (default 10)
  --duration <seconds>   start calls for this long; in-flight calls finish and count (default 10)
  --calls <n>            make exactly n measured calls instead of running for a duration
                         (warm-up calls come on top)
  --warmup <n>[s|c]      warm-up excluded from the statistics, run before measuring: "5s" is
                         seconds, "200c" calls; a bare number is seconds with --duration and
                         calls with --calls
  --seed <int>           seed for the scenario mix (default 1)
  --timeout <ms>         per-call timeout; also bounds each initialize (default 30000)
  --header <k:v>         extra HTTP header on every request, repeatable (e.g. "authorization: Bearer x")
  --protocol-version <v> the MCP revision to speak (default 2025-11-25). 2026-07-28 sends
                         self-contained requests: no sessions (--sessions only groups the
                         callers), the per-request _meta envelope and the standard headers
  --http-client <raw|node>
                         HTTP client for http:// targets: "raw" (default), a lean HTTP/1.1
                         client on keep-alive sockets that costs about a third of the CPU per
                         request of "node" (node:http with a keep-alive Agent). https:// always
                         uses node:https.

Output:
  --json                 print the result as exactly one JSON document on stdout
  --verbose              stdio: forward the server's stderr (discarded otherwise)
  -h, --help             show this help

The report: calls (total / ok / errors), throughput (completed calls per second of measured wall
time), latency of ok calls (p50/p90/p99/max/mean, exact percentiles), errors by kind (http_<status>,
rpc_<code>, tool_error for results with isError, timeout, conn_<code> / conn_closed,
bad_response, bad_http, sse_no_response), session-creation latency (initialize round trip: p50/p99/max) and the CPU the
load generator itself used. A live progress line goes to stderr when stderr is a terminal.

Exit codes: 0 the run completed (even if calls failed), 1 it could not run (e.g. no session
opened), 2 bad flags.
`;

export type ParsedBench = { help: true } | { help: false; options: LoadOptions; json: boolean };

const INT = /^\d+$/;
const NUM = /^\d+(\.\d+)?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function positiveInt(flag: string, v: string): number {
  const n = INT.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number >= 1 (got "${v}")`);
  return n;
}

function positiveSeconds(flag: string, v: string): number {
  const s = v.endsWith('s') ? v.slice(0, -1) : v;
  const n = NUM.test(s) ? Number(s) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number of seconds > 0 (got "${v}")`);
  return n;
}

export function parseBenchArgs(argv: string[]): ParsedBench {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        stdio: { type: 'string' },
        sessions: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        calls: { type: 'string' },
        tool: { type: 'string' },
        args: { type: 'string' },
        scenario: { type: 'string' },
        json: { type: 'boolean' },
        warmup: { type: 'string' },
        seed: { type: 'string' },
        timeout: { type: 'string' },
        header: { type: 'string', multiple: true },
        'http-client': { type: 'string' },
        'protocol-version': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs' messages name the flag; drop its advice about "--" which does not apply here.
    throw new UsageError((err as Error).message.replace(/\s*To specify a positional argument.*$/s, ''));
  }
  if (values.help) return { help: true };

  const o: LoadOptions = {};
  if ((values.url === undefined) === (values.stdio === undefined)) {
    throw new UsageError('give exactly one target: --url <endpoint> or --stdio "<command>"');
  }
  if (values.url !== undefined) {
    let u: URL;
    try {
      u = new URL(values.url);
    } catch {
      throw new UsageError(`--url is not a valid URL: "${values.url}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UsageError(`--url must be http:// or https:// (got "${values.url}")`);
    }
    o.url = u.href;
  } else {
    let words: string[];
    try {
      words = shellWords(values.stdio!);
    } catch (err) {
      throw new UsageError(`--stdio: ${(err as Error).message}`);
    }
    if (words.length === 0) throw new UsageError('--stdio needs a command');
    o.stdio = values.stdio!;
  }

  if (values.sessions !== undefined) o.sessions = positiveInt('--sessions', values.sessions);
  if (o.stdio !== undefined && (o.sessions ?? 1) !== 1) {
    throw new UsageError('--sessions must be 1 with --stdio (one process is one session)');
  }
  if (values.concurrency !== undefined) o.concurrency = positiveInt('--concurrency', values.concurrency);

  if (values.calls !== undefined && values.duration !== undefined) {
    throw new UsageError('give --duration or --calls, not both');
  }
  if (values.calls !== undefined) o.calls = positiveInt('--calls', values.calls);
  if (values.duration !== undefined) o.durationSec = positiveSeconds('--duration', values.duration);

  if (values.scenario !== undefined) {
    if (values.tool !== undefined || values.args !== undefined) {
      throw new UsageError('give --tool/--args or --scenario, not both');
    }
    try {
      o.mix = loadScenarioFile(values.scenario);
    } catch (err) {
      if (err instanceof ScenarioError) throw new UsageError(err.message);
      throw err;
    }
  } else {
    if (values.tool === undefined || values.tool === '') {
      throw new UsageError('give --tool <name> (with optional --args <json>) or --scenario <file>');
    }
    o.tool = values.tool;
    if (values.args !== undefined) {
      let args: unknown;
      try {
        args = JSON.parse(values.args);
      } catch (err) {
        throw new UsageError(`--args is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        throw new UsageError('--args must be a JSON object, e.g. \'{"text":"hi"}\'');
      }
      o.args = args as Record<string, unknown>;
    }
  }

  if (values.warmup !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(s|c|calls)?$/.exec(values.warmup);
    if (!m) throw new UsageError(`--warmup must look like 5s (seconds), 200c (calls) or a bare number (got "${values.warmup}")`);
    const unit = m[2] ?? (o.calls !== undefined ? 'c' : 's');
    const n = Number(m[1]);
    if (unit === 's') {
      o.warmupSec = n;
    } else {
      if (!Number.isSafeInteger(n)) throw new UsageError(`--warmup in calls must be a whole number (got "${values.warmup}")`);
      o.warmupCalls = n;
    }
  }
  if (values.seed !== undefined) {
    const n = /^-?\d+$/.test(values.seed) ? Number(values.seed) : NaN;
    if (!Number.isSafeInteger(n)) throw new UsageError(`--seed must be an integer (got "${values.seed}")`);
    o.seed = n;
  }
  if (values.timeout !== undefined) o.timeoutMs = positiveInt('--timeout', values.timeout);

  if (values.header !== undefined) {
    if (o.url === undefined) throw new UsageError('--header only applies to --url');
    const headers: Record<string, string> = {};
    for (const h of values.header) {
      const colon = h.indexOf(':');
      const name = colon === -1 ? '' : h.slice(0, colon).trim().toLowerCase();
      if (!HEADER_NAME.test(name)) throw new UsageError(`--header must look like "name: value" (got "${h}")`);
      const value = h.slice(colon + 1).trim();
      if (/[\r\n\0]/.test(value)) throw new UsageError(`--header value has a control character: "${name}"`);
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    o.headers = headers;
  }
  const client = values['http-client'];
  if (client !== undefined) {
    if (client !== 'raw' && client !== 'node') throw new UsageError(`--http-client must be raw or node (got "${client}")`);
    if (o.url === undefined) throw new UsageError('--http-client only applies to --url');
    o.httpClient = client;
  }
  const version = values['protocol-version'];
  if (version !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) throw new UsageError(`--protocol-version must be a revision date like 2026-07-28 (got "${version}")`);
    if (version >= '2026-07-28' && o.url === undefined) throw new UsageError('--protocol-version 2026-07-28 (sessionless) applies to --url only');
    o.protocolVersion = version;
  }
  if (values.verbose) o.verbose = true;
  return { help: false, options: o, json: values.json === true };
}
