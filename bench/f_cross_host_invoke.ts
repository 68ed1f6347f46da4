/**
 * (f) Cross-host invoke over a real mutual-TLS peer link, between two OS
 * processes: a child process hosts the `echo` actor; the benchmark process
 * runs a second `LocalHost` that serves no type, so each of its calls is
 * forwarded over the peer link. Compared, in the same run and between the
 * same two processes, with a plain `node:tls` echo using the same
 * length-prefixed framing (u32 length + body) and ~100-byte messages.
 *
 * @module
 */

import type { TLSSocket } from "node:tls";
import { generatePsk, LocalHost } from "../mod.ts";
import { createPostgresProvider } from "../providers/postgres/mod.ts";
import { createHostCredentials } from "../security/credentials.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult, type Summary } from "./_stats.ts";
import { measureCalls } from "./_util.ts";
import { ChildSet, QUIET_LOGGER, withDatabase } from "./_cluster.ts";

const TYPE = "echo";
const IN_FLIGHT = 64;
const RAW_MESSAGE_BYTES = 100;

/** A pipelined client of the child's raw echo server: one TLS connection, answers in order. */
class RawEchoClient {
  readonly #socket: TLSSocket;
  readonly #waiting: (() => void)[] = [];
  #buf: Uint8Array = new Uint8Array(0);

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
  }

  /** Connects with a client certificate of the same cluster CA the hosts use. */
  static async connect(port: number, psk: string): Promise<RawEchoClient> {
    const tls = await import("node:tls");
    const creds = await createHostCredentials([new TextEncoder().encode(psk)], "raw-echo-client");
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port,
        key: creds.keyPem,
        cert: creds.certPem,
        ca: [...creds.caPems],
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
        checkServerIdentity: () => undefined,
      }, () => resolve(s));
      s.once("error", reject);
    });
    socket.setNoDelay(true);
    return new RawEchoClient(socket);
  }

  /** Sends one frame and resolves when its echo is back. */
  call(frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#socket.write(frame);
    });
  }

  #onData(chunk: Uint8Array): void {
    let buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    let off = 0;
    while (buf.length - off >= 4) {
      const n = new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0);
      if (buf.length - off < 4 + n) break;
      off += 4 + n;
      this.#waiting.shift()?.();
    }
    buf = off === buf.length ? new Uint8Array(0) : buf.slice(off);
    this.#buf = buf;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.destroy();
    });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Sequential timed calls after warm-up, then `IN_FLIGHT` loops of `perCaller` calls each. */
async function measure(
  warmup: number,
  calls: number,
  perCaller: number,
  seqCall: () => Promise<unknown>,
  concCall: (caller: number) => Promise<unknown>,
): Promise<{ latency: Summary; seqRate: number; concRate: number }> {
  const m = await measureCalls({ warmup, calls, perCaller, inFlight: IN_FLIGHT }, seqCall, concCall);
  return { latency: m.latencyUs, seqRate: m.seqRate, concRate: m.concRate };
}

/** Runs scenario (f). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const warmup = quick ? 500 : 5_000;
  const calls = quick ? 1_000 : 20_000;
  const perCaller = quick ? 50 : 1_000;
  return withDatabase("f_cross_host_invoke", async (url) => {
    const psk = generatePsk();
    const children = new ChildSet({ url, psk });
    let host: LocalHost | undefined;
    let raw: RawEchoClient | undefined;
    try {
      const [child] = await children.start(["f0"], [TYPE], { rawEcho: true });
      host = new LocalHost({
        address: "127.0.0.1:0",
        runtimePsks: [psk],
        provider: createPostgresProvider({ url }),
        logger: QUIET_LOGGER,
      });
      await host.start();
      const svc = host.service;
      const owner = await svc.invoke<{ ok: boolean }>(TYPE, "seq", "ping");
      if (owner?.ok !== true) throw new Error(`echo actor answered ${JSON.stringify(owner)}`);

      const francis = await measure(
        warmup,
        calls,
        perCaller,
        () => svc.invoke(TYPE, "seq", "ping"),
        (c) => svc.invoke(TYPE, `c${c}`, "ping"),
      );

      raw = await RawEchoClient.connect(child.rawEchoPort, psk);
      const frame = new Uint8Array(4 + RAW_MESSAGE_BYTES);
      new DataView(frame.buffer).setUint32(0, RAW_MESSAGE_BYTES);
      crypto.getRandomValues(frame.subarray(4));
      const rawClient = raw;
      const rawM = await measure(warmup, calls, perCaller, () => rawClient.call(frame), () => rawClient.call(frame));

      const p50Ratio = francis.latency.p50 / rawM.latency.p50;
      const rateRatio = francis.concRate / rawM.concRate;
      return {
        metrics: [
          metric("francis sequential p50", francis.latency.p50, "µs", { op: "<=", value: 200 }),
          metric("francis sequential p99", francis.latency.p99, "µs"),
          metric("francis sequential rate", francis.seqRate, "calls/s"),
          metric(`francis ${IN_FLIGHT} in flight`, francis.concRate, "calls/s", { op: ">=", value: 40_000 }),
          metric("raw node:tls echo sequential p50", rawM.latency.p50, "µs"),
          metric("raw node:tls echo sequential p99", rawM.latency.p99, "µs"),
          metric(`raw node:tls echo ${IN_FLIGHT} in flight`, rawM.concRate, "calls/s"),
          metric("p50 ratio francis ÷ raw", p50Ratio, "×"),
          metric(`${IN_FLIGHT}-in-flight rate ratio francis ÷ raw`, rateRatio, "×"),
        ],
        params: {
          processes: 2,
          provider: "postgres (placement only; cached after the first call)",
          warmup,
          sequentialCalls: calls,
          inFlight: IN_FLIGHT,
          callsPerCaller: perCaller,
          rawMessageBytes: RAW_MESSAGE_BYTES,
          hostOptions: "defaults",
        },
        notes: [
          "Two OS processes: a child LocalHost serves `echo` (returns { ok: true }); this process runs a LocalHost " +
          "that serves no type, so every call is forwarded over its mutual-TLS peer link (TLS 1.3, one connection).",
          `The ${IN_FLIGHT} in-flight callers each loop on their own actor (${IN_FLIGHT} actors, all active).`,
          "Raw reference: a node:tls echo server in the same child process, client in this process, TLS 1.3 with " +
          `client certificates from the same cluster CA, setNoDelay, u32 length + ${RAW_MESSAGE_BYTES}-byte body ` +
          "echoed back, one connection, pipelined (answers matched in order).",
          "Francis latency samples include the caller-side work (validation, codec, placement cache, peer window) " +
          "and the serving side (turn, codec) on top of the link round trip.",
        ],
        details: {
          francis: {
            latencyUs: roundSummary(francis.latency),
            seqRate: round(francis.seqRate, 0),
            concRate: round(francis.concRate, 0),
          },
          raw: {
            latencyUs: roundSummary(rawM.latency),
            seqRate: round(rawM.seqRate, 0),
            concRate: round(rawM.concRate, 0),
          },
          ratios: {
            p50: round(p50Ratio, 2),
            p99: round(francis.latency.p99 / rawM.latency.p99, 2),
            rate: round(rateRatio, 3),
          },
        },
      };
    } finally {
      await raw?.close();
      await host?.stop().catch(() => {});
      await children.disposeAll();
    }
  });
}
