// Start the fake model from the command line, for offline trials of the agent loop:
//
//   node dist/test/support/fake-model/cli.js --script script.json [--port 0] [--api-key KEY] [--delay-ms 0]
//   node dist/test/support/fake-model/cli.js --router --api-key KEY     (scripts added over HTTP: router.ts)
//
// The script file is a JSON array of steps (see script.ts), e.g.
//   [{"use": {"action": "key", "text": "ctrl+alt+t"}}, {"use": {"action": "type", "text": "ls\n"}}, {"final": "done"}]
// Prints one JSON line {"url": "http://127.0.0.1:PORT"} and serves until SIGINT / SIGTERM.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { parseScript } from './script.js';
import { startFakeModel } from './server.js';
import { startModelRouter } from './router.js';

function numOption(name: string, raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      script: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'delay-ms': { type: 'string' },
      router: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.router) {
    const router = await startModelRouter({ apiKey: values['api-key'] ?? 'fake-model-key' });
    process.stdout.write(`${JSON.stringify({ url: router.url })}\n`);
    const stopRouter = () => {
      router.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stopRouter);
    process.once('SIGTERM', stopRouter);
    return;
  }
  if (values.script === undefined) throw new Error('--script <file.json> is required');
  const script = parseScript(JSON.parse(readFileSync(values.script, 'utf8')));
  const fake = await startFakeModel({
    script,
    port: numOption('port', values.port),
    delayMs: numOption('delay-ms', values['delay-ms']),
    ...(values['api-key'] !== undefined ? { apiKey: values['api-key'] } : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`fake-model: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
