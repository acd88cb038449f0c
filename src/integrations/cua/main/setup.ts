/**
 * Main-thread side of the `cua` toolset, started when the toolset is configured (integrations.ts):
 *
 * - one resource kind, `computer`: exclusive instances, one host thread each (per-instance
 *   placement), at most `cua.maxComputers` (for the cua backend also at most one per configured
 *   URL), waits with a deadline (`cua.waitTimeoutMs` → LEASE_TIMEOUT), reset before reuse (a
 *   computer that cannot be reset is replaced), retired after `cua.idleTtlMs` unused, health-checked
 *   every `cua.healthIntervalMs`, `cua.minComputers` kept warm;
 * - the `cua.settings` runtime call: pool limits and the agent's model settings for the session
 *   threads (the model API key goes to the thread that runs the agent loop, and nowhere else: not
 *   into logs, tool results or errors);
 * - default deadlines of the cua tools, unless configured (see `applyDeadlines`).
 *
 * Model settings: `cua.model.*` when given, else the environment — ANTHROPIC_API_KEY,
 * ANTHROPIC_BASE_URL, CUA_MODEL_NAME, CUA_MAX_IMAGES (default 3), CUA_MAX_STEPS (default 30).
 * Remote computers: `cua.remote.apiKey`, else CUA_API_KEY. A missing model key does not stop the
 * server (the direct computer tools work without a model); run_cua_task then says what is missing.
 */
import { ConfigError, type Config } from '../../../main/config.js';
import type { IntegrationContext } from '../../../main/integration-context.js';
import { ResourceKind } from '../../../main/resources/kind.js';
import { agentConfigFromEnv, AgentConfigError } from '../shared/agent-config.js';
import type { ComputerFactoryConfig } from '../host/factory.js';
import { COMPUTER_KIND, SETTINGS_CALL, type CuaSettings } from '../shared/lease-api.js';
import { newUrlSlotTable } from '../shared/url-slots.js';
import { resourceHostNice } from '../../../shared/thread-priority.js';

type CuaConfig = Config['cua'];

/** Slack added to the cua tools' deadlines beyond the lease wait and the task budget. */
const DEADLINE_SLACK_MS = 15_000;
/** Budget of the direct computer tools beyond the lease wait (a long computer_type takes a while). */
const ACTION_BUDGET_MS = 60_000;
/** run_multi_cua_tasks' default deadline covers this many task budgets (tasks that start late get what is left). */
const MULTI_TASK_BUDGETS = 3;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The settings sessions get, resolved once at start (config first, then the environment). */
export function resolveCuaSettings(c: CuaConfig, env: NodeJS.ProcessEnv = process.env): CuaSettings {
  if (c.backend === 'cua' && c.remote.urls.length === 0) {
    throw new ConfigError('cua.remote.urls: the cua backend needs at least one computer-server URL');
  }
  const apiKey = nonEmpty(c.model.apiKey) ?? nonEmpty(env.ANTHROPIC_API_KEY);
  let agent;
  try {
    agent = agentConfigFromEnv(env, {
      apiKey: apiKey ?? 'unset',
      baseUrl: c.model.baseUrl,
      model: c.model.model,
      maxTokens: c.model.maxTokens,
      maxImages: c.model.maxImages,
      maxSteps: c.model.maxSteps,
    });
  } catch (err) {
    if (err instanceof AgentConfigError) throw new ConfigError(`cua.model: ${err.message}`);
    throw err;
  }
  return {
    backend: c.backend,
    maxComputers: c.backend === 'cua' ? Math.min(c.maxComputers, c.remote.urls.length) : c.maxComputers,
    waitTimeoutMs: c.waitTimeoutMs,
    model: apiKey === undefined ? { problem: 'no model API key is configured (set ANTHROPIC_API_KEY, or cua.model.apiKey in the config file)' } : agent.model,
    maxImages: agent.maxImages,
    maxSteps: agent.maxSteps,
    taskDeadlineMs: c.model.taskDeadlineMs,
  };
}

