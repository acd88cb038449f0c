/**
 * Test support: `node --import dist/test/support/ccxt-import-register.js …` records every module
 * resolution of every thread (main, session actors, resource hosts) to the file named by
 * MCP_IMPORT_LOG — one JSON line `{ thread, main, specifier, parent, url }` each — so a test can
 * prove at run time which threads loaded ccxt. Node runs an `--import` module in each worker
 * thread too (workers inherit execArgv), and each thread gets its own hooks.
 */
import { register } from 'node:module';
import { isMainThread, threadId } from 'node:worker_threads';

const log = process.env.MCP_IMPORT_LOG;
if (log) register(new URL('./ccxt-import-hooks.js', import.meta.url), { data: { log, threadId, isMainThread } });
