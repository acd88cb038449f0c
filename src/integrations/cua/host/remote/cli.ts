/**
 * `mcp-actors computer-server`: lends this machine's sandboxed Xvfb computers over trycua's protocol.
 *
 * Prints one JSON line `{"url": "ws://…/ws"}` on stdout once listening; SIGINT/SIGTERM close every
 * computer and resolve 0. Errors go to stderr (the API key is never printed). Prefer the
 * CUA_API_KEY environment variable to --api-key: a flag shows in the process list.
 */
import { parseArgs } from 'node:util';
import { createXvfbComputer } from '../xvfb/index.js';
import { startComputerServer, type ComputerServer } from './server.js';

const USAGE = `Usage: mcp-actors computer-server [options]

Serves trycua's computer-server protocol (ws://HOST:PORT/ws); each connection gets a fresh Xvfb
computer, a sandbox of its own (see the README's "Security model of computers").

Options:
  --host <addr>          address to listen on (default 127.0.0.1; anything else needs an API key)
  --port <n>             port, 0 = any free port (default 8000, cua's default)
  --api-key <key>        require this key in the auth frame (env CUA_API_KEY; the env is safer)
  --width <px>           screen width of each computer (default 1024)
  --height <px>          screen height of each computer (default 768)
  --max-computers <n>    most computers at once (default 4)
  --network <mode>       the computers' network: none (default), outbound (internet, not this
                         host's loopback), host (this host's network: trusted use only)
  -h, --help             this text`;

export interface CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (default: the first SIGINT or SIGTERM). */
  stopSignal?: Promise<string>;
}

const defaultIo = (): CommandIo => ({
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
});

function integer(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function computerServerCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'api-key': { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        'max-computers': { type: 'string' },
        network: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`computer-server: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  let server: ComputerServer;
  try {
    const width = integer('width', values.width, 1024, 16, 8192);
    const height = integer('height', values.height, 768, 16, 8192);
    const port = integer('port', values.port, 8000, 0, 65_535);
    const maxComputers = integer('max-computers', values['max-computers'], 4, 1, 256);
    const apiKey = values['api-key'] ?? (io.env.CUA_API_KEY || undefined);
    const network = values.network ?? 'none';
    if (network !== 'none' && network !== 'outbound' && network !== 'host') throw new Error('--network must be none, outbound or host');
    server = await startComputerServer({
      host: values.host ?? '127.0.0.1',
      port,
      apiKey,
      maxComputers,
      computers: () => createXvfbComputer({ width, height, sandbox: { network } }),
    });
    const stop = io.stopSignal ?? waitForSignal();
    io.stdout(JSON.stringify({ url: server.url }));
    await stop;
  } catch (err) {
    io.stderr(`computer-server: ${(err as Error).message}`);
    return 1;
  }
  await server.close();
  return 0;
}
