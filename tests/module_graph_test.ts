/**
 * C-115: evaluating `.` or `./actor` loads no storage driver or TLS code.
 * Checked on the static module graph that `deno info --json` reports.
 */

import assert from "node:assert/strict";
import { staticGraph } from "./_shared/module_graph.ts";

const FORBIDDEN = ["node:sqlite", "node:tls", "npm:postgres", "node:net", "npm:zod", "npm:@peculiar/x509"];

for (const entry of ["../mod.ts", "../actor/mod.ts"]) {
  Deno.test(`module graph: ${entry.slice(3)} statically imports no driver or TLS code (C-115)`, async () => {
    const specifiers = await staticGraph(new URL(entry, import.meta.url));
    assert.ok(specifiers.length >= 2, "the graph looks empty");
    for (const bad of FORBIDDEN) {
      assert.ok(!specifiers.some((s) => s.startsWith(bad)), `${entry} pulls in ${bad}`);
    }
  });
}
