/**
 * `./runtime` exports (API.md §2) and its static module graph: importing it
 * loads no storage driver and no TLS code; `version` matches deno.json.
 */

import assert from "node:assert/strict";
import * as runtime from "./mod.ts";
import { FRANCIS_VERSION } from "./version.ts";
import { staticGraph } from "../tests/_shared/module_graph.ts";

const FORBIDDEN = ["node:sqlite", "node:tls", "npm:postgres", "node:net"];

Deno.test("runtime/mod.ts statically imports no driver or TLS code", async () => {
  const specifiers = await staticGraph(new URL("./mod.ts", import.meta.url));
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
