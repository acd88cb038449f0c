/**
 * The suite's scenarios, in the order they run. A new scenario (ccxt, cua, …) is a module in this
 * folder exporting a `Scenario` (./types.ts), added here. `cold` runs last: it starts a new server for
 * every measurement and never warms up (what users hit right after a deploy).
 */
import { ccxtScenario } from './ccxt.js';
import { cluster } from './cluster.js';
import { cold } from './cold.js';
import { cua } from './cua.js';
import { echo } from './echo.js';
import { memory } from './memory.js';
import { modern } from './modern.js';
import { noisyNeighbour } from './noisy-neighbour.js';
import { reactivation } from './reactivation.js';
import { runaway } from './runaway.js';
import { sessionCreation } from './session-creation.js';
import { stdio } from './stdio.js';
import type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [echo, noisyNeighbour, runaway, sessionCreation, reactivation, stdio, memory, modern, ccxtScenario, cua, cluster, cold];

export type { Scenario, ScenarioContext, ScenarioOutput, ScenarioResult, Metric, Goal, Cell, Figure, NotMeasured } from './types.js';
