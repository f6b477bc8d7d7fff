/**
 * Whether a process of this host is running: signal 0 checks without sending anything. EPERM
 * means it runs under another user, so it is alive too. Used to recover what a killed process
 * left (a lockfile's lock, a folder of verified copies).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
