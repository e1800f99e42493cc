// Plain JavaScript (with end-with-owner.d.ts), so that a test can load it into a child
// process of its own and kill that child the hard way (kafka-broker.int.spec.ts).
import { spawn } from 'node:child_process';

/** `sh` arguments of the watchdog: wait for end-of-file on stdin, then SIGKILL `pid`. */
export const watchdogArgs = (pid) => ['-c', 'read _ignored; kill -9 "$0" 2>/dev/null', String(pid)];

/**
 * Ties process `pid` to this one: a `sh` holds the read end of a pipe from us and kills
 * `pid` (SIGKILL) when the pipe closes, which the kernel does however this process ends
 * (normal exit, crash, SIGKILL). Returns a function that disarms the watchdog (once `pid`
 * ended normally). Neither the watchdog nor its pipe keeps Node's event loop alive.
 */
export function endWithOwner(pid) {
  const watchdog = spawn('sh', watchdogArgs(pid), { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => undefined);
  watchdog.stdin.on('error', () => undefined);
  watchdog.unref();
  watchdog.stdin.unref();
  return () => {
    watchdog.kill('SIGKILL');
  };
}
