/**
 * C-115: evaluating `.` or `./actor` loads no storage driver or TLS code.
 * Checked on the static module graph that `deno info --json` reports.
 */

import assert from "node:assert/strict";

const FORBIDDEN = ["node:sqlite", "node:tls", "npm:postgres", "node:net", "npm:zod", "npm:@peculiar/x509"];

/** Every module reached from `entry` through static imports only (what evaluating it loads). */
async function staticGraph(entry: string): Promise<string[]> {
  const root = new URL(entry, import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  interface Dep {
    specifier: string;
    code?: { specifier?: string };
    type?: { specifier?: string };
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
      const target = d.code?.specifier;
      if (!d.isDynamic && target !== undefined) stack.push(target);
    }
  }
  return [...seen];
}

for (const entry of ["../mod.ts", "../actor/mod.ts"]) {
  Deno.test(`module graph: ${entry.slice(3)} statically imports no driver or TLS code (C-115)`, async () => {
    const specifiers = await staticGraph(entry);
    assert.ok(specifiers.length >= 2, "the graph looks empty");
    for (const bad of FORBIDDEN) {
      assert.ok(!specifiers.some((s) => s.startsWith(bad)), `${entry} pulls in ${bad}`);
    }
  });
}
