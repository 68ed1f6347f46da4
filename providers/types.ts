/**
 * The `ActorProvider` interface: what a host needs from a data store.
 *
 * Payloads are bytes (`Uint8Array`), strings and epoch milliseconds only; the
 * host encodes and decodes values above this interface. Every method is async
 * and every documented failure is a Francis error class, so callers never see
 * driver errors except as the `cause` of a {@linkcode ProviderError}.
 * `docs/PROVIDER.md` explains the contract in prose for third-party authors, and
 * `runProviderSuite` in `./testing` checks it.
 *
 * @module
 */

/** A source of the current time in epoch milliseconds. Tests inject a manual one. */
export interface Clock {
  /** The current time in epoch milliseconds. */
  now(): number;
}

/** One actor type as a host registers it. */
export interface ActorTypeRegistration {
  /** The actor type. */
  actorType: string;
  /** Idle timeout in ms, or `Infinity` for never. Stored with each placement. */
  idleTimeoutMs: number;
  /** Max active actors of this type on the host; 0 means unlimited. */
  concurrencyLimit: number;
}

/** Arguments of {@linkcode ActorProvider.registerHost}. */
export interface RegisterHostRequest {
  /** The address peers dial (`host:port`). Unique among healthy hosts. */
  address: string;
  /** The actor types this host serves (may be empty). */
  actorTypes: readonly ActorTypeRegistration[];
  /** Hosts whose last health check is older than this are dead and are purged first. */
  healthCheckDeadlineMs: number;
}

/** A healthy host as {@linkcode ActorProvider.listHosts} returns it. */
export interface HostRecord {
  hostId: string;
  address: string;
  /** Epoch ms of the last successful health check. */
  lastHealthCheck: number;
  /** Types the host serves, sorted. */
  actorTypes: string[];
}

/** Where an actor is active. */
export interface ActorPlacement {
  hostId: string;
  address: string;
  /** The idle timeout registered for the type on that host (ms, or `Infinity`). */
  idleTimeoutMs: number;
}

/** Arguments of {@linkcode ActorProvider.lookupActor}. */
export interface LookupActorRequest {
  actorType: string;
  actorId: string;
  /** Never create a placement; reject with `ActorNotActiveError` if there is none on a healthy host. */
  activeOnly: boolean;
  /** Hosts whose last health check is older than this are ignored (their placements are replaced). */
  healthCheckDeadlineMs: number;
  /** When given, only these hosts may be chosen for a new placement. */
  allowedHostIds?: readonly string[];
}

/** Arguments of {@linkcode ActorProvider.setState}. */
export interface SetStateRequest {
  actorType: string;
  actorId: string;
  data: Uint8Array;
  /** Expire at now + `ttlMs`; omitted means never (and clears an earlier expiry). */
  ttlMs?: number;
}

/** Arguments of {@linkcode ActorProvider.listStates}. */
export interface ListStatesRequest {
  actorType: string;
  /** Exclusive lower bound on `actorId` (UTF-16 code-unit order). */
  after?: string;
  /** Page size, 1–1000. */
  limit: number;
  /** Whether to return each entry's bytes. */
  includeData: boolean;
}

/** One page of {@linkcode ActorProvider.listStates}. */
export interface StatePage {
  entries: { actorId: string; data?: Uint8Array }[];
  hasMore: boolean;
}

/** The properties of an alarm, as stored. */
export interface AlarmProperties {
  /** Next due time, epoch ms. */
  dueTime: number;
  /** Normalised ISO-8601 interval (e.g. `"PT1M"`); omitted for one-shot alarms. */
  interval?: string;
  /** No occurrence is scheduled after this instant (epoch ms). */
  ttl?: number;
  /** Encoded data; omitted means no data. */
  data?: Uint8Array;
}

/** An alarm's identity plus its properties. */
export interface AlarmRecord extends AlarmProperties {
  actorType: string;
  actorId: string;
  name: string;
}

/** Proof that a host holds an alarm's lease. */
export interface AlarmLease {
  /** Changes whenever the alarm's properties change, which invalidates old leases. */
  alarmId: string;
  /** Random per lease grant. */
  leaseId: string;
  actorType: string;
  actorId: string;
  name: string;
  /** Due time at the moment of leasing, epoch ms. */
  dueTime: number;
}

/** Arguments of {@linkcode ActorProvider.fetchAndLeaseAlarms}. */
export interface FetchAlarmsRequest {
  /** The host that will run the alarms. */
  hostId: string;
  healthCheckDeadlineMs: number;
  /** Take alarms due at or before now + this. */
  fetchAheadMs: number;
  /** At most this many leases per call. */
  batchSize: number;
  /** Leases expire at now + this unless renewed. */
  leaseDurationMs: number;
}

/** Arguments of {@linkcode ActorProvider.renewAlarmLeases}. */
export interface RenewLeasesRequest {
  hostId: string;
  leaseDurationMs: number;
  /** Only these leases; omitted means every valid lease of actors placed on `hostId`. */
  leases?: readonly AlarmLease[];
}

/** Arguments of {@linkcode ActorProvider.cleanup}. */
export interface CleanupRequest {
  healthCheckDeadlineMs: number;
}

/** What {@linkcode ActorProvider.cleanup} removed. */
export interface CleanupResult {
  expiredStates: number;
  deadHosts: number;
}

