/**
 * Resource limits of one computer: a cgroup with a cap on processes (a fork bomb stays inside its
 * computer) and on memory (a runaway program is killed inside its computer, not the server by the
 * kernel's OOM killer). cgroup v2 (one unified hierarchy) or v1 (the pids and memory hierarchies),
 * under the server's own cgroup so that the server's own limits still hold.
 *
 * Needs root (or a delegated hierarchy). Where cgroups cannot be written, `createCgroup` returns
 * undefined with the reason, and the computer runs without these limits (logged once).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Limits {
  maxProcesses: number;
  memoryBytes: number;
}

export interface Cgroup {
  /** The cgroup.procs files a process writes its pid into to join. */
  procsFiles(): string[];
  /** Removes the cgroup (its processes must be gone). */
  remove(): void;
}

const ROOT = '/sys/fs/cgroup';

/** Our own cgroup path in a hierarchy, from /proc/self/cgroup ("0::/x" for v2, "4:memory:/x" for v1). */
function ownPath(controller: string | undefined): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (controller === undefined ? controllers === '' : controllers?.split(',').includes(controller)) return path;
  }
  return undefined;
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

class CgroupDirs implements Cgroup {
  constructor(private readonly dirs: string[]) {}

  procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  remove(): void {
    for (const d of this.dirs) {
      try {
        rmdirSync(d);
      } catch {
        // already gone, or a process is still dying: the kernel keeps it until it is reaped
      }
    }
  }
}

function v2(name: string, limits: Limits): Cgroup {
  // The "no internal processes" rule: controllers can be enabled only for children of a cgroup
  // without processes of its own. Ours has the server in it, so computers go under a sibling
  // parent next to it (enabled from our parent), or under the root when we are at the root.
  const own = ownPath(undefined) ?? '/';
  const parent = own === '/' ? ROOT : join(ROOT, own, '..');
  const base = join(parent, 'mcp-actors-computers');
  mkdirSync(base, { recursive: true });
  for (const dir of [parent, base]) {
    const enabled = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8');
    for (const c of ['pids', 'memory']) if (!enabled.split(/\s+/).includes(c)) write(join(dir, 'cgroup.subtree_control'), `+${c}`);
  }
  const dir = join(base, name);
  mkdirSync(dir);
  write(join(dir, 'pids.max'), String(limits.maxProcesses));
  write(join(dir, 'memory.max'), String(limits.memoryBytes));
  try {
    write(join(dir, 'memory.swap.max'), '0');
  } catch {
    // no swap accounting
  }
  return new CgroupDirs([dir]);
}

function v1(name: string, limits: Limits): Cgroup {
  const dirs: string[] = [];
  try {
    for (const controller of ['pids', 'memory'] as const) {
      const own = ownPath(controller) ?? '/';
      const dir = join(ROOT, controller, own, 'mcp-actors-computers', name);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
      if (controller === 'pids') write(join(dir, 'pids.max'), String(limits.maxProcesses));
      else {
        write(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        try {
          write(join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
        } catch {
          // no swap accounting
        }
      }
    }
  } catch (err) {
    new CgroupDirs(dirs).remove();
    throw err;
  }
  return new CgroupDirs(dirs);
}

/** A cgroup named `name` with the limits, or the reason none can be made here. */
export function createCgroup(name: string, limits: Limits): { cgroup: Cgroup } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'the server does not run as root' };
  try {
    if (existsSync(join(ROOT, 'cgroup.controllers'))) return { cgroup: v2(name, limits) };
    if (existsSync(join(ROOT, 'pids')) && existsSync(join(ROOT, 'memory'))) return { cgroup: v1(name, limits) };
    return { reason: `no cgroup pids and memory controllers under ${ROOT}` };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}
