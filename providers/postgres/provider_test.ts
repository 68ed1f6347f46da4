/**
 * The provider conformance suite against a real PostgreSQL server: one fresh
 * database for this file (see `testing/_postgres.ts`), one table prefix per
 * test, dropped after it.
 *
 * @module
 */

import postgres from "postgres";
import { createTestDatabase } from "../../testing/_postgres.ts";
import { runProviderSuite } from "../../testing/provider_suite.ts";
import type { ActorProvider } from "../types.ts";
import { functionNames, tableNames } from "./migrations.ts";
import { createPostgresProvider } from "./mod.ts";

const db = await createTestDatabase();
const prefixes = new WeakMap<ActorProvider, string>();
let count = 0;

runProviderSuite({
  name: "postgres",
  create({ clock }) {
    const tablePrefix = `suite_${count++}`;
    const provider = createPostgresProvider({ url: db.url, clock, tablePrefix, cleanupIntervalMs: Infinity });
    prefixes.set(provider, tablePrefix);
    return provider;
  },
  async cleanup(provider) {
    const prefix = prefixes.get(provider);
    if (prefix === undefined) return;
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(
        `DROP TABLE IF EXISTS ${tableNames(prefix).join(", ")} CASCADE;
         DROP FUNCTION IF EXISTS ${functionNames(prefix).join(", ")}`,
      );
    } finally {
      await sql.end();
    }
  },
});

Deno.test("postgres suite: drop the test database", async () => {
  await db.drop();
});
