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
 * Three definitions used throughout, all against `now` from the provider's
 * {@linkcode Clock}:
 * - a host is healthy while `now - lastHealthCheck <= healthCheckDeadlineMs`,
 *   and dead once that difference is larger;
 * - a state TTL, alarm lease or job lease granted for `ms` ends at the instant
 *   `expiresAt = now + ms`: it is invalid when `now >= expiresAt`;
 * - an actor ID order is UTF-16 code-unit order (JavaScript `<` on strings).
 *
 * @module
 */

/** A source of the current time in epoch milliseconds. Tests inject a manual one. */
export interface Clock {
  /** The current time in epoch milliseconds. The provider's only source of time. */
  now(): number;
}

/** One actor type as a host registers it. */
export interface ActorTypeRegistration {
  /** The actor type. */
  actorType: string;
  /** Idle timeout: integer ms ≥ 1, or `Infinity` for never. Stored with each placement. */
  idleTimeoutMs: number;
  /** Max actors of this type placed on the host: integer 0 … 2147483647; 0 means unlimited. */
  concurrencyLimit: number;
}

/** Arguments of {@linkcode ActorProvider.registerHost}. */
export interface RegisterHostRequest {
  /**
   * The ID the host chose for itself (its certificate identity is made before
   * it registers). 1–128 characters of `[A-Za-z0-9_-]`, else `TypeError`. An
   * ID already registered, healthy or dead, rejects with
   * `HostAlreadyRegisteredError`. Omitted: the provider generates one.
   */
  hostId?: string;
  /** The address peers dial (`host:port`). Unique among healthy hosts. */
  /**
   * The cluster's host limit, integer ≥ 0 (0 or omitted: unlimited). Checked
   * atomically with the insert, after the purge: a healthy host registered
   * with another value rejects with `MaxHostsMismatchError`; with a positive
   * value and that many healthy hosts already registered, `ClusterFullError`.
   */
  maxHosts?: number;
  address: string;
  /** The actor types this host serves (may be empty; a type listed twice is a `TypeError`). */
  actorTypes: readonly ActorTypeRegistration[];
  /**
   * Integer ms ≥ 1. A host is healthy while `now - lastHealthCheck <=` this;
   * hosts dead by this measure are purged before the new host is added.
   */
  healthCheckDeadlineMs: number;
}

/** A healthy host as {@linkcode ActorProvider.listHosts} returns it. */
export interface HostRecord {
  /** The ID `registerHost` returned. */
  hostId: string;
  /** The registered address. */
  address: string;
  /** Epoch ms of the last successful health check (registration counts as one). */
  lastHealthCheck: number;
  /** Types the host serves, sorted. */
  actorTypes: string[];
}

/** Where an actor is active. */
export interface ActorPlacement {
  /** The host the actor is placed on. */
  hostId: string;
  /** That host's registered address. */
  address: string;
  /** The idle timeout registered for the type on that host (ms, or `Infinity`). */
  idleTimeoutMs: number;
}

/** Arguments of {@linkcode ActorProvider.lookupActor}. */
export interface LookupActorRequest {
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /**
   * Never create a placement: reject with `ActorNotActiveError` if there is
   * none on a healthy host, with no side effect.
   */
  activeOnly: boolean;
  /** Integer ms ≥ 1. Placements on hosts dead by this measure are ignored, and replaced unless `activeOnly`. */
  healthCheckDeadlineMs: number;
  /**
   * When given, only these hosts may be chosen for a new placement, and an
   * existing placement on a healthy host outside the list is a `NoHostError`
   * (with `activeOnly` too). An empty list allows no host.
   */
  allowedHostIds?: readonly string[];
}

/** Arguments of {@linkcode ActorProvider.setState}. */
export interface SetStateRequest {
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** The value; may be empty (an empty value is still a value). */
  data: Uint8Array;
  /**
   * Integer ms ≥ 1. The value expires at the instant `now + ttlMs`. Omitted
   * means never, and clears an earlier expiry.
   */
  ttlMs?: number;
  /**
   * Fencing: when given, the write succeeds only while the actor is placed
   * on this host (the placement row names it); otherwise it rejects with
   * `PlacementLostError` and stored data is unchanged. Checked atomically with the write.
   */
  fenceHostId?: string;
}

