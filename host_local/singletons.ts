/**
 * Singleton bootstrap (API.md §13): after `start()` resolves, a host invokes
 * the reserved bootstrap method on `(type, SINGLETON_ACTOR_ID)` of every
 * singleton it registered, through normal placement, so `bootstrap()` runs in
 * an exclusive turn of the single activation wherever it lives.
 *
 * Each bootstrap gets up to 5 attempts, waiting `i × 500` ms after attempt i,
 * each bounded by `requestTimeoutMs`. A final failure is logged; nothing waits
 * for it. Stopping the host aborts the loop.
 *
 * @module
 */

import { SINGLETON_ACTOR_ID } from "../actor/types.ts";
import type { Logger } from "../actor/types.ts";
import { DeadlineExceededError } from "../errors.ts";
import { delay, raceSignal } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import { BOOTSTRAP_METHOD } from "./builtin.ts";
import type { InvocationRequest } from "./invoker.ts";
import type { ActorTypeEntry } from "./registry.ts";

/** Attempts per singleton bootstrap (API.md §24). */
const BOOTSTRAP_ATTEMPTS = 5;
/** The backoff step: attempt i is followed by a wait of i × this. */
const BOOTSTRAP_BACKOFF_MS = 500;

/** What the bootstrap loop needs from its host. */
export interface SingletonDeps {
  invoke(req: InvocationRequest): Promise<Uint8Array>;
  requestTimeoutMs: number;
  logger: Logger;
}

/**
 * Bootstraps every singleton in `entries`, in parallel; resolves when all are
 * done (succeeded, failed or aborted). Never rejects.
 *
 * @example
 * ```ts ignore
 * const done = bootstrapSingletons(registry.singletons(), { invoke, requestTimeoutMs, logger }, stopSignal);
 * ```
 */
export async function bootstrapSingletons(
  entries: readonly ActorTypeEntry[],
  deps: SingletonDeps,
  stop: AbortSignal,
): Promise<void> {
  await Promise.all(entries.map((entry) => bootstrapOne(entry, deps, stop)));
}

async function bootstrapOne(entry: ActorTypeEntry, deps: SingletonDeps, stop: AbortSignal): Promise<void> {
  const actorType = entry.actorType;
  for (let attempt = 1; attempt <= BOOTSTRAP_ATTEMPTS; attempt++) {
    if (stop.aborted) return;
    try {
      await attemptOnce(entry, deps, stop);
      deps.logger.debug("Singleton bootstrapped", { actorType, attempt });
      return;
    } catch (err) {
      if (stop.aborted) return;
      if (attempt === BOOTSTRAP_ATTEMPTS) {
        deps.logger.error("Singleton bootstrap failed", { actorType, attempts: attempt, err: errorMessage(err) });
        return;
      }
      deps.logger.debug("Singleton bootstrap attempt failed", { actorType, attempt, err: errorMessage(err) });
      try {
        await delay(attempt * BOOTSTRAP_BACKOFF_MS, stop);
      } catch {
        return;
      }
    }
  }
}

async function attemptOnce(entry: ActorTypeEntry, deps: SingletonDeps, stop: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const onStop = () => controller.abort(stop.reason);
  stop.addEventListener("abort", onStop, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new DeadlineExceededError(
        `Cannot bootstrap singleton "${entry.actorType}": the attempt exceeded requestTimeoutMs (${deps.requestTimeoutMs} ms)`,
      ),
    );
  }, deps.requestTimeoutMs);
  try {
    await raceSignal(
      deps.invoke({
        actorType: entry.actorType,
        actorId: SINGLETON_ACTOR_ID,
        method: BOOTSTRAP_METHOD,
        mode: "invoke",
        data: entry.bootstrapData!,
        requestId: crypto.randomUUID(),
        chain: [],
        activeOnly: false,
        signal: controller.signal,
      }),
      controller.signal,
    );
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", onStop);
  }
}
