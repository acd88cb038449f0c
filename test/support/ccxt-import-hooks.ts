/** Test support: the resolve hook registered by ccxt-import-register.ts (runs on Node's hooks thread). */
import { appendFileSync } from 'node:fs';

interface Who {
  log: string;
  threadId: number;
  isMainThread: boolean;
}

interface ResolveContext {
  parentURL?: string;
}

type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

let who: Who | undefined;

export async function initialize(data: Who): Promise<void> {
  who = data;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<{ url: string }> {
  const r = await next(specifier, context);
  if (who) {
    const line = { thread: who.threadId, main: who.isMainThread, specifier, parent: context.parentURL ?? null, url: r.url };
    appendFileSync(who.log, `${JSON.stringify(line)}\n`);
  }
  return r;
}
