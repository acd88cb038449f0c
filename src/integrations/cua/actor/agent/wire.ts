/**
 * The slice of the Anthropic Messages API the agent loop speaks (POST /v1/messages with the
 * computer_20250124 tool), as plain JSON shapes.
 */

export const ANTHROPIC_VERSION = '2023-06-01';
export const COMPUTER_USE_BETA = 'computer-use-2025-01-24';
export const COMPUTER_TOOL_TYPE = 'computer_20250124';
export const COMPUTER_TOOL_NAME = 'computer';

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: 'image/png'; data: string };
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: Array<TextBlock | ImageBlock>;
  is_error?: boolean;
}

/** Blocks the loop does not interpret (thinking, …) are passed back to the model untouched. */
export interface OtherBlock {
  type: string;
  [key: string]: unknown;
}

export type ContentBlock = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | OtherBlock;

export interface Message {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ComputerToolDefinition {
  type: typeof COMPUTER_TOOL_TYPE;
  name: typeof COMPUTER_TOOL_NAME;
  display_width_px: number;
  display_height_px: number;
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: string;
  tools: ComputerToolDefinition[];
  messages: Message[];
}

export interface MessagesResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  /** 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal' | … */
  stop_reason: string | null;
}

export const isTextBlock = (b: ContentBlock): b is TextBlock => b.type === 'text' && typeof (b as TextBlock).text === 'string';
export const isToolUseBlock = (b: ContentBlock): b is ToolUseBlock => b.type === 'tool_use';
export const isToolResultBlock = (b: ContentBlock): b is ToolResultBlock => b.type === 'tool_result';

export function imageBlock(png: Uint8Array): ImageBlock {
  return { type: 'image', source: { type: 'base64', media_type: 'image/png', data: Buffer.from(png).toString('base64') } };
}
