/**
 * Finding and ending the processes that belong to one computer. Everything the backend starts on a
 * display (the desktop session, every terminal, everything typed into a terminal) inherits one
 * environment variable whose value is unique to that computer, so `/proc/<pid>/environ` tells
 * which processes are ours even after they have changed session, process group or parent. A
 * process that clears its own environment escapes this net; X clients among those are still
 * disconnected by reset() through KillClient.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const MARKER_VARIABLE = 'MCP_ACTORS_XVFB_COMPUTER';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Pids (other than ours) whose environment holds `MARKER_VARIABLE=<marker>`. */
export function findMarkedProcesses(marker: string): number[] {
  const needle = Buffer.from(`${MARKER_VARIABLE}=${marker}\0`);
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    let env: Buffer;
    try {
      env = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    const at = env.indexOf(needle);
    if (at === 0 || (at > 0 && env[at - 1] === 0)) out.push(pid);
  }
  return out;
}

export interface ProcStatus {
  state: string;
  ppid: number;
}

/** State letter and parent of a process, or undefined once it is gone (reaped). */
export function procStatus(pid: number): ProcStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) S ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

export function isGone(pid: number): boolean {
  return procStatus(pid) === undefined;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Polls until every pid has disappeared from /proc; resolves with those that remain at the deadline. */
export async function waitGone(pids: Iterable<number>, timeoutMs: number): Promise<number[]> {
  let left = [...pids].filter((pid) => !isGone(pid));
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  while (left.length > 0 && Date.now() < deadline) {
    await delay(pause);
    pause = Math.min(pause * 2, 25);
    left = left.filter((pid) => !isGone(pid));
  }
  return left;
}

/**
 * SIGKILLs every marked process except `keep`, repeating the scan (a dying shell may have forked
 * just before), and waits for all of them to be reaped. Resolves with the pids still present at
 * the deadline (normally none).
 */
export async function killMarked(marker: string, keep: ReadonlySet<number>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const victims = findMarkedProcesses(marker).filter((pid) => !keep.has(pid) && procStatus(pid)?.state !== 'Z');
    if (victims.length === 0) break;
    for (const pid of victims) {
      seen.add(pid);
      signal(pid, 'SIGKILL');
    }
    await waitGone(victims, Math.max(0, Math.min(500, deadline - Date.now())));
  }
  return waitGone(seen, Math.max(0, deadline - Date.now()));
}