/** Options of {@linkcode ActorProvider.deleteState}. */
export interface DeleteStateOptions {
  /** Fencing, as {@linkcode SetStateRequest.fenceHostId}. */
  fenceHostId?: string;
}

/** Arguments of {@linkcode ActorProvider.listStates}. */
export interface ListStatesRequest {
  /** The actor type to list. */
  actorType: string;
  /** Exclusive lower bound on `actorId` (UTF-16 code-unit order); need not exist. */
  after?: string;
  /** Page size: an integer from 1 to 1000, else `RangeError`. */
  limit: number;
  /** Whether to return each entry's bytes. */
  includeData: boolean;
}

/** One page of {@linkcode ActorProvider.listStates}. */
export interface StatePage {
  /** Non-expired entries in UTF-16 code-unit order of `actorId`; `data` only with `includeData`. */
  entries: { actorId: string; data?: Uint8Array }[];
  /** Whether at least one more non-expired entry follows the page. */
  hasMore: boolean;
}

/** The properties of an alarm, as stored. Absent properties are omitted, never `null`. */
export interface AlarmProperties {
  /** Next due time, epoch ms. */
  dueTime: number;
  /** Normalised ISO-8601 interval (e.g. `"PT1M"`), stored as given; omitted for one-shot alarms. */
  interval?: string;
  /** No occurrence is scheduled after this instant (epoch ms). Stored as given; the provider never purges by it. */
  ttl?: number;
  /** Encoded data; omitted means no data. Empty bytes are stored as no data. */
  data?: Uint8Array;
}

/** An alarm's identity plus its properties. */
export interface AlarmRecord extends AlarmProperties {
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** The alarm name, unique per actor. */
  name: string;
}

/** Proof that a host holds an alarm's lease. */
export interface AlarmLease {
  /**
   * Changes only when `setAlarm` changes the alarm's properties, which
   * invalidates old leases. Renewing or moving a lease keeps it.
   */
  alarmId: string;
  /** Random per lease grant; renewal and `updateLeasedAlarm` with `keepLease` keep it. */
  leaseId: string;
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** The alarm name. */
  name: string;
  /** Due time when the lease was granted or last renewed, epoch ms. */
  dueTime: number;
}

/** Arguments of {@linkcode ActorProvider.fetchAndLeaseAlarms}. */
export interface FetchAlarmsRequest {
  /** The host that will run the alarms. */
  hostId: string;
  /** Integer ms ≥ 1: judges the fetching host and the hosts of placed actors. */
  healthCheckDeadlineMs: number;
  /** Integer ms ≥ 0. Take alarms due at or before `now + fetchAheadMs`. */
  fetchAheadMs: number;
  /** Integer ≥ 1. At most this many leases per call. */
  batchSize: number;
  /** Integer ms ≥ 1. Leases end at the instant `now + leaseDurationMs` unless renewed. */
  leaseDurationMs: number;
}

/** Arguments of {@linkcode ActorProvider.renewAlarmLeases}. */
export interface RenewLeasesRequest {
  /** The host whose placed actors' leases are renewed. Its health is not checked. */
  hostId: string;
  /** Integer ms ≥ 1. Renewed leases end at `now + leaseDurationMs`. */
  leaseDurationMs: number;
  /**
   * Only these leases (invalid or foreign ones are skipped); omitted means
   * every valid lease of actors placed on `hostId`.
   */
  leases?: readonly AlarmLease[];
}

/**
 * Where a job is: `pending` (waiting for its due time or a host), `active`
 * (it holds a valid lease: a host is executing it) or `dead-lettered` (in the
 * dead-letter store after its attempts ran out).
 */
export type JobStatus = "pending" | "active" | "dead-lettered";

/**
 * A job as {@linkcode ActorProvider.getJob} and {@linkcode ActorProvider.listJobs}
 * return it, live or dead-lettered. Absent properties are omitted, never `null`.
 */
