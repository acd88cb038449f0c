/**
 * The suite's results document: what bench/results/<timestamp>.json and latest.json hold.
 */
import type { Machine } from '../machine.js';
import type { Goal, ScenarioResult } from '../scenarios/types.js';

export interface SuiteResults {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  options: {
    rounds: number;
    quick: boolean;
    /** Scenarios asked for with --only (null: all). */
    only: string[] | null;
    seed: number;
    budgetSec: number;
  };
  machine: Machine;
  servers: { ours: string; baseline: string };
  scenarios: ScenarioResult[];
  /** Every scenario's goals, in scenario order. */
  goals: Goal[];
}

export const SERVER_DESCRIPTIONS = {
  ours: 'mcp-actors (`node dist/src/cli.js serve`, its own process: Hono edge on the main thread, one worker thread per session)',
  baseline:
    "SDK baseline (`node dist/bench/baseline/cli.js`, its own process: the MCP SDK's StreamableHTTPServerTransport + McpServer per session, all on one thread)",
} as const;
