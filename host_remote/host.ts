/**
 * `RemoteHost`: a stateless worker (API.md §16). It joins a runtime, which
 * owns placement, state and alarms; actors run here exactly as on a
 * `LocalHost`, and calls between workers go directly over peer links.
 *
 * Inside, a worker is a `LocalHost` whose provider is the runtime session and
 * whose identity (host ID and certificate) the runtime issues.
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
import { HostNotRunningError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";
import { checkSignal } from "../_internal/validate.ts";
import { BUILTIN_ACCESS, type BuiltInAccess, delegatingAccess, registerBuiltIn } from "../host_local/builtin.ts";
import { createInternalHost, type HostState, type LocalHost } from "../host_local/host.ts";
import { ActorRegistry } from "../host_local/registry.ts";
import type { SessionGrant } from "../runtime/protocol.ts";
import { type RemoteHostOptions, type ResolvedRemoteHostOptions, resolveRemoteHostOptions } from "./options.ts";
import { RemoteProvider } from "./remote_provider.ts";
import { RuntimeSession } from "./session.ts";

/** API.md §9.4's `alarmExecutionTimeoutMs`, for a runtime whose grant does not carry it. */
const DEFAULT_EXECUTION_TIMEOUT_MS = 60_000;

/**
 * A worker host of the remote topology.
 *
 * @example
 * ```ts ignore
 * import { RemoteHost } from "jsr:@francis/core";
 * const host = new RemoteHost({
 *   address: "127.0.0.1:7571",
 *   runtimeAddresses: ["127.0.0.1:7400"],
 *   bootstrap: { psk: Deno.env.get("FRANCIS_HOST_PSK")! },
 *   pinnedCa: await Deno.readTextFile("./cluster-ca.pem"),
 * });
 * host.registerActor("counter", () => ({ invoke: () => 1 }));
 * await host.start();
 * ```
 */
export class RemoteHost implements AsyncDisposable {
  readonly #o: ResolvedRemoteHostOptions;
  readonly #registry = new ActorRegistry();
  /** Replayed on each inner host (at start and after an identity reset). */
  readonly #registrations: ((inner: LocalHost) => void)[] = [];
  #state: HostState = "new";
  #session: RuntimeSession | undefined;
  #inner: LocalHost | undefined;
  #stopping: Promise<void> | undefined;
  #resetting: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #rejectClosed!: (err: unknown) => void;
  readonly #service: ActorService;

  /** @param options See {@linkcode RemoteHostOptions}; validated here. */
  constructor(options: RemoteHostOptions) {
    this.#o = resolveRemoteHostOptions(options);
    this.#closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#closed.catch(() => {});
    this.#service = serviceProxy(
      () => this.#inner?.service,
      delegatingAccess(this.#o.codec, () => this.#inner?.service),
    );
  }

  /** The host ID the runtime issued; `""` until started. It changes after an identity reset (§16.3). */
  get hostId(): string {
    return this.#inner?.hostId ?? "";
  }
  /** The bound `host:port`; `""` for client-only hosts and before start. */
  get address(): string {
    return this.#o.clientOnly ? "" : this.#inner?.address ?? "";
  }
  /** What peers dial. */
  get advertiseAddress(): string {
    return this.#o.clientOnly ? "" : this.#inner?.advertiseAddress ?? "";
  }
  /** The lifecycle state. */
  get state(): HostState {
    return this.#state;
  }
  /** The actor service. */
  get service(): ActorService {
    return this.#service;
  }
  /** Resolves after `stop()`; rejects if the host fails to start or stops by itself. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Registers an actor type (before `start()`; never on a client-only host). */
  registerActor(actorType: string, factory: ActorFactory, options?: RegisterActorOptions): void {
    this.#canRegister("register actor");
    this.#registry.register(actorType, factory, options); // validates now, as LocalHost does
    this.#registrations.push((inner) => inner.registerActor(actorType, factory, options));
  }

  /** Registers a singleton actor type (API.md §13); see `LocalHost.registerSingletonActor`. */
  registerSingletonActor(actorType: string, factory: ActorFactory, options?: RegisterSingletonOptions): void {
    this.#canRegister("register actor");
    this.#registry.registerSingleton(actorType, factory, options, this.#o.codec); // validates now
    this.#registrations.push((inner) => inner.registerSingletonActor(actorType, factory, options));
  }

