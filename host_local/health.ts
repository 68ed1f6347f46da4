/**
 * The host's health-check loop (API.md §14): with deadline D, budget
 * B = min(D/2, 10 s); a sequence starts every D − B and makes up to 3 attempts,
 * each bounded by B/4, separated by B/12 and B/6. An exhausted sequence, or a
 * registration found gone, stops the host.
 *
 * @module
 */

import { HealthCheckFailedError, HostUnregisteredError, isFrancisError } from "../errors.ts";
import { delay, withTimeout } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import type { Logger } from "../actor/types.ts";

/** The timing derived from a health-check deadline. */
export interface HealthPolicy {
  periodMs: number;
  attemptTimeoutMs: number;
  retryDelaysMs: [number, number];
}

/**
 * Derives the health-check timing from the deadline.
 *
 * @example
 * ```ts
 * import { healthPolicy } from "./health.ts";
 * console.log(healthPolicy(20_000).periodMs); // 10000
 * ```
 */
export function healthPolicy(deadlineMs: number): HealthPolicy {
  const budget = Math.min(deadlineMs / 2, 10_000);
  return { periodMs: deadlineMs - budget, attemptTimeoutMs: budget / 4, retryDelaysMs: [budget / 12, budget / 6] };
}

/** Runs health checks until stopped; calls `onFatal` once if the host must stop. */
export class HealthLoop {
  readonly #policy: HealthPolicy;
  readonly #check: () => Promise<void>;
  readonly #onFatal: (err: Error) => void;
  readonly #logger: Logger;
  readonly #stop = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;

  constructor(deadlineMs: number, check: () => Promise<void>, onFatal: (err: Error) => void, logger: Logger) {
    this.#policy = healthPolicy(deadlineMs);
    this.#check = check;
    this.#onFatal = onFatal;
    this.#logger = logger;
  }

  /** Starts the periodic sequences. */
  start(): void {
    this.#timer = setTimeout(() => {
      this.#running = this.#sequence().finally(() => {
        this.#running = undefined;
        if (!this.#stop.signal.aborted) this.start();
      });
    }, this.#policy.periodMs);
  }

  /** Stops the loop and waits for a running sequence. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #sequence(): Promise<void> {
    const { attemptTimeoutMs, retryDelaysMs } = this.#policy;
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.#stop.signal.aborted) return;
      try {
        await withTimeout(this.#check(), attemptTimeoutMs, () => new Error(`timed out after ${attemptTimeoutMs} ms`));
        return;
      } catch (err) {
        if (isFrancisError(err, "host_unregistered")) {
          this.#fail(new HostUnregisteredError("The host's registration is gone", { cause: err }));
          return;
        }
        last = err;
        this.#logger.warn("Health check failed", { attempt: attempt + 1, err: errorMessage(err) });
      }
      if (attempt < 2) await delay(retryDelaysMs[attempt], this.#stop.signal).catch(() => {});
    }
    if (!this.#stop.signal.aborted) {
      this.#fail(new HealthCheckFailedError(`Health check failed 3 times: ${errorMessage(last)}`, { cause: last }));
    }
  }

  #fail(err: Error): void {
    this.#stop.abort();
    this.#onFatal(err);
  }
}
