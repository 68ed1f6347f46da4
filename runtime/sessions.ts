/**
 * The runtime's side of admitted worker sessions: what each session may ask
 * of the provider, on whose behalf, and the certificate renewals.
 *
 * A session is one admitted connection. Its host ID is the identity of its
 * workload certificate; every provider call that names a host must name that
 * one (`UnauthorizedError` otherwise), so a worker can act only as itself.
 * `evictHost` of a host with a live session here is refused: the runtime sees
 * the worker connected, which is better evidence than any store.
 *
 * The table also counts the calls being served, so a stopping runtime can
 * tell its sessions to move ({@linkcode SessionTable.sayStopping}) and then
 * wait for what they already sent ({@linkcode SessionTable.drained}).
 *
 * @module
 */

import { UnauthorizedError } from "../errors.ts";
import { decodeRpc, encodeRpc } from "../_internal/rpc_codec.ts";
import { timingSafeEqual } from "../security/_bytes.ts";
import { RUNTIME_STOPPING } from "./protocol.ts";
import type { ActorProvider } from "../providers/types.ts";
import type { PeerLink } from "../transport/types.ts";

/** One admitted worker connection. */
export interface Session {
  hostId: string;
  clientOnly: boolean;
  link: PeerLink;
  /** SPKI of the key the session's certificate certifies: renewals certify this key only. */
  publicKeySpki: Uint8Array | undefined;
  /**
   * Checks that the worker still answers, dropping the session if not; absent: an open session is proof
   * enough (TCP: a dead process resets it). WebTransport sessions have it, since a killed process sends no
   * reset over UDP and QUIC would notice only after its idle timeout.
   */
  probe?: () => Promise<boolean>;
}

/** Issues a renewed workload certificate for a session's public key. */
export type RenewCertificate = (hostId: string, publicKeySpki: Uint8Array) => Promise<string>;

type ProviderMethod = (...args: unknown[]) => Promise<unknown>;

/** Provider methods a worker may call, and which argument (if any) must name the session's host. */
const METHODS: Record<string, (a: unknown[]) => string | undefined> = {
  registerHost: (a) => (a[0] as { hostId?: string })?.hostId ?? "",
  heartbeat: (a) => a[0] as string,
  unregisterHost: (a) => a[0] as string,
  setHostDraining: (a) => a[0] as string,
  listHosts: () => undefined,
  evictHost: () => undefined,
  lookupActor: () => undefined,
  removeActor: (a) => a[2] as string | undefined,
  getState: () => undefined,
  setState: (a) => (a[0] as { fenceHostId?: string })?.fenceHostId,
  deleteState: (a) => (a[2] as { fenceHostId?: string } | undefined)?.fenceHostId,
  listStates: () => undefined,
  getAlarm: () => undefined,
  setAlarm: () => undefined,
  deleteAlarm: () => undefined,
  fetchAndLeaseAlarms: (a) => (a[0] as { hostId?: string })?.hostId ?? "",
  renewAlarmLeases: (a) => (a[0] as { hostId?: string })?.hostId ?? "",
  getLeasedAlarm: () => undefined,
  updateLeasedAlarm: () => undefined,
  deleteLeasedAlarm: () => undefined,
  releaseAlarmLease: () => undefined,
  dispatchJob: () => undefined,
  getJob: () => undefined,
  listJobs: () => undefined,
  cancelJob: () => undefined,
  retryDeadJob: () => undefined,
  deleteDeadJob: () => undefined,
  fetchAndLeaseJobs: (a) => (a[0] as { hostId?: string })?.hostId ?? "",
  renewJobLeases: (a) => (a[0] as { hostId?: string })?.hostId ?? "",
  getLeasedJob: () => undefined,
  completeLeasedJob: () => undefined,
  releaseLeasedJob: () => undefined,
  deadLetterLeasedJob: () => undefined,
};

/** Methods a client-only session may not call: it is never a placement target. */
const HOST_ONLY = new Set([
  "registerHost",
  "heartbeat",
  "setHostDraining",
  "fetchAndLeaseAlarms",
  "renewAlarmLeases",
  "fetchAndLeaseJobs",
  "renewJobLeases",
]);

/**
 * The registry of live sessions and the RPC dispatcher.
 *
 * @example
 * ```ts ignore
 * const sessions = new SessionTable(provider, renew);
 * const answer = await sessions.dispatch(session, body);
 * ```
 */
