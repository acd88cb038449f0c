/**
 * `mcp-actors bench`: a load generator for any MCP server (Streamable HTTP or stdio).
 *
 * - `benchCommand(argv)` is the CLI entry: argv is what follows `bench` on the command line;
 *   resolves to the exit code (0 ran, 1 could not run, 2 bad flags).
 * - `runLoad(options)` is the programmatic API the benchmark suite calls in-process.
 */
import { HELP, parseBenchArgs, UsageError } from './args.js';
import { progressLine } from './progress.js';
import { formatReport } from './report.js';
import { LoadOptionsError, runLoad } from './run.js';

export { runLoad, LoadOptionsError, spreadCallers } from './run.js';
export type { LoadOptions, LoadResult, ProgressSnapshot, ToolStats } from './run.js';
export type { MixEntry } from './scenario.js';
export { pickSequence, loadScenarioFile } from './scenario.js';
export { percentile } from './stats.js';
export { formatReport } from './report.js';
export { HELP as BENCH_HELP, parseBenchArgs, UsageError } from './args.js';

export interface BenchIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

export async function benchCommand(
  argv: string[],
  io: BenchIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let parsed;
  try {
    parsed = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`mcp-actors bench: ${err.message}\nRun "mcp-actors bench --help" for usage.\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    io.stdout.write(HELP);
    return 0;
  }

  const progress = io.stderr.isTTY === true ? progressLine(io.stderr) : undefined;
  const stop = new AbortController();
  const onSigint = (): void => {
    progress?.clear();
    io.stderr.write('mcp-actors bench: stopping, waiting for calls in flight (Ctrl-C again to quit)\n');
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const result = await runLoad({
      ...parsed.options,
      signal: stop.signal,
      onProgress: progress ? (p) => progress.update(p) : undefined,
    });
    progress?.clear();
    io.stdout.write(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
    return 0;
  } catch (err) {
    progress?.clear();
    if (err instanceof LoadOptionsError) {
      io.stderr.write(`mcp-actors bench: ${err.message}\nRun "mcp-actors bench --help" for usage.\n`);
      return 2;
    }
    io.stderr.write(`mcp-actors bench: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
