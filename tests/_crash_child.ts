/**
 * Child process of crash_test.ts: a LocalHost on a SQLite file under write
 * load. It prints `ack <actorId> <seq>` after each write is acknowledged, and
 * `alarms <dueMs>` once its alarms are set. The parent kills it with SIGKILL.
 *
 * Usage: deno run -A tests/_crash_child.ts <db-path> <writers> <alarms>
 */

import { LocalHost } from "../mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import { registerCrashActors } from "./_crash_actors.ts";

const [path, writersArg, alarmsArg] = Deno.args;
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

const host = new LocalHost({
  address: "127.0.0.1:0",
  runtimePsks: ["crash test pre-shared key, long enough to pass"],
  provider: createSqliteProvider({ path }),
  healthCheckDeadlineMs: 2_000,
});
registerCrashActors(host);
await host.start();

const due = Date.now() + 4_000;
await Promise.all(
  Array.from(
    { length: Number(alarmsArg) },
    (_, i) => host.service.setAlarm("alarmed", `a${i}`, "wake", { dueTime: due, data: { i } }),
  ),
);
say(`alarms ${due}`);

// Each writer loops on its own actor; an ack is printed only after the write resolved.
await Promise.all(Array.from({ length: Number(writersArg) }, async (_, i) => {
  for (let seq = 1;; seq++) {
    await host.service.invoke("writer", `w${i}`, "write", seq);
    say(`ack w${i} ${seq}`);
  }
}));
