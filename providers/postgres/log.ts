/**
 * `queryLog` and `operationLog` of the PostgreSQL provider (API.md §17):
 * statements and provider calls at debug level, slow ones as warnings. The
 * provider has no logger option, so lines go to `console.debug` /
 * `console.warn` with the `[francis]` prefix of the default logger.
 * Parameters are printed only with `includeParameters` (they may hold payload bytes).
 *
 * @module
 */

import type { PgClient, Queryable, Rows } from "./driver.ts";

/** Options of statement logging. */
export interface QueryLogOptions {
  /** Log every statement at debug level. @default {false} */
  enabled?: boolean;
  /** Include statement parameters in log lines. @default {false} */
  includeParameters?: boolean;
  /** Warn about statements slower than this many ms (integer ≥ 1). Unset: no warnings. */
  slowThresholdMs?: number;
}

/** Options of provider-call logging. */
export interface OperationLogOptions {
  /** Log every provider call at debug level. @default {false} */
  enabled?: boolean;
  /** Warn about calls slower than this many ms (integer ≥ 1). Unset: no warnings. */
  slowThresholdMs?: number;
}

function emit(slow: boolean, message: string, attrs: Record<string, unknown>): void {
  if (slow) console.warn(`[francis] ${message}`, attrs);
  else console.debug(`[francis] ${message}`, attrs);
}

/** Whether any logging is on. */
function active(options: QueryLogOptions | OperationLogOptions): boolean {
  return options.enabled === true || options.slowThresholdMs !== undefined;
}

/** Wraps a client so every statement is timed and logged; returns `db` itself when logging is off. */
export function withQueryLog(db: PgClient, options: QueryLogOptions): PgClient {
  if (!active(options)) return db;
  const wrap = (q: Queryable): Queryable => ({
    async query(text: string, params?: readonly unknown[]): Promise<Rows> {
      const start = performance.now();
      try {
        return await q.query(text, params);
      } finally {
        report(text, params, performance.now() - start);
      }
    },
    async exec(text: string): Promise<void> {
      const start = performance.now();
      try {
        await q.exec(text);
      } finally {
        report(text, undefined, performance.now() - start);
      }
    },
  });
  const report = (text: string, params: readonly unknown[] | undefined, ms: number): void => {
    const slow = options.slowThresholdMs !== undefined && ms >= options.slowThresholdMs;
    if (!slow && options.enabled !== true) return;
    const attrs: Record<string, unknown> = { sql: text.replace(/\s+/g, " ").trim(), ms: Math.round(ms * 10) / 10 };
    if (options.includeParameters === true && params !== undefined) attrs.params = params;
    emit(slow, slow ? "slow PostgreSQL statement" : "PostgreSQL statement", attrs);
  };
  const plain = wrap(db);
  return {
    query: plain.query,
    exec: plain.exec,
    begin: (fn) => db.begin((tx) => fn(wrap(tx))),
    openSession: (o) => db.openSession(o),
    end: () => db.end(),
  };
}

/** Times one provider call and logs it per `options`. */
export async function logOperation<T>(
  options: OperationLogOptions,
  method: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!active(options)) return await fn();
  const start = performance.now();
  let failed = false;
  try {
    return await fn();
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    const ms = performance.now() - start;
    const slow = options.slowThresholdMs !== undefined && ms >= options.slowThresholdMs;
    if (slow || options.enabled === true) {
      emit(slow, slow ? "slow provider call" : "provider call", {
        provider: "postgres",
        method,
        ms: Math.round(ms * 10) / 10,
        failed,
      });
    }
  }
}