export class SessionTable {
  readonly #byHost = new Map<string, Set<Session>>();
  readonly #provider: ActorProvider;
  readonly #renew: RenewCertificate;

  readonly #maxHosts: number;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(provider: ActorProvider, renew: RenewCertificate, maxHosts: number) {
    this.#provider = provider;
    this.#renew = renew;
    this.#maxHosts = maxHosts;
  }

  /** Number of connected sessions. */
  get size(): number {
    let n = 0;
    for (const set of this.#byHost.values()) n += set.size;
    return n;
  }

  /** Records a session until its link closes. */
  add(session: Session): void {
    let set = this.#byHost.get(session.hostId);
    if (set === undefined) this.#byHost.set(session.hostId, set = new Set());
    set.add(session);
    session.link.closed.then(() => {
      set!.delete(session);
      if (set!.size === 0 && this.#byHost.get(session.hostId) === set) this.#byHost.delete(session.hostId);
    });
  }

  /** Whether a worker with this host ID is connected here. */
  connected(hostId: string): boolean {
    return this.#byHost.has(hostId);
  }

  /** Every live session's link. */
  links(): PeerLink[] {
    return [...this.#byHost.values()].flatMap((set) => [...set].map((s) => s.link));
  }

  /** Whether a session of `hostId` is connected and (where it can be probed) answers. */
  async #answering(hostId: string): Promise<boolean> {
    const sessions = [...this.#byHost.get(hostId) ?? []];
    const alive = await Promise.all(sessions.map((s) => s.probe?.() ?? true));
    return alive.some((a) => a);
  }

  /** Calls being served. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Tells every session that this runtime is stopping: each worker answers
   * at once, sends nothing new on that session and connects to another
   * replica. Waits for the answers, each for at most `timeoutMs`.
   */
  async sayStopping(timeoutMs: number): Promise<void> {
    const body = encodeRpc({ m: RUNTIME_STOPPING, a: [] });
    await Promise.allSettled(this.links().map((link) => link.request(body, { timeoutMs })));
  }

  /** Resolves `true` once no call is being served, or `false` after `timeoutMs` with calls still running. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.#idle = this.#idle.filter((w) => w !== onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idle.push(onIdle);
    });
  }

  /** Runs one RPC of `session` and encodes the answer. */
  async dispatch(session: Session, body: Uint8Array): Promise<Uint8Array> {
    this.#inFlight++;
    try {
      return await this.#dispatch(session, body);
    } finally {
      if (--this.#inFlight === 0) { for (const wake of this.#idle.splice(0)) wake(); }
    }
  }

  async #dispatch(session: Session, body: Uint8Array): Promise<Uint8Array> {
    const req = decodeRpc(body) as { m?: unknown; a?: unknown };
    if (req === null || typeof req !== "object" || typeof req.m !== "string" || !Array.isArray(req.a)) {
      throw new TypeError("Cannot run runtime request: malformed request");
    }
    const m = req.m as string;
    // JSON has no undefined: an omitted positional argument (e.g. removeActor's hostId) arrives as null.
    const a = (req.a as unknown[]).map((v) => (v === null ? undefined : v));
    if (m === "renewCertificate") {
      const key = session.publicKeySpki;
      if (!(a[0] instanceof Uint8Array) || key === undefined || !timingSafeEqual(a[0], key)) {
        throw new UnauthorizedError("Cannot renew certificate: only the session's own key is renewed");
      }
      return encodeRpc(await this.#renew(session.hostId, key));
    }
    const named = METHODS[m];
    if (named === undefined) throw new TypeError(`Cannot run runtime request: unknown method ${JSON.stringify(m)}`);
    if (session.clientOnly && HOST_ONLY.has(m)) {
      throw new UnauthorizedError(`Cannot ${m}: a client-only host is never registered`);
    }
    const host = named(a);
    if (host !== undefined && host !== session.hostId) {
      throw new UnauthorizedError(`Cannot ${m}: this session is host "${session.hostId}", not "${host}"`);
    }
    if (m === "registerHost") {
      // The runtime's configuration, not the worker's word, sets the identity and the cluster limit.
      Object.assign(a[0] as object, { hostId: session.hostId, maxHosts: this.#maxHosts });
    }
    if (m === "evictHost" && await this.#answering(String(a[0]))) return encodeRpc(false);
    const method = (this.#provider as unknown as Record<string, ProviderMethod>)[m];
    return encodeRpc(await method.apply(this.#provider, a));
  }
}
