/**
 * Agent settings from the environment:
 *
 *   ANTHROPIC_API_KEY    required (unless given as an override)
 *   ANTHROPIC_BASE_URL   default https://api.anthropic.com
 *   CUA_MODEL_NAME       default DEFAULT_CUA_MODEL
 *   CUA_MAX_IMAGES       default 3
 *   CUA_MAX_STEPS        default 30
 */
import { ConfigError } from '../../../shared/errors.js';
import type { ModelConfig } from '../actor/agent/types.js';

/** Claude Sonnet 4.5: computer use with the computer_20250124 tool and the computer-use-2025-01-24 beta. */
export const DEFAULT_CUA_MODEL = 'claude-sonnet-4-5-20250929';
export const DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const DEFAULT_MAX_IMAGES = 3;
export const DEFAULT_MAX_STEPS = 30;
export const DEFAULT_MAX_TOKENS = 4096;

export interface AgentConfig {
  model: ModelConfig;
  maxImages: number;
  maxSteps: number;
}

export interface AgentConfigOverrides {
  apiKey?: string;
  baseUrl?: string;
  model?: string;
  maxTokens?: number;
  maxRetries?: number;
  maxImages?: number;
  maxSteps?: number;
}

/** A bad agent setting is a configuration error. */
export { ConfigError as AgentConfigError };

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function positiveInt(name: string, override: number | undefined, raw: string | undefined, def: number): number {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 1) throw new ConfigError(`${name} must be a positive integer, got ${override}`);
    return override;
  }
  const s = nonEmpty(raw);
  if (s === undefined) return def;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(s)}`);
  return n;
}

/** Reads the settings; overrides win over the environment. Throws ConfigError on bad values. */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: AgentConfigOverrides = {}): AgentConfig {
  const apiKey = nonEmpty(overrides.apiKey) ?? nonEmpty(env.ANTHROPIC_API_KEY);
  if (apiKey === undefined) throw new ConfigError('ANTHROPIC_API_KEY is not set');
  const baseUrl = (nonEmpty(overrides.baseUrl) ?? nonEmpty(env.ANTHROPIC_BASE_URL) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError('ANTHROPIC_BASE_URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('ANTHROPIC_BASE_URL must be an http(s) URL');
  const model: ModelConfig = {
    baseUrl,
    apiKey,
    model: nonEmpty(overrides.model) ?? nonEmpty(env.CUA_MODEL_NAME) ?? DEFAULT_CUA_MODEL,
    maxTokens: positiveInt('maxTokens', overrides.maxTokens, undefined, DEFAULT_MAX_TOKENS),
  };
  if (overrides.maxRetries !== undefined) {
    if (!Number.isInteger(overrides.maxRetries) || overrides.maxRetries < 0) throw new ConfigError('maxRetries must be a non-negative integer');
    model.maxRetries = overrides.maxRetries;
  }
  return {
    model,
    maxImages: positiveInt('CUA_MAX_IMAGES', overrides.maxImages, env.CUA_MAX_IMAGES, DEFAULT_MAX_IMAGES),
    maxSteps: positiveInt('CUA_MAX_STEPS', overrides.maxSteps, env.CUA_MAX_STEPS, DEFAULT_MAX_STEPS),
  };
}