/**
 * A data store for actor hosts. One object may back several hosts in one
 * process: hosts call {@linkcode acquire} at start and {@linkcode release} at
 * stop, and the provider closes what it opened when the count returns to zero.
 *
 * Error contract, common to every method:
 * - documented conditions throw the named Francis error;
 * - any other store failure throws `ProviderError` with the driver error as
 *   `cause`, and leaves stored data as it was (each method is atomic);
 * - calls before `acquire` or after the final `release` throw `ProviderError`.
 *
 * Times come from the provider's clock (`Clock`), so tests can control them.
 */
export interface ActorProvider {
  /** Short name for logs, e.g. `"sqlite"`. */
  readonly name: string;

  /** Opens and migrates on the first call; counts references. Throws `ProviderError` if the schema is newer than supported. */
  acquire(): Promise<void>;
  /** Drops one reference; on the last, closes connections the provider opened. Idempotent past zero. */
  release(): Promise<void>;

  // -- hosts ---------------------------------------------------------------

  /**
   * Purges dead hosts (cascading their placements and alarm leases), then
   * registers a new host with a fresh ID.
   * Throws `HostAlreadyRegisteredError` if a healthy host has the same address.
   */
  registerHost(req: RegisterHostRequest): Promise<{ hostId: string }>;
  /**
   * Records a health check. Throws `HostUnregisteredError` if the host is
   * unknown or its last check is older than `healthCheckDeadlineMs` (a dead
   * host never revives).
   */
  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void>;
  /** Deletes the host, its types and placements (leases of its actors are cleared). Unknown IDs are ignored. */
  unregisterHost(hostId: string): Promise<void>;
  /** Healthy hosts, sorted by `hostId`. */
  listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]>;

  // -- placement -----------------------------------------------------------

  /**
   * Returns the actor's placement on a healthy host; otherwise (unless
   * `activeOnly`) atomically picks a healthy host that registered the type and
   * is under its `concurrencyLimit`, and records the placement. Concurrent
   * calls for one actor yield one placement.
   *
   * Throws `ActorNotActiveError` (`activeOnly` and not placed on a healthy
   * host), `ActorTypeUnsupportedError` (no healthy host registered the type),
   * `NoHostError` (all such hosts are at their limit, or the placement is on a
   * host outside `allowedHostIds`).
   */
  lookupActor(req: LookupActorRequest): Promise<ActorPlacement>;
  /**
   * Removes the actor's placement and clears the leases of its alarms. With
   * `hostId`, removes it only if it is on that host. Returns whether a row was removed.
   */
  removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean>;

  // -- state ---------------------------------------------------------------

  /** The stored bytes. Throws `StateNotFoundError` if absent or expired. */
  getState(actorType: string, actorId: string): Promise<Uint8Array>;
  /** Creates or replaces the value and its expiry. */
  setState(req: SetStateRequest): Promise<void>;
  /** Deletes the value. Throws `StateNotFoundError` if absent or expired. */
  deleteState(actorType: string, actorId: string): Promise<void>;
  /** Non-expired entries of one type, ascending by `actorId`, after `after`. */
  listStates(req: ListStatesRequest): Promise<StatePage>;

  // -- alarms --------------------------------------------------------------

  /** Throws `AlarmNotFoundError` if there is no such alarm. */
  getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord>;
  /**
   * Creates or replaces an alarm. Identical properties are a no-op (the alarm
   * keeps its `alarmId` and lease); different ones give a new `alarmId` and
   * clear the lease.
   */
  setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void>;
  /** Throws `AlarmNotFoundError` if there is no such alarm. */
  deleteAlarm(actorType: string, actorId: string, name: string): Promise<void>;
  /**
   * Leases up to `batchSize` alarms due by now + `fetchAheadMs`, ordered by due
   * time, whose lease is free or expired, whose type `hostId` serves, and whose
   * actor is unplaced, placed on `hostId`, or placed on a dead host. Unplaced
   * actors are placed on `hostId` (within its `concurrencyLimit`). Concurrent
   * callers never lease one alarm twice. Returns `[]` if `hostId` is not healthy.
   */
  fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]>;
  /** Extends valid leases held for actors placed on `hostId`; returns those renewed (with current due times). */
  renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]>;
  /** The alarm, if `lease` is still valid. Throws `AlarmNotFoundError` otherwise (edited, deleted, lease lost). */
  getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord>;
  /**
   * Moves a leased alarm to `dueTime`. With `keepLease` the lease is extended by
   * `leaseDurationMs`, else it is released. Throws `AlarmNotFoundError` if the lease is invalid.
   */
  updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void>;
  /** Deletes a leased alarm. Throws `AlarmNotFoundError` if the lease is invalid. */
  deleteLeasedAlarm(lease: AlarmLease): Promise<void>;
  /** Releases a lease so any host may fetch the alarm. Throws `AlarmNotFoundError` if the lease is invalid. */
  releaseAlarmLease(lease: AlarmLease): Promise<void>;

  // -- maintenance ---------------------------------------------------------

  /**
   * Deletes expired state and dead hosts. Safe to call from many hosts. The
   * provider also runs this itself every `cleanupIntervalMs` while acquired,
   * using the largest `healthCheckDeadlineMs` it has seen in `registerHost`.
   */
  cleanup(req: CleanupRequest): Promise<CleanupResult>;
}
