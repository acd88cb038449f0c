// A loopback fake of the Anthropic Messages API for computer-use tests. See server.ts.
export { LOOPBACK, startFakeModel, type FakeModel, type FakeModelOptions, type FakeRequestBody, type RecordedRequest } from './server.js';
export { parseScript, type CustomFault, type FakeErrorType, type FakeToolInput, type FaultKind, type ScriptStep } from './script.js';
export { ANTHROPIC_VERSION, COMPUTER_TOOL_TYPE, COMPUTER_USE_BETA, type ToolResultFact } from './validate.js';
export { startModelRouter, type ModelRouter } from './router.js';
