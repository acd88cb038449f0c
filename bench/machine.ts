/**
 * The machine a run was taken on: recorded with the results, shown with every table.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, platform, release, totalmem, arch } from 'node:os';
import { readFileSync } from 'node:fs';
import { ROOT } from './servers.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  /** From /sys/fs/cgroup when the process is limited to fewer CPUs than it sees. */
  cpuQuota?: number;
  node: string;
  platform: string;
  kernel: string;
  arch: string;
  totalMemoryGB: number;
  /** 1, 5 and 15 minute load averages when the run started (another load on a shared machine shows here). */
  loadAverageAtStart: [number, number, number];
  loadAverageAtEnd?: [number, number, number];
  /** The commit measured (with "+dirty" when the work tree had changes), when git is available. */
  commit?: string;
}

function cgroupCpus(): number | undefined {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota === undefined || quota === 'max' || period === undefined) return undefined;
    return Math.round((Number(quota) / Number(period)) * 100) / 100;
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}

const la = (): [number, number, number] => loadavg().map((x) => Math.round(x * 100) / 100) as [number, number, number];

export function describeMachine(): Machine {
  const list = cpus();
  const m: Machine = {
    cores: list.length,
    cpuModel: (list[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    node: process.version,
    platform: platform(),
    kernel: release(),
    arch: arch(),
    totalMemoryGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: la(),
  };
  const quota = cgroupCpus();
  if (quota !== undefined && quota < list.length) m.cpuQuota = quota;
  const commit = gitCommit();
  if (commit) m.commit = commit;
  return m;
}

export function finishMachine(m: Machine): Machine {
  return { ...m, loadAverageAtEnd: la() };
}

/** One line: "2 cores (Intel Xeon …), 23.5 GB, Node v20.20.2, linux 6.1 x64; load 0.52 at start". */
export function machineLine(m: Machine): string {
  const cores = m.cpuQuota !== undefined ? `${m.cores} cores (${m.cpuQuota} by cgroup quota)` : `${m.cores} cores`;
  const load = `load average ${m.loadAverageAtStart[0]} at start${m.loadAverageAtEnd ? `, ${m.loadAverageAtEnd[0]} at end` : ''}`;
  return `${cores}, ${m.cpuModel}, ${m.totalMemoryGB} GB RAM, Node ${m.node}, ${m.platform} ${m.kernel} ${m.arch}; ${load}${m.commit ? `; commit ${m.commit}` : ''}`;
}
