import assert from "node:assert/strict";
import { decodePeerInvoke, encodePeerInvoke, type PeerInvokeRequest } from "./peer_protocol.ts";

const base: PeerInvokeRequest = {
  targetHostId: "7b7d1f0e-host",
  actorType: "counter",
  actorId: "c/ü/😀",
  method: "",
  mode: "peek",
  requestId: "r-1",
  chain: ["a/1", "b/ß"],
  activeOnly: true,
  data: new Uint8Array([0, 1, 2, 255]),
};

Deno.test("peer protocol: every field round-trips, Unicode and empty strings included", () => {
  assert.deepEqual(decodePeerInvoke(encodePeerInvoke(base)), base);
  const plain = { ...base, mode: "invoke" as const, activeOnly: false, chain: [], data: new Uint8Array() };
  assert.deepEqual(decodePeerInvoke(encodePeerInvoke(plain)), plain);
});

Deno.test("peer protocol: garbage, truncation and bad fields are DecodeErrors, never crashes", () => {
  const good = encodePeerInvoke(base);
  const cases: Uint8Array[] = [
    new Uint8Array(),
    new Uint8Array([1, 0]), // the old JSON version
    new Uint8Array([2, 9]), // unknown flags
    good.subarray(0, 5), // cut inside a field
    Uint8Array.from([2, 0, 0xff, 0xff, 1, 2]), // a field longer than the body
    Uint8Array.from([2, 0, 0, 2, 0xc3, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // invalid UTF-8
    Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01]), // a chain of 257
  ];
  for (const bytes of cases) {
    assert.throws(() => decodePeerInvoke(bytes), (e: unknown) => (e as Error).name === "DecodeError", String(bytes));
  }
  for (let i = 0; i < 2_000; i++) {
    const noise = crypto.getRandomValues(new Uint8Array(1 + (i % 64)));
    noise[0] = 2;
    try {
      decodePeerInvoke(noise);
    } catch (e) {
      assert.equal((e as Error).name, "DecodeError");
    }
  }
});
