#!/usr/bin/env node
/**
 * mcp-actors serve | stdio | bench | computer-server
 */
import { parseArgs } from 'node:util';
import { ConfigError, readConfigFile, resolveConfig, type Config } from './main/config.js';
import { unsafeBindProblem } from './main/edge/auth/bind-policy.js';
import { createLogger } from './main/observability/log.js';
import { Runtime, VERSION } from './main/runtime.js';
import { BUILTINS } from './main/integrations.js';

const USAGE = `mcp-actors ${VERSION} — an actor-model runtime for MCP servers

Usage:
  mcp-actors serve [--host 127.0.0.1] [--port 3000] [--toolsets a,b,...] [--config file.json]
  mcp-actors stdio [--toolsets a,b,...] [--config file.json]
  mcp-actors bench --url <endpoint> | --stdio "<command>" [options]   (mcp-actors bench --help)
  mcp-actors cluster-permissions [--name <cluster>]   (the NATS permissions a cluster node needs)
  mcp-actors computer-server [--host 127.0.0.1] [--port 8000] [options]   (lends this machine's
                       sandboxed Xvfb computers over trycua's computer-server protocol; --help)

Options:
  --host <addr>        address to listen on (env HOST; default 127.0.0.1)
  --port <n>           port to listen on, 0 = any free port (env PORT; default 3000)
  --toolsets <list>    comma-separated built-in names (${Object.keys(BUILTINS).join(', ')})
                       or paths to toolset modules (env MCP_TOOLSETS; default everything)
  --config <file>      JSON config file for every other setting (env MCP_ACTORS_CONFIG)
  --cluster <urls>     join a cluster through NATS with JetStream, e.g. nats://127.0.0.1:4222
                       (env MCP_ACTORS_CLUSTER; comma-separated URLs; config cluster.*)
  -h, --help           this text
  -v, --version        the version

Serving on a non-loopback address requires authentication: static tokens (auth.tokens in the
config file, or env MCP_ACTORS_TOKENS="principal=token,...") or OAuth (auth.oauth).

Logs are JSON lines on stderr. See README.md for every configuration key.`;

function fail(message: string, code: number): never {
  process.stderr.write(`mcp-actors: ${message}\n`);
  process.exit(code);
}

/**
 * Resolves on the first SIGINT or SIGTERM. Installed before anything else starts, so a signal
 * that arrives during startup ends in a clean stop rather than the default (kill) action.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

function loadConfig(values: { host?: string; port?: string; toolsets?: string; config?: string; cluster?: string }): Config {
  const file = values.config ?? process.env.MCP_ACTORS_CONFIG;
  return resolveConfig({
    file: file ? readConfigFile(file) : undefined,
    env: process.env,
    flags: { host: values.host, port: values.port, toolsets: values.toolsets, cluster: values.cluster },
  });
}

async function serve(config: Config): Promise<void> {
  const unsafe = unsafeBindProblem(config);
  if (unsafe) fail(unsafe, 2);
  const stopped = stopSignal();
  const log = createLogger(config.logLevel);
  const rt = await Runtime.start(config, log);
  // Each mode loads only its own edge (startup time matters, most of all for stdio).
  const { startHttp } = await import('./main/edge/http.js');
  const http = await startHttp(rt);
  log.info({ url: http.url, toolsets: config.toolsets }, 'listening');
  const signal = await stopped;
  // A second signal during the drain is ignored: accepted requests still get their answers.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  log.info({ signal, drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'shutting down: draining accepted requests');
  await http.close(config.shutdown.drainTimeoutMs);
  log.info('stopped');
  process.exit(0);
}

async function stdio(config: Config): Promise<void> {
  const stopped = stopSignal();
  const log = createLogger(config.logLevel, { mode: 'stdio' });
  // One session, always live: one thread, no hibernation, and no lazy activation (with a single
  // session it would only add a probe before the first answer).
  const rt = await Runtime.start(
    { ...config, warmPool: { ...config.warmPool, min: 1, max: 1 }, sessions: { ...config.sessions, hibernateAfterMs: 0, lazyActivation: false } },
    log,
  );
  const { runStdio } = await import('./main/edge/stdio.js');
  await runStdio(rt, { drainTimeoutMs: config.sessions.requestTimeoutMs, stop: stopped });
  process.exit(0);
}

export async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (command === 'bench') {
    const { benchCommand } = await import('../bench/loadgen/index.js');
    process.exitCode = await benchCommand(argv.slice(1));
    return;
  }
  if (command === 'cluster-permissions') {
    const { values } = parseArgs({ args: argv.slice(1), options: { name: { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    const name = values.name ?? 'mcp-actors';
    if (values.help || !/^[A-Za-z0-9_-]{1,32}$/.test(name)) {
      process.stdout.write('usage: mcp-actors cluster-permissions [--name <cluster.name>] [--user <nats user>]\nprints the nats-server authorization entry a node of the cluster needs (and all it gets)\n');
      process.exitCode = values.help ? 0 : 2;
      return;
    }
    const { natsServerUser } = await import('./main/cluster/permissions.js');
    process.stdout.write(`authorization {\n  users = [\n    ${natsServerUser(name, values.user ?? 'mcp-actors-node', '<password>')}\n  ]\n}\n`);
    return;
  }
  if (command === 'computer-server') {
    const { computerServerCommand } = await import('./integrations/cua/host/remote/index.js');
    process.exitCode = await computerServerCommand(argv.slice(1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        toolsets: { type: 'string' },
        config: { type: 'string' },
        cluster: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length > 1) fail(`unexpected arguments: ${positionals.slice(1).join(' ')}`, 2);
  let config: Config;
  try {
    config = loadConfig(values);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  try {
    if (positionals[0] === 'serve') await serve(config);
    else if (positionals[0] === 'stdio') {
      if (values.host !== undefined || values.port !== undefined) fail('stdio mode takes no --host or --port', 2);
      if (values.cluster !== undefined) fail('stdio mode serves one local session: it takes no --cluster', 2);
      await stdio({ ...config, cluster: { ...config.cluster, servers: [] } });
    } else fail(`unknown command "${positionals[0]}"\n\n${USAGE}`, 2);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    fail(`cannot start: ${(err as Error).message}`, 1);
  }
}

void main(process.argv.slice(2));