  /** Registers a built-in actor (API.md §21); see `LocalHost.registerBuiltInActor`. */
  registerBuiltInActor(builtIn: BuiltInActor): void {
    this.#canRegister("register built-in actor");
    registerBuiltIn(this.#registry, builtIn, this.#o.codec);
    this.#registrations.push((inner) => inner.registerBuiltInActor(builtIn));
  }

  #canRegister(action: string): void {
    if (this.#o.clientOnly) throw new TypeError(`Cannot ${action}: a client-only host serves no actors`);
    if (this.#state !== "new") throw new TypeError(`Cannot ${action}: the host has already started`);
  }

  /** Joins the runtime and starts serving. */
  start(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new TypeError("Cannot start host: start() was already called"));
    let signal: AbortSignal | undefined;
    try {
      signal = checkSignal(options?.signal, "start host");
    } catch (err) {
      return Promise.reject(err);
    }
    this.#state = "starting";
    return this.#start(signal);
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    const o = this.#o;
    if (o.pinnedCa === undefined) o.logger.warn("RemoteHost trusts the runtime on first use (unsafeNoPinnedCa)");
    const session = new RuntimeSession({
      runtimeAddresses: o.runtimeAddresses,
      bootstrap: o.bootstrap,
      pinnedCa: o.pinnedCa,
      transport: o.transport,
      runtimeCertificateHashes: o.runtimeCertificateHashes,
      clientOnly: o.clientOnly,
      requestTimeoutMs: o.requestTimeoutMs,
      maxInFlightRequests: o.maxInFlightRequests,
      logger: o.logger,
    });
    this.#session = session;
    try {
      const grant = await session.open(signal);
      session.onIdentityChange = () => this.#reset(new Error("the runtime issued a new identity"));
      this.#inner = this.#build(grant);
      await this.#inner.start({ signal });
      this.#state = "running";
    } catch (err) {
      await this.#inner?.stop().catch(() => {});
      await session.close().catch(() => {});
      this.#state = "failed";
      this.#rejectClosed(err);
      throw err;
    }
  }

  #build(grant: SessionGrant): LocalHost {
    const o = this.#o;
    const s = grant.settings;
    const inner = createInternalHost({
      address: o.address ?? "127.0.0.1:0",
      ...(o.advertiseAddress === undefined ? {} : { advertiseAddress: o.advertiseAddress }),
      // Never used: a worker's identity and link keys come from the runtime.
      runtimePsks: [crypto.getRandomValues(new Uint8Array(32))],
      provider: new RemoteProvider(this.#session!),
      codec: o.codec,
      logger: o.logger,
      healthCheckDeadlineMs: s.healthCheckDeadlineMs,
      alarmsPollIntervalMs: s.alarmsPollIntervalMs,
      alarmsLeaseDurationMs: s.alarmsLeaseDurationMs,
      alarmsFetchAheadMs: s.alarmsFetchAheadMs,
      alarmsFetchBatchSize: s.alarmsFetchBatchSize,
      shutdownGracePeriodMs: o.shutdownGracePeriodMs,
      requestTimeoutMs: o.requestTimeoutMs,
      maxInFlightRequests: o.maxInFlightRequests,
      maxRequestBodySizeBytes: o.maxRequestBodySizeBytes,
      maxHosts: s.maxHosts,
    }, {
      hostId: grant.hostId,
      credentials: () => this.#session!.credentials(),
      clientOnly: o.clientOnly,
      executionTimeoutMs: s.alarmExecutionTimeoutMs ?? DEFAULT_EXECUTION_TIMEOUT_MS,
      onFatal: (err) => {
        this.#reset(err);
        return false; // a worker does not stop: it gets a new identity (§16.3)
      },
    });
    for (const register of this.#registrations) register(inner);
    return inner;
  }

  /**
   * Identity reset (API.md §16.3): the old registration is gone, so every
   * local actor is abandoned (halted; its late writes are fenced), the worker
   * joins again with a new host ID, and serves on.
   */
  #reset(reason: Error): void {
    if (this.#resetting !== undefined || this.#stopping !== undefined) return;
    this.#o.logger.warn("RemoteHost lost its registration; joining again with a new identity", {
      err: errorMessage(reason),
    });
    this.#resetting = (async () => {
      const old = this.#inner;
      this.#inner = undefined;
      await old?.stop().catch(() => {});
      if (this.#stopping !== undefined) return;
      const grant = old !== undefined && this.#session!.grant.hostId === old.hostId
        ? await this.#session!.rebootstrap()
        : this.#session!.grant;
      const inner = this.#build(grant);
      this.#inner = inner;
      await inner.start();
    })().catch((err) => {
      this.#o.logger.error("RemoteHost cannot rejoin; stopping", { err: errorMessage(err) });
      this.#stop(err);
    }).finally(() => this.#resetting = undefined);
  }

  /** Stops serving, unregisters and closes the runtime session. Idempotent. */
  stop(): Promise<void> {
    return this.#stop(undefined);
  }

  #stop(fatal: unknown): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === "new") {
        this.#state = "stopped";
        this.#resolveClosed();
        return;
      }
      this.#state = "stopping";
      await this.#resetting;
      await this.#inner?.stop().catch(() => {});
      await this.#session?.close().catch(() => {});
      this.#state = "stopped";
      if (fatal === undefined) this.#resolveClosed();
      else this.#rejectClosed(fatal);
    })();
    return this.#stopping;
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * A service that forwards to the running inner host, or rejects with
 * `HostNotRunningError`. Built-ins reach the inner host through `access`,
 * which outlives identity resets.
 */
function serviceProxy(current: () => ActorService | undefined, access: BuiltInAccess): ActorService {
  return new Proxy({} as ActorService, {
    get(_target, prop) {
      if (prop === BUILTIN_ACCESS) return access;
      const service = current();
      if (service !== undefined) {
        const value = (service as unknown as Record<PropertyKey, unknown>)[prop];
        return typeof value === "function" ? value.bind(service) : value;
      }
      if (prop === "client") {
        return () => {
          throw new HostNotRunningError("Cannot create client: the host is not running");
        };
      }
      return () => Promise.reject(new HostNotRunningError(`Cannot ${String(prop)}: the host is not running`));
    },
  });
}
