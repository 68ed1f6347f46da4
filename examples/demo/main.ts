/**
 * The Francis demo: one LocalHost on an embedded SQLite file, a counter, a
 * shopping cart and a reminder with a repeating alarm. Run it twice: the
 * second run continues from the state the first one left in the file.
 *
 *     deno task demo                       # uses ./francis-demo.db
 *     deno task demo --db /tmp/other.db    # or FRANCIS_DEMO_DB=/tmp/other.db
 *     deno task demo --reset               # start from an empty file
 *
 * @module
 */

import { type ActorContext, type ActorService, generatePsk, LocalHost } from "../../mod.ts";
import { createSqliteProvider } from "../../providers/sqlite/mod.ts";

// ---- Actors -----------------------------------------------------------------

/** Counts calls; its state survives restarts. */
class Counter {
  #state;
  constructor(id: string, service: ActorService) {
    this.#state = service.client<{ n: number }>("counter", id, { initialState: () => ({ n: 0 }) });
  }
  async invoke(method: string): Promise<number> {
    if (method !== "increment") throw new Error(`Unknown method "${method}"`);
    const s = await this.#state.getState();
    s.n++;
    await this.#state.setState(s);
    return s.n;
  }
}

interface CartState {
  items: Record<string, number>;
}

/** A shopping cart: `add`, `remove`, and `peek`-able contents. */
class Cart {
  #state;
  constructor(id: string, service: ActorService) {
    this.#state = service.client<CartState>("cart", id, { initialState: () => ({ items: {} }) });
  }
  async invoke(method: string, data: unknown): Promise<CartState> {
    const { item, qty = 1 } = data as { item: string; qty?: number };
    const cart = await this.#state.getState();
    if (method === "add") cart.items[item] = (cart.items[item] ?? 0) + qty;
    else if (method === "remove") delete cart.items[item];
    else throw new Error(`Unknown method "${method}"`);
    await this.#state.setState(cart);
    return cart;
  }
  peek(): Promise<CartState> {
    return this.#state.getState(); // read-only: runs alongside other peeks
  }
}

/** Arms a repeating alarm and reports each firing. */
class Reminder {
  #self;
  #onFire: (n: number, data: unknown) => void;
  #fired = 0;
  constructor(id: string, service: ActorService, onFire: (n: number, data: unknown) => void) {
    this.#self = service.client("reminder", id);
    this.#onFire = onFire;
  }
  async invoke(method: string): Promise<void> {
    if (method === "arm") {
      await this.#self.setAlarm("tick", { delayMs: 300, interval: 400, data: { note: "stretch your legs" } });
    } else if (method === "disarm") await this.#self.deleteAlarm("tick");
  }
  alarm(_name: string, data: unknown, _ctx: ActorContext): void {
    this.#onFire(++this.#fired, data);
  }
}

// ---- Main -------------------------------------------------------------------

function dbPath(): string {
  const i = Deno.args.indexOf("--db");
  if (i >= 0 && Deno.args[i + 1]) return Deno.args[i + 1];
  return Deno.env.get("FRANCIS_DEMO_DB") ?? "francis-demo.db";
}

const path = dbPath();
if (Deno.args.includes("--reset")) {
  for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
}
const existed = await Deno.stat(path).then(() => true, () => false);

let fires = 0;
let onThirdFire!: () => void;
const thirdFire = new Promise<void>((resolve) => onThirdFire = resolve);

const host = new LocalHost({
  address: "127.0.0.1:0",
  runtimePsks: [Deno.env.get("FRANCIS_PSK") ?? generatePsk()],
  provider: createSqliteProvider({ path }),
});
host.registerActor("counter", (id, s) => new Counter(id, s));
host.registerActor("cart", (id, s) => new Cart(id, s));
host.registerActor("reminder", (id, s) =>
  new Reminder(id, s, (n, data) => {
    fires = n;
    console.log(`   ⏰ alarm "tick" fired (#${n}) with data ${JSON.stringify(data)}`);
    if (n === 3) onThirdFire();
  }));

await host.start();
console.log(`Francis demo: one LocalHost, state in SQLite file "${path}"`);
console.log(existed ? "   (found state from an earlier run: it continues below)\n" : "   (new file)\n");

const runs = await host.service.invoke<number>("counter", "demo-runs", "increment");
console.log(`1. counter/demo-runs → increment → ${runs}   (this is run #${runs} on this file)`);

await host.service.invoke("cart", "alice", "add", { item: "apple", qty: 2 });
const cart = await host.service.invoke<CartState>("cart", "alice", "add", { item: "pear" });
console.log(`2. cart/alice → add 2 apples, 1 pear → ${JSON.stringify(cart.items)}`);
console.log(
  `   cart/alice peek → ${JSON.stringify((await host.service.peek<CartState>("cart", "alice", "contents")).items)}`,
);

console.log("3. reminder/alice → arm a repeating alarm (first in 300 ms, then every 400 ms)");
await host.service.invoke("reminder", "alice", "arm");
await thirdFire;
await host.service.invoke("reminder", "alice", "disarm");
console.log(`   disarmed after ${fires} firings`);

await host.stop();
console.log("\nHost stopped cleanly. Run `deno task demo` again: the counter and the cart continue from here.");
