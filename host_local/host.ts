/**
 * `LocalHost`: the embedded topology. The host owns its provider connection,
 * runs its actors, alarms and health checks, and (with peer links) forwards
 * calls to the other hosts sharing the store.
 *
 * @module
 */

import type {
  ActorFactory,
  ActorService,
  BuiltInActor,
  RegisterActorOptions,
  RegisterSingletonOptions,
} from "../actor/types.ts";
import { DeadlineExceededError } from "../errors.ts";
import { formatAddress } from "../_internal/address.ts";
import { withTimeout } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import { checkSignal } from "../_internal/validate.ts";
import { actorKey, ActorTable } from "./actor_table.ts";
import { AlarmScheduler } from "./alarm_scheduler.ts";
import { JobScheduler } from "./job_scheduler.ts";
import { HealthLoop } from "./health.ts";
import { Invoker } from "./invoker.ts";
import { type LocalHostOptions, type ResolvedLocalHostOptions, resolveLocalHostOptions } from "./options.ts";
import { PlacementCache } from "./placement_cache.ts";
import { ActorRegistry } from "./registry.ts";
import { LocalActorService } from "./service.ts";
import { PeerPool } from "./peer_pool.ts";
import { decodePeerInvoke } from "./peer_protocol.ts";
import { StreamInvoker } from "./stream_invoker.ts";
import { StreamSessions } from "./stream_serve.ts";
import { decodeStreamMessage, STREAM_VERSION } from "./stream_protocol.ts";
import type { PeerLinks, TimedCredentials } from "./peer_links.ts";
import { registerBuiltIn } from "./builtin.ts";
import { bootstrapSingletons } from "./singletons.ts";

/**
 * Hooks that run a host on something other than its own PSK-derived identity:
 * a `RemoteHost` gets its host ID and certificate from the runtime. Internal:
 * not exported from the package entry points.
 */
export interface HostInternals {
  /** The host ID (the identity of the certificate `credentials` returns). */
  hostId: string;
  /** Issues or renews this host's link credentials. */
  credentials(): Promise<TimedCredentials>;
  /** A client-only host: no listener, no registration, never chosen for placement. */
  clientOnly: boolean;
  /** Called instead of stopping when the host would stop by itself; return `true` to stop anyway. */
  onFatal?(err: Error): boolean;
  /** The runtime's `alarmExecutionTimeoutMs`: alarm and job runs longer than this fail their attempt. */
  executionTimeoutMs?: number;
}

let pendingInternals: HostInternals | undefined;

/**
 * Creates a `LocalHost` driven by `internals` (used by `RemoteHost`).
 *
 * @example
 * ```ts ignore
 * const inner = createInternalHost(options, { hostId, credentials: () => renew(), clientOnly: false });
 * ```
 */
export function createInternalHost(options: LocalHostOptions, internals: HostInternals): LocalHost {
  pendingInternals = internals;
  try {
    return new LocalHost(options);
  } finally {
    pendingInternals = undefined;
  }
}

/** The lifecycle states of a host. */
export type HostState = "new" | "starting" | "running" | "stopping" | "stopped" | "failed";

/**
 * A host that embeds its own data store connection.
 *
 * @example Counter on SQLite
 * ```ts
 * import { LocalHost } from "./host.ts";
 * import { createMemoryProvider } from "../providers/memory/mod.ts";
 *
 * const host = new LocalHost({
 *   address: "127.0.0.1:0",
 *   runtimePsks: ["an example pre-shared key, 32+ bytes long"],
 *   provider: createMemoryProvider(),
 * });
 * host.registerActor("counter", () => {
 *   let n = 0;
 *   return { invoke: () => ++n };
 * });
 * await host.start();
 * console.log(await host.service.invoke("counter", "c1", "increment")); // 1
 * await host.stop();
 * ```
 */
export class LocalHost implements AsyncDisposable {
  readonly #o: ResolvedLocalHostOptions;
  readonly #registry = new ActorRegistry();
  readonly #table: ActorTable;
  readonly #service: LocalActorService;
  readonly #scheduler: AlarmScheduler;
  readonly #jobs: JobScheduler;
  readonly #health: HealthLoop;
  #state: HostState = "new";
  #hostId = "";
  #address = "";
  #advertise = "";
  #links: PeerLinks | undefined;
  #unsubscribeAlarms: (() => void) | undefined;
  readonly #pool: PeerPool;
  readonly #invoker: Invoker;
  readonly #streamSessions: StreamSessions;
  #acquired = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #draining = false;
  readonly #bootstrapStop = new AbortController();
  #bootstrapping: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #rejectClosed!: (err: unknown) => void;
  readonly #internals: HostInternals | undefined = pendingInternals;

