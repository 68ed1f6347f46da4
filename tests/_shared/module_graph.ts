/**
 * The static module graph of an entry point, as `deno info --json` reports
 * it: what evaluating the entry loads, `import()`s left out.
 *
 * @module
 */

import assert from "node:assert/strict";

/** Every module specifier reached from `entry` through static imports only. */
export async function staticGraph(entry: URL): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.pathname],
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
