/**
 * The computer resource factory: runs in a computer's own host thread (per-instance placement, so
 * a computer that takes its thread down takes nothing else with it).
 *
 * - create: a local Xvfb computer, or a connection to a remote computer-server on a URL slot of
 *   its own (see url-slots.ts). A computer that dies on its own (Xvfb exits or is killed, the
 *   remote connection drops) is reported through `ctx.died`: the pool cuts its lessee off and
 *   replaces it.
 * - expose: the ComputerApi (lease-api.ts); screenshots move to the session thread by transfer.
 * - reset: Computer.reset(). A remote cua sandbox cannot reset (NOT_SUPPORTED): the reset fails,
 *   and the pool retires the computer instead of reusing it.
 * - health: Computer.health() (a dead or unresponsive computer rejects); destroy: Computer.close().
 */
import { transfer } from '../../../shared/rpc.js';
import { ComputerError, type Computer, type MouseButton, type Point } from '../shared/computer.js';
import { defineResourceFactory, type FactoryContext } from '../../../host/factory.js';
import type { ComputerApi, ComputerInfo } from '../shared/lease-api.js';
import { connectCuaComputer } from './remote/index.js';
import { claimUrl, type UrlSlot, type UrlSlotTable } from '../shared/url-slots.js';
import { createXvfbComputer, type SandboxOptions } from './xvfb/index.js';

let warnedNoLimits = false;

/** Once per host thread: computers run without their process and memory caps here. */
function warnNoLimits(ctx: FactoryContext, reason: string): void {
  if (warnedNoLimits) return;
  warnedNoLimits = true;
  ctx.log('warn', 'computers run without process and memory caps (cua.sandbox.maxProcesses, memoryMb): cgroups are not writable here', { reason });
}

/** The factory config the integration builds (src/integrations/cua/main/setup.ts). */
export interface ComputerFactoryConfig {
  backend: 'xvfb' | 'cua';
  width: number;
  height: number;
  desktopEnv: Record<string, string>;
  sandbox: Omit<SandboxOptions, 'onLimitsUnavailable'>;
  /** How long a health probe may take before the computer counts as unresponsive. */
  healthTimeoutMs: number;
  remote: {
    slots: UrlSlotTable;
    containerName?: string;
    timeoutMs: number;
    /** A URL slot whose holder stopped beating this long is taken over. */
    staleMs: number;
    /** How long create waits for a URL slot to come free. */
    claimWaitMs: number;
  };
}

interface LiveComputer {
  computer: Computer;
  info: ComputerInfo;
  slot: UrlSlot | undefined;
  closing: boolean;
}

/** An owned, transferable copy of the PNG bytes (a pooled Buffer's memory is not ours to move). */
function transferable(png: Uint8Array): Uint8Array {
  const own = png.byteOffset === 0 && png.byteLength === png.buffer.byteLength && png.buffer instanceof ArrayBuffer ? png : new Uint8Array(png);
  return transfer(own, [own.buffer as ArrayBuffer]);
}

async function open(cfg: ComputerFactoryConfig, ctx: FactoryContext): Promise<{ computer: Computer; slot?: UrlSlot; exited: Promise<string> }> {
  if (cfg.backend === 'xvfb') {
    const computer = await createXvfbComputer({
      width: cfg.width,
      height: cfg.height,
      env: cfg.desktopEnv,
      healthTimeoutMs: cfg.healthTimeoutMs,
      sandbox: { ...cfg.sandbox, onLimitsUnavailable: (reason) => warnNoLimits(ctx, reason) },
    });
    return { computer, exited: computer.exited };
  }
  const slot = await claimUrl(cfg.remote.slots, { staleMs: cfg.remote.staleMs, waitMs: cfg.remote.claimWaitMs });
  if (!slot) {
    throw Object.assign(new Error(`every configured computer-server URL (${cfg.remote.slots.urls.length}) is in use`), { code: 'RESOURCE_UNAVAILABLE' });
  }
  try {
    const computer = await connectCuaComputer({
      url: slot.url,
      apiKey: ctx.secrets?.apiKey,
      containerName: cfg.remote.containerName,
      timeoutMs: cfg.remote.timeoutMs,
      healthTimeoutMs: cfg.healthTimeoutMs,
    });
    const exited = computer.exited.then((e) => computer.deathReason ?? `the connection closed (${e.code} ${e.reason})`);
    return { computer, slot, exited };
  } catch (err) {
    slot.release();
    throw err;
  }
}

export default defineResourceFactory<unknown, LiveComputer>({
  async create(_spec, ctx) {
    const cfg = ctx.config as unknown as ComputerFactoryConfig;
    const { computer, slot, exited } = await open(cfg, ctx);
    const size = await computer.screenSize().catch(async (err: unknown) => {
      await computer.close();
      slot?.release();
      throw err;
    });
    const live: LiveComputer = { computer, info: { id: computer.id, backend: computer.backend, ...size }, slot, closing: false };
    void exited.then((reason) => {
      if (live.closing) return;
      ctx.log('warn', 'computer died', { computer: computer.id, reason });
      ctx.died(`${computer.id} died: ${reason}`);
    });
    ctx.log('info', 'computer started', { computer: computer.id, backend: computer.backend, width: size.width, height: size.height });
    return live;
  },

  expose(live): ComputerApi {
    const c = live.computer;
    // Method shapes: the ComputerApi's, each answered asynchronously over the lease's port.
    const api: { [K in keyof ComputerApi]: (...args: Parameters<ComputerApi[K]>) => unknown } = {
      info: () => live.info,
      screenshot: async () => transferable(await c.screenshot()),
      screenSize: () => c.screenSize(),
      cursorPosition: () => c.cursorPosition(),
      move: (x: number, y: number) => c.move(x, y),
      click: (x: number, y: number, button?: MouseButton) => c.click(x, y, button),
      doubleClick: (x: number, y: number) => c.doubleClick(x, y),
      tripleClick: (x: number, y: number) => c.tripleClick(x, y),
      mouseDown: (button?: MouseButton) => c.mouseDown(button),
      mouseUp: (button?: MouseButton) => c.mouseUp(button),
      drag: (path: Point[], button?: MouseButton) => c.drag(path, button),
      scroll: (x: number, y: number, dx: number, dy: number) => c.scroll(x, y, dx, dy),
      type: (text: string) => c.type(text),
      key: (keys: string) => c.key(keys),
      holdKey: (keys: string, ms: number) => c.holdKey(keys, ms),
    };
    return api as unknown as ComputerApi;
  },

  async reset(live) {
    try {
      await live.computer.reset();
    } catch (err) {
      if (err instanceof ComputerError && err.code === 'NOT_SUPPORTED') {
        throw new ComputerError('NOT_SUPPORTED', `${live.info.id} cannot be reset (${err.message}); it is replaced instead of reused`);
      }
      throw err;
    }
  },

  health(live) {
    return live.computer.health();
  },

  async destroy(live) {
    live.closing = true;
    try {
      await live.computer.close();
    } finally {
      live.slot?.release();
    }
  },
});
