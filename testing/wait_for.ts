/**
 * Waiting on a condition with a deadline, for tests: polls instead of sleeping
 * a fixed time, and fails with a clear message when the deadline passes.
 *
 * @module
 */

/**
 * Resolves once `condition()` returns a truthy value (which is returned), or
 * rejects after `timeoutMs` naming `what`.
 *
 * @example
 * ```ts
 * import { waitFor } from "./wait_for.ts";
 * let n = 0;
 * setTimeout(() => n = 3, 10);
 * console.log(await waitFor(() => n === 3 && n, { what: "n to be 3" })); // 3
 * ```
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 10, what = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