export interface JobRecord {
  /** The job's ID, unique across live jobs and dead records. */
  jobId: string;
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** The job method passed to the actor's `job` handler. */
  method: string;
  /** `active` while a valid lease is held (judged at `now`); `dead-lettered` for a dead record. */
  status: JobStatus;
  /** Next due time (epoch ms); for a dead record, the due time of the failed occurrence. */
  dueTime: number;
  /** Normalised ISO-8601 interval of a repeating job, stored as given (opaque to the provider). */
  interval?: string;
  /** Cron expression of a repeating job, stored as given (opaque to the provider). */
  cron?: string;
  /** No occurrence is scheduled after this instant (epoch ms). Stored as given; never purged by. */
  ttl?: number;
  /** The idempotency key the job was dispatched with; unique among the actor's live jobs. */
  idempotencyKey?: string;
  /** Dispatch time (epoch ms), kept by dead records (for a repeating job: when the job was dispatched). */
  createdAt: number;
  /** Encoded input; omitted means none. Empty bytes are stored as none. */
  data?: Uint8Array;
  /** Runs made; 0 for live jobs (retry counters live in the host's memory). */
  attempts: number;
  /** The last error message; dead records only. */
  lastError?: string;
  /** When the job was dead-lettered (epoch ms); dead records only. */
  failedAt?: number;
}

/** Arguments of {@linkcode ActorProvider.dispatchJob}. */
export interface DispatchJobRequest {
  /** A new, globally unique, non-empty ID chosen by the caller (the host uses UUIDv7). */
  jobId: string;
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** The job method. */
  method: string;
  /** Encoded input; omitted or empty means none. */
  data?: Uint8Array;
  /** First due time, epoch ms. */
  dueTime: number;
  /** Repeat interval (opaque string); exclusive with `cron`. */
  interval?: string;
  /** Cron expression (opaque string); exclusive with `interval`. */
  cron?: string;
  /** Stored as given (epoch ms). */
  ttl?: number;
  /** When given, at most one live job of the actor holds this key. */
  idempotencyKey?: string;
  /** Dispatch time, epoch ms (the host derives it from the UUIDv7 `jobId`). */
  createdAt: number;
}

/** Proof that a host holds a job's lease. */
export interface JobLease {
  /** The job ID; it never changes while the job is live. */
  jobId: string;
  /** Random per lease grant; renewal keeps it. */
  leaseId: string;
  /** The actor type. */
  actorType: string;
  /** The actor ID. */
  actorId: string;
  /** Due time when the lease was granted or last renewed, epoch ms. */
  dueTime: number;
}

/** Arguments of {@linkcode ActorProvider.renewJobLeases}: as for alarms, with job leases. */
export type RenewJobLeasesRequest = Omit<RenewLeasesRequest, "leases"> & {
  /**
   * Only these leases (invalid or foreign ones are skipped); omitted means
   * every valid job lease of actors placed on `hostId`.
   */
  leases?: readonly JobLease[];
};

/** What {@linkcode ActorProvider.deadLetterLeasedJob} writes. */
export interface DeadLetterRequest {
  /**
   * The dead record's ID: `lease.jobId` for a one-shot job (without `next`),
   * a new unique ID for an occurrence of a repeating job (with `next`).
   */
  deadJobId: string;
  /** Runs made, integer ≥ 0. */
  attempts: number;
  /** The last error message. */
  lastError: string;
  /** When the job failed, epoch ms. */
  failedAt: number;
  /** Repeating jobs: the live job moves to `next.dueTime` with its lease released. */
  next?: { dueTime: number };
}

/** Arguments of {@linkcode ActorProvider.cleanup}. */
export interface CleanupRequest {
  /** Integer ms ≥ 1: hosts dead by this measure are deleted. */
  healthCheckDeadlineMs: number;
}

/** What {@linkcode ActorProvider.cleanup} removed. */
export interface CleanupResult {
  /** Expired state rows deleted. */
  expiredStates: number;
  /** Dead hosts deleted (with their placements). */
  deadHosts: number;
}

/**
 * A data store for actor hosts. One object may back several hosts in one
 * process: hosts call {@linkcode acquire} at start and {@linkcode release} at
 * stop, and the provider closes what it opened when the count returns to zero.
 *
 * Error contract, common to every method:
 * - documented conditions reject with the named Francis error;
 * - malformed arguments reject with `TypeError` (wrong type) or `RangeError`
 *   (out of range), before anything is read or written;
 * - any other store failure rejects with `ProviderError` with the driver error
 *   as `cause`, and leaves stored data as it was (each method is atomic);
 * - calls before `acquire` or after the final `release` reject with `ProviderError`;
 * - methods never throw synchronously: every failure is a rejected promise.
 *
 * Times come from the provider's clock (`Clock`), never from the database, so
 * tests can control them. Bytes are copied in and out: mutating an argument or
 * a result afterwards never changes what is stored.
 */
