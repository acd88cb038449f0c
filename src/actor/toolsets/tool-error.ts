/**
 * One shape for a tool that fails, for every built-in toolset: `isError: true`, a sentence a person
 * (or a model) can act on as the text, and `structuredContent` with the stable `code` and whether
 * retrying may help (`retryable`), plus any details the toolset adds (ccxt's exchange error, a
 * client order id to reconcile with…).
 */
import type { CallToolResult } from '@modelcontextprotocol/server';

export interface ToolErrorContent {
  code: string;
  message: string;
  retryable: boolean;
  [detail: string]: unknown;
}

export function toolError(code: string, message: string, retryable = false, details: Record<string, unknown> = {}): CallToolResult & { structuredContent: ToolErrorContent } {
  return { isError: true, content: [{ type: 'text', text: message }], structuredContent: { ...details, code, message, retryable } };
}

/** The tool error for anything thrown: its `code` and `retryable` when it has them (a CodedError does). */
export function toolErrorOf(err: unknown, fallbackCode = 'INTERNAL'): CallToolResult & { structuredContent: ToolErrorContent } {
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown } | null;
  const code = typeof e?.code === 'string' && e.code !== '' ? e.code : fallbackCode;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return toolError(code, message, e?.retryable === true);
}
