/**
 * What crosses between a session thread and a computer's host thread (types and names only, so
 * that session threads import nothing of the backends):
 *
 * - `ComputerApi`: the methods a lessee may call on its computer (the Computer contract minus
 *   health/reset/close, which belong to the pool), plus `info()`.
 * - `CuaSettings`: what the `cua.settings` runtime call answers (pool limits and the model the
 *   agent loop talks to — the API key included: it is needed where the loop runs).
 */
import type { MouseButton, Point, ScreenSize } from './computer.js';

/** The resource kind computers are leased as. */
export const COMPUTER_KIND = 'computer';
/** The runtime call that answers CuaSettings. */
export const SETTINGS_CALL = 'cua.settings';

export interface ComputerInfo {
  /** e.g. "xvfb:12" or "cua:ws://10.0.0.5:8000/ws" (never credentials). */
  id: string;
  backend: 'xvfb' | 'cua';
  width: number;
  height: number;
}

/** Served by the factory (src/integrations/cua/host/factory.ts) to the lease holder. */
export interface ComputerApi {
  info(): ComputerInfo;
  /** PNG bytes (their ArrayBuffer is transferred, not copied). */
  screenshot(): Uint8Array;
  screenSize(): ScreenSize;
  cursorPosition(): Point;
  move(x: number, y: number): void;
  click(x: number, y: number, button?: MouseButton): void;
  doubleClick(x: number, y: number): void;
  tripleClick(x: number, y: number): void;
  mouseDown(button?: MouseButton): void;
  mouseUp(button?: MouseButton): void;
  drag(path: Point[], button?: MouseButton): void;
  scroll(x: number, y: number, dx: number, dy: number): void;
  type(text: string): void;
  key(keys: string): void;
  holdKey(keys: string, ms: number): void;
}

export interface CuaModelSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
  maxTokens?: number;
}

export interface CuaSettings {
  backend: 'xvfb' | 'cua';
  /** Most computers at once (for the xvfb backend cua.maxComputers, for cua also ≤ the URL count). */
  maxComputers: number;
  waitTimeoutMs: number;
  /** The model, or why there is none (e.g. "ANTHROPIC_API_KEY is not set"). */
  model: CuaModelSettings | { problem: string };
  maxImages: number;
  maxSteps: number;
  taskDeadlineMs: number;
}
