/**
 * The `ActorProvider` conformance suite. Every shipped provider runs it, and
 * third-party providers can too.
 *
 * @module
 */

import type { ActorProvider } from "../providers/types.ts";
import { alarmCases } from "./_suite/alarms.ts";
import { clusterCases } from "./_suite/cluster.ts";
import { fetchCases } from "./_suite/fetch.ts";
import type { SuiteCase } from "./_suite/helpers.ts";
import { hostCases } from "./_suite/hosts.ts";
import { jobCases } from "./_suite/jobs.ts";
import { leaseCases } from "./_suite/leases.ts";
import { maintenanceCases } from "./_suite/maintenance.ts";
import { placementCases } from "./_suite/placement.ts";
import { stateCases } from "./_suite/state.ts";
import { ManualClock } from "./manual_clock.ts";

/** Options of {@linkcode runProviderSuite}. */
export interface ProviderSuiteOptions {
  /**
   * Creates a fresh, not yet acquired provider that reads time from `clock`.
   * Called once per test.
   */
  create(ctx: { clock: ManualClock }): ActorProvider | Promise<ActorProvider>;
  /** Called after each test, once the provider has been released (e.g. to delete a file). */
  cleanup?(provider: ActorProvider): Promise<void>;
  /** Tests to register as ignored, with the reason shown in their names. */
  skip?: { reason: string; tests: string[] }[];
  /**
   * The label in test names, `provider(<name>): <test>`.
   *
   * @default {the provider's `name`, read from one instance created at registration}
   */
  name?: string;
}

interface TestDefinition {
  name: string;
  ignore: boolean;
  fn(): Promise<void>;
}

/** Every conformance case, in registration order. */
const CASES: readonly SuiteCase[] = [
  ...hostCases,
  ...placementCases,
  ...stateCases,
  ...alarmCases,
  ...fetchCases,
  ...leaseCases,
  ...jobCases,
  ...maintenanceCases,
  ...clusterCases,
];

/**
 * The names of every conformance test, as accepted by `skip`.
 *
 * @example
 * ```ts
 * import { providerSuiteTestNames } from "./provider_suite.ts";
 * console.log(providerSuiteTestNames().includes("state TTL expires")); // true
 * ```
 */
export function providerSuiteTestNames(): string[] {
  return CASES.map((c) => c.name);
}

/**
 * Registers one test per conformance case: `Deno.test` on Deno, `node:test`
 * on Node. Each test creates a fresh provider with a {@linkcode ManualClock},
 * acquires it, runs, releases it and calls `cleanup`. Time moves only through
 * the clock, so no test sleeps.
 *
 * Details: skipped tests are still registered, as ignored, with the reason in
 * their names. When `name` is omitted and `create` returns synchronously, one
 * instance is created at registration just to read its `name`; it is never
 * acquired and is passed to `cleanup`.
 *
 * @param options How to create and dispose of providers, and what to skip.
 * @throws {TypeError} When `skip` names a test that does not exist.
 *
 * @example Run the suite against the memory provider
 * ```ts ignore
 * import { runProviderSuite } from "@francis/core/testing";
 * import { createMemoryProvider } from "@francis/core/providers/memory";
 *
 * runProviderSuite({
 *   create: ({ clock }) => createMemoryProvider({ clock }),
 *   skip: [{ reason: "not supported yet", tests: ["state TTL expires"] }],
 * });
 * ```
 */
export function runProviderSuite(options: ProviderSuiteOptions): void {
  const skipped = new Map<string, string>();
  for (const { reason, tests } of options.skip ?? []) {
    for (const test of tests) {
      if (!CASES.some((c) => c.name === test)) {
        throw new TypeError(`Cannot run provider suite: skip names an unknown test ${JSON.stringify(test)}`);
      }
      skipped.set(test, reason);
    }
  }
  const label = options.name ?? probeName(options);
  const definitions = CASES.map((c): TestDefinition => {
    const reason = skipped.get(c.name);
    const name = `provider(${label}): ${c.name}${reason === undefined ? "" : ` (skipped: ${reason})`}`;
    return { name, ignore: reason !== undefined, fn: () => runCase(c, options) };
  });
  register(definitions);
}

/** One test: fresh provider, acquire, run, release, cleanup (the last two always). */
async function runCase(c: SuiteCase, options: ProviderSuiteOptions): Promise<void> {
  const clock = new ManualClock();
  const provider = await options.create({ clock });
  let acquired = false;
  try {
    if (c.manualAcquire !== true) {
      await provider.acquire();
      acquired = true;
    }
    await c.fn({ provider, clock });
  } finally {
    try {
      if (acquired) await provider.release();
    } finally {
      await options.cleanup?.(provider);
    }
  }
}

/** The provider's own name, when it can be read synchronously. */
function probeName(options: ProviderSuiteOptions): string {
  const created = options.create({ clock: new ManualClock() });
  if (created instanceof Promise) {
    created.then((p) => options.cleanup?.(p)).catch(() => {});
    return "provider";
  }
  options.cleanup?.(created).catch(() => {});
  return created.name;
}

/** Registers tests with `Deno.test`, or with `node:test` when not on Deno. */
function register(definitions: TestDefinition[]): void {
  type DenoTest = (def: { name: string; ignore: boolean; fn: () => Promise<void> }) => void;
  const deno = (globalThis as { Deno?: { test: DenoTest } }).Deno;
  if (deno !== undefined) {
    for (const def of definitions) deno.test(def);
    return;
  }
  import("node:test").then(({ test }) => {
    for (const def of definitions) test(def.name, { skip: def.ignore }, def.fn);
  });
}