  /**
   * @param options See {@linkcode LocalHostOptions}; validated here, throwing
   * `TypeError`/`RangeError` with a `Cannot create LocalHost: …` message.
   */
  constructor(options: LocalHostOptions) {
    this.#o = resolveLocalHostOptions(options);
    const o = this.#o;
    this.#closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#closed.catch(() => {});
    const removePlacement = async (actorType: string, actorId: string) => {
      cache.delete(actorKey(actorType, actorId));
      if (this.#acquired) await o.provider.removeActor(actorType, actorId, this.#hostId);
    };
    const cache = new PlacementCache();
    // The table needs the service (factory argument) and the service needs the table: wire through a holder.
    const holder: { service?: ActorService } = {};
    this.#table = new ActorTable({
      get service() {
        return holder.service!;
      },
      logger: o.logger,
      shutdownGracePeriodMs: o.shutdownGracePeriodMs,
      removePlacement,
    });
    const common = {
      provider: o.provider,
      table: this.#table,
      registry: this.#registry,
      codec: o.codec,
      hostId: () => this.#hostId,
      draining: () => this.#draining,
      healthCheckDeadlineMs: o.healthCheckDeadlineMs,
      executionTimeoutMs: this.#internals?.executionTimeoutMs,
    };
    this.#pool = new PeerPool({
      dialTimeoutMs: o.requestTimeoutMs,
      window: o.maxInFlightRequests,
      onUnreachable: (hostId, reason) => this.#evict(hostId, reason, cache),
    });
    const invoker = new Invoker({ ...common, cache, peers: this.#pool });
    this.#invoker = invoker;
    const streams = new StreamInvoker({
      invoker,
      table: this.#table,
      peers: this.#pool,
      cache,
      maxRequestBodySizeBytes: o.maxRequestBodySizeBytes,
      running: () => this.#state === "running" || this.#state === "stopping",
    });
    this.#streamSessions = new StreamSessions({
      invoker,
      table: this.#table,
      admit: (msg) => invoker.admit(msg),
      maxRequestBodySizeBytes: o.maxRequestBodySizeBytes,
    });
    const scheduling = {
      ...common,
      logger: o.logger,
      pollIntervalMs: o.alarmsPollIntervalMs,
      fetchAheadMs: o.alarmsFetchAheadMs,
      batchSize: o.alarmsFetchBatchSize,
      leaseDurationMs: o.alarmsLeaseDurationMs,
    };
    this.#scheduler = new AlarmScheduler(scheduling);
    this.#jobs = new JobScheduler(scheduling);
    this.#service = new LocalActorService({
      running: () => this.#state === "running" || this.#state === "stopping",
      codec: o.codec,
      provider: o.provider,
      invoker,
      streams,
      table: this.#table,
      logger: o.logger,
      alarmSet: (due) => this.#scheduler.alarmSet(due),
      jobDispatched: (due) => this.#jobs.jobDispatched(due),
      hostId: () => this.#hostId,
    });
    holder.service = this.#service;
    this.#health = new HealthLoop(
      o.healthCheckDeadlineMs,
      () => o.provider.heartbeat(this.#hostId, o.healthCheckDeadlineMs),
      (err) => this.#fatal(err),
      o.logger,
    );
  }

  /** The host's ID; `""` until started. */
  get hostId(): string {
    return this.#hostId;
  }
  /** The bound `host:port` after start (port 0 resolved). */
  get address(): string {
    return this.#address;
  }
  /** What peers dial. */
  get advertiseAddress(): string {
    return this.#advertise;
  }
  /** The lifecycle state. */
  get state(): HostState {
    return this.#state;
  }
  /** The actor service; usable while the host runs. */
  get service(): ActorService {
    return this.#service;
  }
  /** Resolves after `stop()`; rejects with the fatal error if the host stops by itself or fails to start. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Registers an actor type. Throws `TypeError` for a bad or reserved type, a
   * duplicate, or a call after `start()`; `RangeError` for an option out of range.
   */
  registerActor(actorType: string, factory: ActorFactory, options?: RegisterActorOptions): void {
    if (this.#state !== "new") throw new TypeError("Cannot register actor: the host has already started");
    this.#registry.register(actorType, factory, options);
  }

  /**
   * Registers a singleton actor type (API.md §13): after `start()` resolves,
   * `bootstrap(bootstrapData, ctx)` runs on `(actorType, SINGLETON_ACTOR_ID)`.
   * Throws like {@linkcode registerActor}, and `TypeError` if `bootstrapData`
   * cannot be encoded.
   *
   * @example
   * ```ts ignore
   * host.registerSingletonActor("leader", () => ({ bootstrap: (data) => console.log(data) }), { bootstrapData: 1 });
   * ```
   */
  registerSingletonActor(actorType: string, factory: ActorFactory, options?: RegisterSingletonOptions): void {
    if (this.#state !== "new") throw new TypeError("Cannot register actor: the host has already started");
    this.#registry.registerSingleton(actorType, factory, options, this.#o.codec);
  }

  /**
   * Registers a built-in actor (API.md §21), e.g. from `createRateLimit`.
   * Throws `TypeError` if the same kind and name is already registered here,
   * or after `start()`.
   *
   * @example
   * ```ts ignore
   * host.registerBuiltInActor(createSignal("deploys"));
   * ```
   */
  registerBuiltInActor(builtIn: BuiltInActor): void {
    if (this.#state !== "new") throw new TypeError("Cannot register built-in actor: the host has already started");
    registerBuiltIn(this.#registry, builtIn, this.#o.codec);
  }

  /**
   * Starts the host: opens and migrates the store, binds the address, registers
   * the host, then starts alarms and health checks. May be called once.
   */
  start(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new TypeError("Cannot start host: start() was already called"));
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(options?.signal, "start host");
    } catch (err) {
      return Promise.reject(err);
    }
    this.#state = "starting";
    this.#registry.seal();
    this.#starting = this.#start(signal);
    return this.#starting;
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    const o = this.#o;
    // Each step checks the signal before it starts, so nothing is opened after an abort.
    const step = <T>(what: string, run: () => Promise<T>): Promise<T> => {
      signal?.throwIfAborted();
      return withTimeout(
        run(),
        o.requestTimeoutMs,
        () =>
          new DeadlineExceededError(`Cannot start host: ${what} exceeded requestTimeoutMs (${o.requestTimeoutMs} ms)`),
      );
    };
    try {
      await step("opening the provider", () => o.provider.acquire());
      this.#acquired = true;
      // A local host picks its own ID: its certificate names it before it can register.
      const internals = this.#internals;
      const hostId = internals?.hostId ?? crypto.randomUUID();
      const { PeerLinks, LOCAL_LEAF_TTL_MS } = await import("./peer_links.ts");
      const credentials = internals?.credentials ?? (async () => {
        const { createHostCredentials } = await import("../security/credentials.ts");
        return await createHostCredentials(o.runtimePsks, hostId, { ttlMs: LOCAL_LEAF_TTL_MS });
      });
      const clientOnly = internals?.clientOnly === true;
      this.#links = await step("issuing the host certificate and binding the address", () =>
        PeerLinks.open({
          credentials,
          hostId,
          listen: clientOnly ? undefined : { host: o.host, port: o.port },
          maxInFlightRequests: o.maxInFlightRequests,
          keepaliveMs: o.requestTimeoutMs,
          logger: o.logger,
          serve: (body, signal) =>
            body[0] === STREAM_VERSION
              ? this.#streamSessions.handle(decodeStreamMessage(body), signal)
              : this.#invoker.serve(decodePeerInvoke(body), signal),
          onLink: (link) => this.#pool.adopt(link),
        }));
      this.#pool.attach(this.#links.transport);
      this.#address = formatAddress(o.host, this.#links.port);
      this.#advertise = o.advertiseAddress ?? this.#address;
      this.#hostId = hostId; // before registering: a timed-out registration is still undone below
      if (!clientOnly) {
        await step(
          "registering the host",
          () =>
            o.provider.registerHost({
              hostId,
              address: this.#advertise,
              maxHosts: o.maxHosts,
              healthCheckDeadlineMs: o.healthCheckDeadlineMs,
              actorTypes: this.#registry.entries().map((e) => ({
                actorType: e.actorType,
                idleTimeoutMs: e.options.idleTimeoutMs,
                concurrencyLimit: e.options.concurrencyLimit,
              })),
            }),
        );
      }
      signal?.throwIfAborted();
      this.#state = "running";
      // Alarms set by other processes (PostgreSQL: LISTEN/NOTIFY) are fetched at once instead of at the next poll.
      const offAlarms = o.provider.onAlarmSet?.((due) => this.#scheduler.alarmSet(due));
      const offJobs = o.provider.onJobDispatched?.((due) => this.#jobs.jobDispatched(due));
      this.#unsubscribeAlarms = () => {
        offAlarms?.();
        offJobs?.();
      };
      if (!clientOnly) {
        this.#scheduler.start();
        this.#jobs.start();
        this.#health.start();
        // Not awaited: start() resolves first (API.md §13); stop() aborts and awaits it.
        const invoker = this.#invoker;
        this.#bootstrapping = bootstrapSingletons(this.#registry.singletons(), {
          invoke: (req) => invoker.invoke(req),
          requestTimeoutMs: o.requestTimeoutMs,
          logger: o.logger,
        }, this.#bootstrapStop.signal);
      }
    } catch (err) {
      if (this.#hostId !== "") {
        // Registered before the failure: leave no registration behind to block a retry on the same address.
        await o.provider.unregisterHost(this.#hostId).catch(() => {});
      }
      await this.#cleanup();
      this.#state = "failed";
      this.#rejectClosed(err);
      throw err;
    }
  }

  /**
   * Stops the host: drains, halts every actor (running `deactivate`), waits
   * for running alarms, unregisters and releases the provider. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#stop(undefined);
    return this.#stopping;
  }

  async #stop(fatal: Error | undefined): Promise<void> {
    if (this.#state === "new") {
      this.#state = "stopped";
      this.#resolveClosed();
      return;
    }
    await this.#starting?.catch(() => {});
    if (this.#state === "failed" || this.#state === "stopped") return;
    this.#state = "stopping";
    this.#draining = true;
    this.#bootstrapStop.abort(new Error("the host is stopping"));
    if (fatal === undefined) {
      // Peers stop placing actors here; calls to actors still active are served until they halt.
      await this.#o.provider.setHostDraining(this.#hostId).catch((err) =>
        this.#o.logger.warn("Cannot mark host draining", { err: errorMessage(err) })
      );
    }
    // Halt until the table is empty: an alarm run may have activated an actor after the first snapshot.
    while (this.#table.size > 0) {
      await Promise.allSettled(this.#table.all().map((act) => this.#table.halt(act)));
    }
    await this.#bootstrapping;
    const grace = this.#o.shutdownGracePeriodMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([this.#scheduler.stop(), this.#jobs.stop()]),
      new Promise<void>((resolve) => timer = setTimeout(resolve, grace)),
    ]);
    clearTimeout(timer);
    await this.#health.stop();
    if (fatal === undefined) {
      await this.#o.provider.unregisterHost(this.#hostId).catch((err) =>
        this.#o.logger.warn("Cannot unregister host", { err: errorMessage(err) })
      );
    }
    await this.#cleanup();
    this.#state = "stopped";
    if (fatal === undefined) this.#resolveClosed();
    else this.#rejectClosed(fatal);
  }

  #fatal(err: Error): void {
    if (this.#internals?.onFatal !== undefined && !this.#internals.onFatal(err)) return;
    this.#o.logger.error("Host is stopping by itself", { err: errorMessage(err) });
    if (this.#stopping) return;
    this.#stopping = this.#stop(err);
  }

  /** A peer's port refused connections (or another host answers there): ask the store to evict it. */
  async #evict(hostId: string, reason: "refused" | "replaced", cache: PlacementCache): Promise<void> {
    if (!this.#acquired) return;
    const removed = await this.#o.provider.evictHost(hostId);
    if (removed) {
      cache.deleteHost(hostId);
      this.#o.logger.warn("Evicted an unreachable peer host", { hostId, reason });
    }
  }

  async #cleanup(): Promise<void> {
    this.#unsubscribeAlarms?.();
    this.#unsubscribeAlarms = undefined;
    this.#pool.close();
    await this.#links?.close();
    this.#links = undefined;
    if (this.#acquired) {
      this.#acquired = false;
      await this.#o.provider.release().catch((err) =>
        this.#o.logger.warn("Cannot release provider", { err: errorMessage(err) })
      );
    }
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
