/**
 * Actors of the multi-process cluster tests. Each records what it does in the
 * test database through its own connection, so the test can check from the
 * outside that no actor ever ran on two hosts at once, that every factory run
 * is counted, and where alarms fired.
 *
 * Tables (created by the harness): `t_turns(actor, host, started, ended)`,
 * `t_activations(actor, host)`, `t_fires(actor, host, at)`,
 * `t_job_runs(tag, actor, host, method, started, finished)`.
 */

import type postgres from "postgres";
import type { ActorFactory, ActorService, RegisterActorOptions } from "../../mod.ts";

/** Registers `counter`, `ticker` and `jobber` on a host (local or remote). */
export function registerClusterActors(
  host: { registerActor(type: string, factory: ActorFactory, options?: RegisterActorOptions): void },
  sql: postgres.Sql,
  hostLabel: () => string,
): void {
  const turn = async <T>(actor: string, run: () => Promise<T>): Promise<T> => {
    const [{ id }] = await sql`INSERT INTO t_turns (actor, host, started) VALUES (${actor}, ${hostLabel()},
      clock_timestamp()) RETURNING id`;
    try {
      return await run();
    } finally {
      await sql`UPDATE t_turns SET ended = clock_timestamp() WHERE id = ${id}`;
    }
  };

  host.registerActor("counter", (actorId: string, service: ActorService) => {
    const activated = sql`INSERT INTO t_activations (actor, host) VALUES (${actorId}, ${hostLabel()})`.then(() => {});
    const state = service.client<{ n: number }>("counter", actorId, { initialState: () => ({ n: 0 }) });
    return {
      async invoke(method: string) {
        await activated;
        return await turn(actorId, async () => {
          const s = await state.getState();
          if (method === "inc") {
            s.n++;
            await state.setState(s);
          }
          return { n: s.n, host: hostLabel() };
        });
      },
    };
  });

  host.registerActor("ticker", (actorId: string) => ({
    invoke: () => ({ host: hostLabel() }),
    async alarm(name: string) {
      await sql`INSERT INTO t_fires (actor, host, name, at) VALUES (${actorId}, ${hostLabel()}, ${name},
        clock_timestamp())`;
    },
  }));

  // Jobs (input `{ tag, ms }`): each run records its start, sleeps `ms`, then records its finish. Method "fail"
  // throws after recording the start; with maxAttempts 1 it is dead-lettered after that single run.
  host.registerActor("jobber", (actorId: string) => ({
    invoke: () => ({ host: hostLabel() }),
    async job(method: string, data: unknown) {
      const { tag, ms } = data as { tag: string; ms?: number };
      const [{ id }] = await sql`INSERT INTO t_job_runs (tag, actor, host, method, started)
        VALUES (${tag}, ${actorId}, ${hostLabel()}, ${method}, clock_timestamp()) RETURNING id`;
      if (method === "fail") throw new Error(`job ${tag} always fails`);
      await new Promise((resolve) => setTimeout(resolve, ms ?? 0));
      await sql`UPDATE t_job_runs SET finished = clock_timestamp() WHERE id = ${id}`;
    },
  }), { maxAttempts: 1 });
}

/** The schema the actors write to. */
export const CLUSTER_TEST_SCHEMA = `
CREATE TABLE IF NOT EXISTS t_turns (id bigserial PRIMARY KEY, actor text NOT NULL, host text NOT NULL,
  started timestamptz NOT NULL, ended timestamptz);
CREATE TABLE IF NOT EXISTS t_activations (actor text NOT NULL, host text NOT NULL);
CREATE TABLE IF NOT EXISTS t_fires (actor text NOT NULL, host text NOT NULL, name text NOT NULL,
  at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS t_job_runs (id bigserial PRIMARY KEY, tag text NOT NULL, actor text NOT NULL,
  host text NOT NULL, method text NOT NULL, started timestamptz NOT NULL, finished timestamptz);
`;