export interface ActorProvider {
  /** Short name for logs, e.g. `"sqlite"`. */
  readonly name: string;

  /**
   * Opens and migrates on the first call; counts references. A failed
   * `acquire` rejects with `ProviderError` (e.g. the schema is newer than
   * supported) and adds no reference.
   */
  acquire(): Promise<void>;
  /**
   * Drops one reference; on the last, stops the cleanup timer and closes
   * connections the provider opened (never ones the caller supplied).
   * Idempotent past zero.
   */
  release(): Promise<void>;

  // -- hosts ---------------------------------------------------------------

  /**
   * Purges dead hosts (cascading their placements and clearing the alarm
   * and job leases of those actors), then registers a new host with a fresh ID and
   * `lastHealthCheck = now`.
   * Throws `HostAlreadyRegisteredError` if a healthy host has the same address;
   * concurrent registrations of one address yield one host.
   */
  registerHost(req: RegisterHostRequest): Promise<{ hostId: string }>;
  /**
   * Records a health check (`lastHealthCheck = now`). Throws
   * `HostUnregisteredError` if the host is unknown or is dead by
   * `healthCheckDeadlineMs` (a dead host never revives).
   */
  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void>;
  /**
   * Deletes the host, its types and placements, and clears the leases of those
   * actors' alarms and jobs (the alarms and jobs stay). Unknown IDs are ignored.
   */
  unregisterHost(hostId: string): Promise<void>;
  /** Healthy hosts, sorted by `hostId`. Reads only; purges nothing. */
  listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]>;
  /**
   * Marks a host as draining: from now on it is never chosen for a new
   * placement (by `lookupActor` or `fetchAndLeaseAlarms`), while its existing
   * placements are still returned. It stays healthy while it heartbeats.
   * Unknown IDs are ignored.
   */
  setHostDraining(hostId: string): Promise<void>;
  /**
   * A peer found the host unreachable (its port refused connections). Removes
   * it as `unregisterHost` does, unless the store has evidence that the host is
   * still alive, and returns whether it was removed. Providers without such
   * evidence (memory, SQLite: one machine, where a refused port means the
   * process is gone) remove it; PostgreSQL removes it only when the host's
   * database session, which holds an advisory lock while the host is
   * registered, has ended. A removed host finds its registration gone at its
   * next heartbeat, and its late fenced writes are refused.
   */
  evictHost(hostId: string): Promise<boolean>;
  /**
   * Records a one-time claim (a join token's `jti`): resolves `true` if `key`
   * was not claimed before (or its earlier claim expired), `false` otherwise.
   * The claim lasts until `expiresAtMs` (epoch ms, from the caller's clock),
   * after which cleanup may delete it. Atomic across every process sharing the store.
   */
  claimOnce(key: string, expiresAtMs: number): Promise<boolean>;
  /**
   * Optional. Calls `listener` with the due time whenever any process sets an
   * alarm in this store, so hosts can fetch it before their next poll
   * (PostgreSQL: LISTEN/NOTIFY). Returns a function that unsubscribes.
   */
  onAlarmSet?(listener: (dueTime: number) => void): () => void;
  /**
   * Optional. Calls `listener` with the due time whenever any process
   * dispatches a job in this store (PostgreSQL: LISTEN/NOTIFY), so hosts fetch
   * it before their next poll. Returns a function that unsubscribes.
   */
  onJobDispatched?(listener: (dueTime: number) => void): () => void;

  // -- placement -----------------------------------------------------------

  /**
   * Returns the actor's placement on a healthy host; otherwise (unless
   * `activeOnly`) atomically picks a healthy host that registered the type,
   * is in `allowedHostIds` (when given) and is under its `concurrencyLimit`,
   * and records the placement. Replacing a placement on a dead host clears
   * the leases of the actor's alarms and jobs. Concurrent calls for one actor, from any
   * number of processes, yield one placement.
   *
   * Checks run in this order, before any change:
   * 1. a placement on a healthy host is returned, or rejects with `NoHostError`
   *    if that host is outside `allowedHostIds` (also with `activeOnly`);
   * 2. `activeOnly` rejects with `ActorNotActiveError` (even for a type no host
   *    serves);
   * 3. `ActorTypeUnsupportedError` if no healthy host registered the type
   *    (`allowedHostIds` is not considered here);
   * 4. `NoHostError` if no allowed healthy host serving the type has room.
   */
  lookupActor(req: LookupActorRequest): Promise<ActorPlacement>;
  /**
   * Removes the actor's placement and clears the leases of its alarms and jobs. With
   * `hostId`, removes it only if it is on that host. Returns whether a placement was removed.
   */
  removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean>;

  // -- state ---------------------------------------------------------------

  /** A copy of the stored bytes. Throws `StateNotFoundError` if absent or expired. */
  getState(actorType: string, actorId: string): Promise<Uint8Array>;
  /** Creates or replaces the value and its expiry; see `fenceHostId` for fencing. */
  setState(req: SetStateRequest): Promise<void>;
  /**
   * Deletes the value. Throws `StateNotFoundError` if absent or expired, and
   * `PlacementLostError` if `fenceHostId` is given and the actor is not placed on that host.
   */
  deleteState(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void>;
  /**
   * Non-expired entries of one type after `after`, ascending by `actorId` in
   * UTF-16 code-unit order (not the code-point order of SQL `BINARY`/UTF-8
   * collations), at most `limit`. Throws `RangeError` for a `limit` outside 1–1000.
   */
  listStates(req: ListStatesRequest): Promise<StatePage>;

  // -- alarms --------------------------------------------------------------

  /** Throws `AlarmNotFoundError` if there is no such alarm. */
  getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord>;
  /**
   * Creates or replaces an alarm; omitted properties are cleared. Identical
   * properties are a no-op (the alarm keeps its `alarmId` and lease);
   * different ones give a new `alarmId` and clear the lease. Empty `data` is
   * stored as no data.
   */
  setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void>;
  /** Deletes the alarm, leased or not. Throws `AlarmNotFoundError` if there is no such alarm. */
  deleteAlarm(actorType: string, actorId: string, name: string): Promise<void>;
  /**
   * Leases up to `batchSize` alarms due by now + `fetchAheadMs`, ordered by due
   * time, whose lease is free or expired, whose type `hostId` serves, and whose
   * actor is unplaced, placed on `hostId`, or placed on a dead host. Actors not
   * placed on `hostId` are placed there (replacing a dead host's placement
   * clears that actor's leases first) while the host is under its
   * `concurrencyLimit`; alarms of actors that do not fit are skipped.
   * Concurrent callers never lease one alarm twice. Returns `[]` if `hostId`
   * is unknown or dead.
   */
  fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]>;
  /**
   * Extends valid leases held for actors placed on `hostId`, without checking
   * that host's health. Returns those renewed, ordered by due time, each once,
   * with the same `alarmId` and `leaseId` and the current due time.
   */
  renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]>;
  /**
   * The alarm, if `lease` is still valid. Throws `AlarmNotFoundError`
   * otherwise (edited, deleted, lease lost or expired).
   */
  getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord>;
  /**
   * Moves a leased alarm to `dueTime`, keeping its `alarmId` and other
   * properties. With `keepLease` the lease (same `leaseId`) now ends at
   * now + `leaseDurationMs`, else it is released. Throws `AlarmNotFoundError` if the lease is invalid.
   */
  updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void>;
  /** Deletes a leased alarm. Throws `AlarmNotFoundError` if the lease is invalid. */
  deleteLeasedAlarm(lease: AlarmLease): Promise<void>;
  /** Releases a lease so any host may fetch the alarm. Throws `AlarmNotFoundError` if the lease is invalid. */
  releaseAlarmLease(lease: AlarmLease): Promise<void>;

  // -- jobs ----------------------------------------------------------------

  /**
   * Stores a new live job, unless a live job (pending or active) of the same
   * actor holds `req.idempotencyKey`: then resolves with that job's ID and
   * `created: false`, changing nothing. The key is unique among the actor's
   * live jobs only (dead records do not hold it); jobs and alarms are
   * separate namespaces. Empty `data` is stored as none. `interval` and
   * `cron` together are a `TypeError`. A `jobId` already used by a live job
   * or dead record rejects with `ProviderError`.
   */
  dispatchJob(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }>;
  /** The live job or dead record with this ID. Throws `JobNotFoundError` if there is neither. */
  getJob(jobId: string): Promise<JobRecord>;
  /** The actor's live jobs and dead records, ordered by `createdAt`, then `jobId` (UTF-16 code-unit order). */
  listJobs(actorType: string, actorId: string): Promise<JobRecord[]>;
  /**
   * Deletes a live job, leased or not (its lease becomes invalid and its key
   * free). Throws `JobNotFoundError` if the job is unknown or dead-lettered.
   */
  cancelJob(jobId: string): Promise<void>;
  /**
   * Atomically deletes the dead record `jobId` and stores a fresh one-shot
   * live job `fresh.jobId` of the same actor, method and data, with no key,
   * interval, cron or ttl. Throws `JobNotFoundError` if `jobId` is not a dead record.
   */
  retryDeadJob(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void>;
  /** Deletes a dead record. Throws `JobNotFoundError` if there is none with this ID. */
  deleteDeadJob(jobId: string): Promise<void>;
  /**
   * Leases due jobs exactly as {@linkcode fetchAndLeaseAlarms} leases alarms:
   * up to `batchSize` jobs due by now + `fetchAheadMs`, ordered by due time,
   * whose lease is free or expired, whose type `hostId` serves, and whose
   * actor is unplaced, placed on `hostId` or placed on a dead host; actors not
   * on `hostId` are placed there while it is under its `concurrencyLimit` and
   * not draining. Concurrent callers never lease one job twice. Returns `[]`
   * if `hostId` is unknown or dead. Alarms are not touched.
   */
  fetchAndLeaseJobs(req: FetchAlarmsRequest): Promise<JobLease[]>;
  /**
   * Extends valid job leases held for actors placed on `hostId`, as
   * {@linkcode renewAlarmLeases} does for alarms. Returns those renewed,
   * ordered by due time, each once, with the same `leaseId` and the current due time.
   */
  renewJobLeases(req: RenewJobLeasesRequest): Promise<JobLease[]>;
  /**
   * The job (status `active`), if `lease` is still valid. Throws
   * `JobNotFoundError` otherwise (cancelled, completed, released, lease lost or expired).
   */
  getLeasedJob(lease: JobLease): Promise<JobRecord>;
  /**
   * A successful run. Without `next`, deletes the job (freeing its key); with
   * `next`, moves it to `next.dueTime` and releases the lease. Throws
   * `JobNotFoundError` if the lease is invalid.
   */
  completeLeasedJob(lease: JobLease, next?: { dueTime: number }): Promise<void>;
  /**
   * Releases the lease and sets the due time (a retry later, or a host
   * declining the job), so any host may fetch it. Throws `JobNotFoundError` if the lease is invalid.
   */
  releaseLeasedJob(lease: JobLease, update: { dueTime: number }): Promise<void>;
  /**
   * Dead-letters the leased job in one transaction. Without `dead.next` (a
   * one-shot job; `deadJobId` must equal `lease.jobId`, else `TypeError`) the
   * job moves to the dead-letter store with every property, freeing its key.
   * With `dead.next` (a repeating job; `deadJobId` must differ from
   * `lease.jobId`, else `TypeError`) a dead record `deadJobId` is written
   * with the job's actor, method, data, interval, cron, `createdAt` and the
   * failed occurrence's due time, and the live job moves to `next.dueTime`
   * with its lease released, keeping its key. Throws `JobNotFoundError` if the lease is invalid.
   */
  deadLetterLeasedJob(lease: JobLease, dead: DeadLetterRequest): Promise<void>;

  // -- maintenance ---------------------------------------------------------

  /**
   * Deletes expired state and dead hosts (cascading as `unregisterHost` does)
   * and returns the counts. Never deletes alarms, jobs or dead records. Safe to call from many
   * hosts at once. The provider also runs this itself every
   * `cleanupIntervalMs` while acquired, using the largest
   * `healthCheckDeadlineMs` it has seen in `registerHost` (expired state only
   * until it has seen one).
   */
  cleanup(req: CleanupRequest): Promise<CleanupResult>;
}
