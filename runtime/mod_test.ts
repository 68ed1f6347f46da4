/**
 * `./runtime` exports (API.md §2) and its static module graph: importing it
 * loads no storage driver and no TLS code; `version` matches deno.json.
 */

import assert from "node:assert/strict";
import * as runtime from "./mod.ts";
import { FRANCIS_VERSION } from "./version.ts";

const FORBIDDEN = ["node:sqlite", "node:tls", "npm:postgres", "node:net"];

/** Every module reached from `entry` through static imports only. */
async function staticGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  interface Dep {
    code?: { specifier?: string };
    isDynamic?: boolean;
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dep[] }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const spec = stack.pop()!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of bySpecifier.get(spec)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier !== undefined) stack.push(d.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("runtime/mod.ts statically imports no driver or TLS code", async () => {
  const specifiers = await staticGraph("./mod.ts");
  assert.ok(specifiers.some((s) => s.endsWith("/runtime/config.ts")), "the graph looks wrong");
  for (const bad of FORBIDDEN) assert.ok(!specifiers.some((s) => s.startsWith(bad)), `mod.ts pulls in ${bad}`);
});

Deno.test("runtime/mod.ts exports the §2 runtime API", () => {
  for (const name of ["startRuntime", "loadRuntimeConfig", "deriveClusterCaPem"] as const) {
    assert.equal(typeof runtime[name], "function", name);
  }
  assert.equal(runtime.RUNTIME_DEFAULTS.bind, "0.0.0.0:7400");
});

Deno.test("the version constant matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))) as { version: string };
  assert.equal(FRANCIS_VERSION, config.version);
});