/**
 * The cua tools need more than the default request deadline: a lease may wait `waitTimeoutMs`,
 * and a task runs up to `taskDeadlineMs`. Unless configured (sessions.toolTimeoutsMs /
 * sessions.toolsetTimeoutsMs win), the deadlines become:
 *   direct tools (toolset `cua`)   waitTimeoutMs + 60 s
 *   run_cua_task                   waitTimeoutMs + taskDeadlineMs + 15 s
 *   run_multi_cua_tasks            waitTimeoutMs + 3 × taskDeadlineMs + 15 s
 * The tools themselves bound their lease waits and task budgets by what is left of the request's
 * deadline, so they answer (with what they got) before it passes.
 */
export function applyDeadlines(sessions: Config['sessions'], s: CuaSettings): Record<string, number> {
  const set = (table: Record<string, number>, key: string, value: number) => (table[key] ??= value);
  return {
    cua: set(sessions.toolsetTimeoutsMs, 'cua', s.waitTimeoutMs + ACTION_BUDGET_MS),
    run_cua_task: set(sessions.toolTimeoutsMs, 'run_cua_task', s.waitTimeoutMs + s.taskDeadlineMs + DEADLINE_SLACK_MS),
    run_multi_cua_tasks: set(sessions.toolTimeoutsMs, 'run_multi_cua_tasks', s.waitTimeoutMs + MULTI_TASK_BUDGETS * s.taskDeadlineMs + DEADLINE_SLACK_MS),
  };
}

export async function setup(rt: IntegrationContext): Promise<void> {
  const c = rt.config.cua;
  const settings = resolveCuaSettings(c);
  const remoteKey = nonEmpty(c.remote.apiKey) ?? nonEmpty(process.env.CUA_API_KEY);
  const factoryConfig: ComputerFactoryConfig = {
    backend: c.backend,
    width: c.width,
    height: c.height,
    desktopEnv: c.desktopEnv,
    sandbox: c.sandbox,
    // Generous for a busy machine (an X server rendering for an agent can be slow to answer), and
    // within the pool's own 5 s deadline of a health check.
    healthTimeoutMs: 3_000,
    remote: {
      slots: newUrlSlotTable(c.remote.urls),
      containerName: c.remote.containerName,
      timeoutMs: c.remote.timeoutMs,
      staleMs: 5_000,
      claimWaitMs: Math.min(7_000, Math.floor(c.opTimeoutMs / 2)),
    },
  };
  const backendLabel = c.backend === 'xvfb' ? 'computer (xvfb)' : 'computer (cua)';
  const kind = new ResourceKind<unknown>({
    kind: COMPUTER_KIND,
    factory: new URL('../host/factory.js', import.meta.url).href,
    factoryConfig: factoryConfig as unknown as Record<string, unknown>,
    placement: { mode: 'per-instance' },
    secretsFor: () => (remoteKey === undefined ? undefined : { apiKey: remoteKey }),
    pool: {
      maxInstances: settings.maxComputers,
      maxLeases: settings.maxComputers,
      minInstances: Math.min(c.minComputers, settings.maxComputers),
      warmSpec: c.minComputers > 0 ? {} : undefined,
      shared: false,
      key: () => COMPUTER_KIND,
      waitTimeoutMs: c.waitTimeoutMs,
      idleTtlMs: c.idleTtlMs,
      resetOnRelease: true,
      healthIntervalMs: c.healthIntervalMs,
    },
    label: () => backendLabel,
    opTimeoutMs: c.opTimeoutMs,
    logLevel: rt.config.logLevel,
    nice: resourceHostNice(rt.config.sessions.actorNice),
    log: rt.log,
    supervisor: rt.resourceSupervisor,
  });
  rt.addResourceKind(kind);
  rt.registerCall(SETTINGS_CALL, async () => settings);
  const deadlines = applyDeadlines(rt.config.sessions, settings);
  rt.log.info(
    {
      backend: c.backend,
      maxComputers: settings.maxComputers,
      minComputers: c.minComputers,
      waitTimeoutMs: c.waitTimeoutMs,
      idleTtlMs: c.idleTtlMs,
      urls: c.remote.urls.length,
      model: 'problem' in settings.model ? settings.model.problem : settings.model.model,
      deadlinesMs: deadlines,
    },
    'cua: computer pool configured',
  );
}
