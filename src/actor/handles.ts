/**
 * The semantics of state handles at a tool (MCP 2026-07-28, SEP-2567), in one place for every
 * server that registers toolsets — the actor threads and the benchmark's in-process baseline:
 * which role a tool plays in its toolset's HandleSpec, what the creating tool's description says,
 * and the tool error a call gets instead of running when its handle does not fit.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { HandleTool } from '../shared/actor-messages.js';
import type { ActorKind, HandleSpec } from './toolsets/types.js';
import { toolError } from './toolsets/tool-error.js';

export type HandleRole = HandleTool['role'];

/** The JSON Schema of a Standard Schema with JSON (zod ≥ 4.2, fromJsonSchema), or undefined. */
export function jsonSchemaOf(schema: unknown): unknown {
  const std = (schema as { '~standard'?: { jsonSchema?: { input(o: { target: string }): unknown } } } | undefined)?.['~standard'];
  try {
    return std?.jsonSchema?.input({ target: 'draft-2020-12' });
  } catch {
    return undefined;
  }
}

/** Whether an input schema (zod object or Standard Schema with JSON) has a top-level property. */
function hasProperty(schema: unknown, name: string): boolean {
  if (!schema || typeof schema !== 'object') return false;
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (shape && typeof shape === 'object') return name in shape;
  const props = (jsonSchemaOf(schema) as { properties?: Record<string, unknown> } | undefined)?.properties;
  return !!props && name in props;
}

/**
 * The role of tool `name` (registered with `inputSchema`) in its toolset's handles, or undefined
 * when it takes no part: a creating tool takes no handle; every other tool of the toolset that
 * takes the argument carries one.
 */
export function handleRole(spec: HandleSpec | undefined, name: string, inputSchema: unknown): HandleRole | undefined {
  if (!spec) return undefined;
  if (spec.create.includes(name)) return 'create';
  if (!hasProperty(inputSchema, spec.argument)) return undefined;
  if (spec.destroy === name) return 'destroy';
  return spec.optional === true || spec.optional?.includes(name) ? 'optional' : 'use';
}

/** A creating tool's description, with what its handle is and how long it lives. */
export function describeCreating(description: unknown, spec: HandleSpec, lifetime: string): string {
  const noun = spec.noun ?? 'state';
  const text = `Returns \`${spec.argument}\`, a ${noun} handle: pass it to the other tools that take \`${spec.argument}\`. It is bound to your credentials and expires after ${lifetime} without calls.`;
  return `${typeof description === 'string' ? description : ''} ${text}`.trim();
}

/** The actor a call runs on, as the guard needs it. */
export interface GuardedActor {
  kind: ActorKind;
  /** A handle actor's handle. */
  key: string;
  /** A session's own handle, if one was minted for it. */
  sessionHandle: string | undefined;
}

/**
 * The tool error a handle tool answers instead of running, or undefined when it may run:
 * - UNKNOWN_HANDLE for a handle that is unknown, expired or another principal's (`rejected`: the
 *   edge found none), or that is not the one of the actor the call reached — the same error for
 *   all of them;
 * - HANDLE_REQUIRED for a tool that needs a handle, called statelessly without one.
 * In a 2025 session the session is the state: a `use` tool given a handle must be given the
 * session's own; the destroying and optional tools read the argument themselves.
 */
export function handleGuard(tool: string, spec: HandleSpec, role: HandleRole, given: unknown, actor: GuardedActor, rejected: boolean): CallToolResult | undefined {
  const create = spec.create[0] ?? 'the creating tool';
  const unknown = () =>
    toolError(
      'UNKNOWN_HANDLE',
      `That ${spec.argument} is unknown: it never existed, has expired, or belongs to someone else. Call ${create} to start a new ${spec.noun ?? 'one'}.`,
      false,
      { argument: spec.argument, create },
    );
  if (rejected) return unknown();
  if (role === 'create') return undefined;
  if (given === undefined || given === null) {
    if (actor.kind !== 'stateless' || role === 'optional') return undefined;
    return toolError('HANDLE_REQUIRED', `${tool} needs a ${spec.argument}: call ${create} first and pass the ${spec.argument} it returns.`, false, { argument: spec.argument, create });
  }
  if (actor.kind === 'handle') return given === actor.key ? undefined : unknown();
  if (actor.kind === 'session') return role !== 'use' || given === actor.sessionHandle ? undefined : unknown();
  return unknown();
}
