/**
 * Last-resort cleanup: if the Node process exits while computers are still open (a crash, a test
 * runner tearing down), SIGKILL their Xvfb servers and session process groups synchronously so no
 * display outlives us. Orderly shutdown goes through XvfbComputer.close(), which forgets the pids.
 */
const live = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL'); // the process group (Xvfb and tini are group leaders)
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  live.clear();
}

export function killOnExit(pid: number): void {
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
  }
  live.add(pid);
}

export function forgetOnExit(pid: number): void {
  live.delete(pid);
}
