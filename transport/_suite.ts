/**
 * The transport conformance suite: the error contract of `types.ts`, checked
 * against any {@linkcode Transport} implementation through a factory.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  DeadlineExceededError,
  HostDrainingError,
  HostMismatchError,
  InternalError,
  InvokeFailedError,
  OverloadedError,
  PayloadTooLargeError,
  RetryLaterError,
} from "../errors.ts";
import { withTimeout } from "../_internal/delay.ts";
import type { PeerLink, PeerRequestContext, PeerRequestHandler, Transport, TransportListener } from "./types.ts";

/** How one suite host is made. */
export interface SuiteHostOptions {
  hostId: string;
  /** @default echo */
  handler?: PeerRequestHandler;
  /** @default 100 */
  maxInFlightRequests?: number;
  maxFrameBytes?: number;
  onLink?: (link: PeerLink, direction: "inbound" | "outbound") => void;
  /** `"other"`: credentials of an unrelated cluster (another PSK). @default "main" */
  cluster?: "main" | "other";
}

/** What the suite needs from an implementation. */
export interface TransportSuiteFactory {
  /** Creates a transport; the suite closes it. */
  make(options: SuiteHostOptions): Promise<Transport>;
  /** The host to listen on, e.g. `127.0.0.1`. */
  listenHost: string;
  /** An address where nothing listens. */
  refusedAddress(): Promise<string>;
  /**
   * Capability: a dial to an address where nothing listens is *refused*
   * (`cause.code === "ECONNREFUSED"`), as with TCP. `false` for QUIC
   * transports: UDP has no refusal and Deno 2.9.6 surfaces no ICMP
   * port-unreachable, so such a dial can only time out; the step then checks
   * `RetryLaterError` caused by `DeadlineExceededError` instead. @default {true}
   */
  refusesConnections?: boolean;
}

/**
 * Waits for `p`, failing the test after `ms`.
 *
 * @example
 * ```ts
 * import { within } from "./_suite.ts";
 * console.log(await within(Promise.resolve(1), "one")); // 1
 * ```
 */
export function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
  return withTimeout(p, ms, () => new Error(`Timed out waiting for ${what}`));
}

/**
 * A promise with its resolver.
 *
 * @example
 * ```ts
 * import { deferred } from "./_suite.ts";
 * const d = deferred<number>();
 * d.resolve(2);
 * console.log(await d.promise); // 2
 * ```
 */
