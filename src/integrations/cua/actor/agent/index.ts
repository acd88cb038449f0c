/**
 * The computer-use agent loop: a model (Anthropic Messages API, computer_20250124 tool) drives a
 * Computer until it answers, runs out of steps or time, or is cancelled. See loop.ts.
 */
export { runAgentTask } from './loop.js';
export type { AgentResult, AgentStatus, AgentStep, AgentTaskOptions, ModelConfig } from './types.js';
export {
  agentConfigFromEnv, AgentConfigError, DEFAULT_BASE_URL, DEFAULT_CUA_MODEL, DEFAULT_MAX_IMAGES, DEFAULT_MAX_STEPS,
  DEFAULT_MAX_TOKENS, type AgentConfig, type AgentConfigOverrides,
} from '../../shared/agent-config.js';
export { COMPUTER_ACTIONS, type ComputerAction } from './actions.js';
export { describeAction } from './describe.js';
export { IMAGE_PLACEHOLDER } from './images.js';
export { ModelError } from './model-client.js';
export { DEFAULT_SYSTEM_PROMPT } from './system-prompt.js';
export { ANTHROPIC_VERSION, COMPUTER_TOOL_TYPE, COMPUTER_USE_BETA } from './wire.js';
