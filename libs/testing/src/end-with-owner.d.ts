/** `sh` arguments of the watchdog: wait for end-of-file on stdin, then SIGKILL `pid`. */
export declare const watchdogArgs: (pid: number) => string[];
/**
 * Ties process `pid` to this one: SIGKILLs it when this process ends, however it ends.
 * Returns a function that disarms the watchdog.
 */
export declare function endWithOwner(pid: number): () => void;