export function deferred<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface Pair {
  server: Transport;
  client: Transport;
  listener: TransportListener;
  link: PeerLink;
  /** The server's end of `link`. */
  inbound: Promise<PeerLink>;
  address: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function pair(
  f: TransportSuiteFactory,
  server: Partial<SuiteHostOptions>,
  client: Partial<SuiteHostOptions> = {},
) {
  const inbound = deferred<PeerLink>();
  const s = await f.make({
    hostId: "server",
    ...server,
    onLink: (l, d) => {
      if (d === "inbound") inbound.resolve(l);
      server.onLink?.(l, d);
    },
  });
  const c = await f.make({ hostId: "client", ...client });
  const listener = await s.listen(f.listenHost, 0);
  const address = `${f.listenHost}:${listener.port}`;
  const link = await c.dial({ address, expectedPeerId: "server", timeoutMs: 5_000 });
  const p: Pair = {
    server: s,
    client: c,
    listener,
    link,
    inbound: inbound.promise,
    address,
    async [Symbol.asyncDispose]() {
      await c.close();
      await listener.close();
      await s.close();
    },
  };
  return p;
}

/** A handler that parks every request until released, recording each call. */
function parking() {
  const calls: PeerRequestContext[] = [];
  const started: PromiseWithResolvers<void>[] = [];
  const slot = (i: number) => {
    while (started.length <= i) started.push(deferred());
    return started[i];
  };
  const release = deferred<void>();
  const handler: PeerRequestHandler = async (body, ctx) => {
    calls.push(ctx);
    slot(calls.length - 1).resolve();
    await Promise.race([release.promise, new Promise((r) => ctx.signal.addEventListener("abort", r))]);
    return body;
  };
  const aborted = (i: number) =>
    calls[i].signal.aborted
      ? Promise.resolve()
      : new Promise<void>((r) => calls[i].signal.addEventListener("abort", () => r()));
  return { calls, handler, release, started: (i: number) => slot(i).promise, aborted };
}

/**
 * Runs every conformance step as a sub-step of `t`.
 *
 * @example
 * ```ts ignore
 * Deno.test("memory transport", (t) => runTransportSuite(t, factory));
 * ```
 */
export async function runTransportSuite(t: Deno.TestContext, f: TransportSuiteFactory): Promise<void> {
  await t.step("round trip: empty and 1 MiB bodies", async () => {
    await using p = await pair(f, { handler: (b) => b.length === 0 ? enc("empty") : b });
    assert.equal(dec(await p.link.request(new Uint8Array(0))), "empty");
    const big = crypto.getRandomValues(new Uint8Array(65_536));
    const mib = new Uint8Array(1 << 20);
    for (let i = 0; i < 16; i++) mib.set(big, i * 65_536);
    assert.deepEqual(await p.link.request(mib), mib);
    assert.equal(p.link.peerId, "server");
    assert.equal((await within(p.inbound, "inbound link")).peerId, "client");
  });

  await t.step("both directions on one link", async () => {
    const clientHandler: PeerRequestHandler = (b) => enc(`client saw ${dec(b)}`);
    await using p = await pair(f, { handler: (b) => enc(`server saw ${dec(b)}`) }, { handler: clientHandler });
    const inbound = await within(p.inbound, "inbound link");
    const [a, b] = await Promise.all([p.link.request(enc("x")), inbound.request(enc("y"))]);
    assert.equal(dec(a), "server saw x");
    assert.equal(dec(b), "client saw y");
  });

  await t.step("1,000 concurrent requests on one link", async () => {
    await using p = await pair(f, { handler: async (b) => (await Promise.resolve(), b), maxInFlightRequests: 1_000 });
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => p.link.request(enc(`req-${i}`)).then(dec)),
    );
    answers.forEach((a, i) => assert.equal(a, `req-${i}`));
  });

  await t.step("a handler's Francis error arrives as the same class with its fields", async () => {
    await using p = await pair(f, {
      handler: (b) => {
        if (dec(b) === "invoke") {
          throw new InvokeFailedError("boom", {
            actorType: "t",
            actorId: "a",
            actorErrorName: "TypeError",
            actorErrorCode: "E",
          });
        }
        throw new HostDrainingError("Cannot invoke: host is stopping", { retryAfterMs: 777 });
      },
    });
    const e1 = await p.link.request(enc("invoke")).catch((e) => e);
    assert.ok(e1 instanceof InvokeFailedError);
    assert.equal(e1.message, 'Actor "t/a" failed: boom');
    assert.deepEqual([e1.actorType, e1.actorId, e1.actorErrorName, e1.actorErrorCode], ["t", "a", "TypeError", "E"]);
    const e2 = await p.link.request(enc("drain")).catch((e) => e);
    assert.ok(e2 instanceof HostDrainingError);
    assert.equal(e2.message, "Cannot invoke: host is stopping");
    assert.equal(e2.retryAfterMs, 777);
  });

  await t.step("a non-Francis throw arrives as InternalError with its message", async () => {
    await using p = await pair(f, {
      handler: (b) => {
        if (b.length === 0) throw new TypeError("sync bad");
        return Promise.reject(new RangeError("async bad"));
      },
    });
    const e1 = await p.link.request(new Uint8Array(0)).catch((e) => e);
    assert.ok(e1 instanceof InternalError && e1.message === "sync bad", String(e1));
    const e2 = await p.link.request(new Uint8Array(1)).catch((e) => e);
    assert.ok(e2 instanceof InternalError && e2.message === "async bad", String(e2));
  });

  await t.step("over maxInFlightRequests: OverloadedError, handler not run for the excess", async () => {
    const park = parking();
    await using p = await pair(f, { handler: park.handler, maxInFlightRequests: 2 });
    const first = [p.link.request(enc("1")), p.link.request(enc("2"))];
    await within(park.started(1), "two handlers running");
    const excess = await Promise.all([1, 2, 3].map(() => p.link.request(enc("x")).catch((e) => e)));
    for (const e of excess) {
      assert.ok(e instanceof OverloadedError, String(e));
      assert.equal(e.retryAfterMs, 100);
    }
    assert.equal(park.calls.length, 2);
    park.release.resolve();
    assert.deepEqual((await Promise.all(first)).map(dec), ["1", "2"]);
    assert.equal(dec(await p.link.request(enc("after"))), "after"); // slots freed
  });

  await t.step("timeoutMs: DeadlineExceededError and the handler's signal aborts", async () => {
    const park = parking();
    await using p = await pair(f, { handler: park.handler });
    const err = await p.link.request(enc("slow"), { timeoutMs: 50 }).catch((e) => e);
    assert.ok(err instanceof DeadlineExceededError, String(err));
    await within(park.aborted(0), "handler signal abort");
    assert.ok(park.calls[0].signal.reason instanceof DeadlineExceededError);
    park.release.resolve();
  });

  await t.step("caller signal abort: rejects with signal.reason and the handler's signal aborts", async () => {
    const park = parking();
    await using p = await pair(f, { handler: park.handler });
    const ac = new AbortController();
    const pending = p.link.request(enc("slow"), { signal: ac.signal }).catch((e) => e);
    await within(park.started(0), "handler start");
    const reason = new Error("caller gave up");
    ac.abort(reason);
    assert.equal(await pending, reason);
    await within(park.aborted(0), "handler signal abort");
    assert.equal(await p.link.request(enc("x"), { signal: ac.signal }).catch((e) => e), reason);
    park.release.resolve();
  });

  await t.step("link closed by the peer mid-request: the request is still answered; then RetryLaterError", async () => {
    const park = parking();
    await using p = await pair(f, { handler: park.handler });
    const pending = p.link.request(enc("slow")).catch((e) => e);
    await within(park.started(0), "handler start");
    const inbound = await within(p.inbound, "inbound link");
    const closing = inbound.close();
    park.release.resolve();
    assert.equal(dec(await pending), "slow");
    await within(closing, "graceful close");
    await within(p.link.closed, "client link closed");
    assert.ok(p.link.isClosed);
    const after = await p.link.request(enc("x")).catch((e) => e);
    assert.ok(after instanceof RetryLaterError, String(after));
    const closeReason = (p.link as { closeReason?: string }).closeReason;
    if (closeReason !== undefined) assert.equal(closeReason, "peer");
  });

  await t.step("request after local close: RetryLaterError", async () => {
    await using p = await pair(f, {});
    await p.link.close();
    assert.ok(p.link.isClosed);
    assert.ok((await p.link.request(enc("x")).catch((e) => e)) instanceof RetryLaterError);
    await within((await p.inbound).closed, "peer side closed");
  });

  await t.step("dial to nothing: RetryLaterError caused by ECONNREFUSED", async () => {
    const c = await f.make({ hostId: "client" });
    try {
      const address = await f.refusedAddress();
      const err = await c.dial({ address, expectedPeerId: "server", timeoutMs: 2_000 }).catch((e) => e);
      assert.ok(err instanceof RetryLaterError, String(err));
      if (f.refusesConnections === false) assert.ok(err.cause instanceof DeadlineExceededError, String(err.cause));
      else assert.equal((err.cause as { code?: string })?.code, "ECONNREFUSED");
    } finally {
      await c.close();
    }
  });

  await t.step("wrong expectedPeerId: HostMismatchError, the handler never runs", async () => {
    let ran = 0;
    let links = 0;
    const s = await f.make({ hostId: "server", handler: () => (ran++, new Uint8Array()), onLink: () => links++ });
    const c = await f.make({ hostId: "client" });
    const listener = await s.listen(f.listenHost, 0);
    try {
      const address = `${f.listenHost}:${listener.port}`;
      const err = await c.dial({ address, expectedPeerId: "someone-else", timeoutMs: 2_000 }).catch((e) => e);
      assert.ok(err instanceof HostMismatchError, String(err));
      assert.equal(ran, 0);
      assert.equal(links, 0);
    } finally {
      await c.close();
      await listener.close();
      await s.close();
    }
  });

  await t.step("another cluster: RetryLaterError, the handler never runs", async () => {
    let ran = 0;
    const s = await f.make({ hostId: "server", handler: () => (ran++, new Uint8Array()) });
    const c = await f.make({ hostId: "client", cluster: "other" });
    const listener = await s.listen(f.listenHost, 0);
    try {
      const address = `${f.listenHost}:${listener.port}`;
      const err = await c.dial({ address, expectedPeerId: "server", timeoutMs: 2_000 }).catch((e) => e);
      assert.ok(err instanceof RetryLaterError, String(err));
      assert.equal(ran, 0);
    } finally {
      await c.close();
      await listener.close();
      await s.close();
    }
  });

  await t.step("oversize bodies: PayloadTooLargeError (request locally, response from the peer)", async () => {
    await using p = await pair(f, { maxFrameBytes: 1_024, handler: () => new Uint8Array(2_048) }, {
      maxFrameBytes: 1_024,
    });
    assert.ok((await p.link.request(new Uint8Array(1_025)).catch((e) => e)) instanceof PayloadTooLargeError);
    assert.ok((await p.link.request(new Uint8Array(1)).catch((e) => e)) instanceof PayloadTooLargeError);
    assert.equal((await p.link.request(new Uint8Array(1_024)).catch((e) => e)).constructor, PayloadTooLargeError);
  });

  await t.step("listener close closes inbound links", async () => {
    await using p = await pair(f, {});
    const inbound = await within(p.inbound, "inbound link");
    await p.listener.close();
    await within(inbound.closed, "inbound closed");
    await within(p.link.closed, "outbound closed");
    assert.ok(inbound.isClosed && p.link.isClosed);
  });

  await t.step("transport close closes every link", async () => {
    await using p = await pair(f, {});
    await p.client.close();
    await within(p.link.closed, "outbound closed");
    await within((await p.inbound).closed, "inbound closed");
  });
}
