/**
 * The in-memory `ActorProvider`: the reference implementation and the
 * behaviour oracle of the provider conformance suite.
 *
 * Everything runs synchronously inside each call, so every method is atomic:
 * it validates and computes first, then mutates. Bytes are copied in and out.
 *
 * @module
 */

import {
  AlarmNotFoundError,
  ClusterFullError,
  HostAlreadyRegisteredError,
  HostUnregisteredError,
  JobNotFoundError,
  MaxHostsMismatchError,
  PlacementLostError,
  ProviderError,
  StateNotFoundError,
} from "../../errors.ts";
import type {
  ActorPlacement,
  ActorProvider,
  AlarmLease,
  AlarmProperties,
  AlarmRecord,
  CleanupRequest,
  CleanupResult,
  Clock,
  DeadLetterRequest,
  DeleteStateOptions,
  DispatchJobRequest,
  FetchAlarmsRequest,
  HostRecord,
  JobLease,
  JobRecord,
  ListStatesRequest,
  LookupActorRequest,
  RegisterHostRequest,
  RenewJobLeasesRequest,
  RenewLeasesRequest,
  SetStateRequest,
  StatePage,
} from "../types.ts";
import { type AlarmRow, AlarmTable, sameProps, toLease, toRecord } from "./_alarms.ts";
import { actorKey, type HostRow, HostTable, readHostTypes } from "./_hosts.ts";
import {
  checkDeadLetter,
  checkDispatch,
  checkDue,
  checkFetch,
  checkFresh,
  checkJobLease,
  checkRenew,
} from "./_job_checks.ts";
import { byCreation, deadJobRecord, type JobRow, JobTable, liveJobRecord, toJobLease } from "./_jobs.ts";
import { StateTable } from "./_states.ts";
import { checkBytes, checkHostId, checkInteger, checkString, checkTime, show } from "./_validate.ts";
import { fetchAndLease, renewLeases } from "./_leasing.ts";
import { lookupPlacement } from "./_placement.ts";
import {
  type MemoryProviderOptions,
  type ResolvedMemoryProviderOptions,
  resolveMemoryProviderOptions,
} from "./options.ts";

/**
 * Creates an in-memory provider. Nothing survives the process; one provider
 * object may back several hosts in the same process.
 *
 * @param options Cleanup interval and clock.
 * @returns A provider; call `acquire()` before use and `release()` after.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `cleanupIntervalMs` is out of range.
 *
 * @example Store and read state
 * ```ts
 * import { createMemoryProvider } from "./provider.ts";
 *
 * const provider = createMemoryProvider();
 * await provider.acquire();
 * await provider.setState({ actorType: "counter", actorId: "c1", data: new Uint8Array([42]) });
 * console.log(await provider.getState("counter", "c1")); // Uint8Array(1) [ 42 ]
 * await provider.release();
 * ```
 */
export function createMemoryProvider(options?: MemoryProviderOptions): ActorProvider {
  return new MemoryProvider(resolveMemoryProviderOptions(options));
}

/** Runs a synchronous body and settles a promise with its outcome. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Lets the process exit while the cleanup timer is pending (Node and Deno). */
function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    timer.unref();
  } else if (typeof timer === "number") {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(timer);
  }
}

class MemoryProvider implements ActorProvider {
  readonly name: string = "memory";
  readonly #clock: Clock;
  readonly #cleanupIntervalMs: number;
  readonly #hosts = new HostTable();
  readonly #states = new StateTable();
  readonly #alarms = new AlarmTable();
  readonly #jobs = new JobTable();
  readonly #clearLeases = (key: string): void => {
    this.#alarms.clearLeases(key);
    this.#jobs.clearLeases(key);
  };
  readonly #claims = new Map<string, number>();
  #refs = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Largest `healthCheckDeadlineMs` seen in `registerHost`, used by timed cleanup. */
  #deadlineMs = 0;

  constructor(options: ResolvedMemoryProviderOptions) {
    this.#clock = options.clock;
    this.#cleanupIntervalMs = options.cleanupIntervalMs;
  }

  acquire(): Promise<void> {
    this.#refs++;
    if (this.#refs === 1 && Number.isFinite(this.#cleanupIntervalMs)) {
      this.#timer = setInterval(() => this.#timedCleanup(), this.#cleanupIntervalMs);
      unrefTimer(this.#timer);
    }
    return Promise.resolve();
  }

  release(): Promise<void> {
    if (this.#refs === 0) return Promise.resolve();
    this.#refs--;
    if (this.#refs === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return Promise.resolve();
  }

  // -- hosts ---------------------------------------------------------------

  registerHost(req: RegisterHostRequest): Promise<{ hostId: string }> {
    return settle(() => {
      const now = this.#now("registerHost");
      checkString("registerHost", "address", req.address);
      checkInteger("registerHost", "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
      if (req.maxHosts !== undefined) checkInteger("registerHost", "maxHosts", req.maxHosts, 0);
      const types = readHostTypes(req.actorTypes);
      if (req.hostId !== undefined) {
        checkHostId("registerHost", "hostId", req.hostId);
        if (this.#hosts.hosts.has(req.hostId)) {
          throw new HostAlreadyRegisteredError(
            `Cannot register host: host ID ${show(req.hostId)} is already registered`,
          );
        }
      }
      const holder = this.#hosts.byAddress(req.address);
      if (holder !== undefined && this.#hosts.isHealthy(holder.hostId, now, req.healthCheckDeadlineMs)) {
        throw new HostAlreadyRegisteredError(
          `Cannot register host: address ${show(req.address)} belongs to healthy host ${show(holder.hostId)}`,
        );
      }
      this.#purgeDeadHosts(now, req.healthCheckDeadlineMs);
      const maxHosts = req.maxHosts ?? 0;
      checkMaxHosts([...this.#hosts.hosts.values()].map((h) => h.maxHosts ?? 0), maxHosts);
      const host: HostRow = {
        hostId: req.hostId ?? crypto.randomUUID(),
        address: req.address,
        lastHealthCheck: now,
        types,
        maxHosts,
      };
      this.#hosts.addHost(host);
      this.#deadlineMs = Math.max(this.#deadlineMs, req.healthCheckDeadlineMs);
      return { hostId: host.hostId };
    });
  }

  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    return settle(() => {
      const now = this.#now("heartbeat");
      checkInteger("heartbeat", "healthCheckDeadlineMs", healthCheckDeadlineMs, 1);
      if (!this.#hosts.isHealthy(hostId, now, healthCheckDeadlineMs)) {
        throw new HostUnregisteredError(
          `Cannot record health check: host ${show(hostId)} is not registered or missed its deadline`,
        );
      }
      this.#hosts.hosts.get(hostId)!.lastHealthCheck = now;
    });
  }

  unregisterHost(hostId: string): Promise<void> {
    return settle(() => {
      this.#now("unregisterHost");
      for (const key of this.#hosts.removeHost(hostId)) this.#clearLeases(key);
    });
  }

  /** Drops expired claims (they no longer block a key). */
  #purgeClaims(now: number): void {
    for (const [k, exp] of this.#claims) if (exp <= now) this.#claims.delete(k);
  }

  claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    return settle(() => {
      const now = this.#now("claimOnce");
      checkString("claimOnce", "key", key);
      checkTime("claimOnce", "expiresAtMs", expiresAtMs);
      const held = this.#claims.get(key);
      if (held !== undefined && held > now) return false;
      this.#claims.set(key, expiresAtMs);
      return true;
    });
  }

  setHostDraining(hostId: string): Promise<void> {
    return settle(() => {
      this.#now("setHostDraining");
      checkString("setHostDraining", "hostId", hostId);
      const host = this.#hosts.hosts.get(hostId);
      if (host !== undefined) host.draining = true;
    });
  }

  evictHost(hostId: string): Promise<boolean> {
    return settle(() => {
      this.#now("evictHost");
      checkString("evictHost", "hostId", hostId);
      // One process: a peer that cannot reach the host is the only evidence there is.
      if (!this.#hosts.hosts.has(hostId)) return false;
      for (const key of this.#hosts.removeHost(hostId)) this.#clearLeases(key);
      return true;
    });
  }

  listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]> {
    return settle(() => {
      const now = this.#now("listHosts");
      checkInteger("listHosts", "healthCheckDeadlineMs", healthCheckDeadlineMs, 1);
      return [...this.#hosts.hosts.values()]
        .filter((h) => this.#hosts.isHealthy(h.hostId, now, healthCheckDeadlineMs))
        .sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0))
        .map((h) => ({
          hostId: h.hostId,
          address: h.address,
          lastHealthCheck: h.lastHealthCheck,
          actorTypes: [...h.types.keys()].sort(),
        }));
    });
  }

  // -- placement -----------------------------------------------------------

  lookupActor(req: LookupActorRequest): Promise<ActorPlacement> {
    return settle(() => {
      const now = this.#now("lookupActor");
      checkInteger("lookupActor", "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
      return lookupPlacement(this.#hosts, this.#clearLeases, req, now);
    });
  }

  removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    return settle(() => {
      this.#now("removeActor");
      const key = actorKey(actorType, actorId);
      const existing = this.#hosts.placement(key);
      if (existing === undefined || (hostId !== undefined && existing.hostId !== hostId)) return false;
      this.#hosts.removePlacement(key);
      this.#clearLeases(key);
      return true;
    });
  }

  // -- state ---------------------------------------------------------------

  getState(actorType: string, actorId: string): Promise<Uint8Array> {
    return settle(() => {
      const data = this.#states.get(actorType, actorId, this.#now("getState"));
      if (data === undefined) {
        throw new StateNotFoundError(`Cannot get state: ${show(`${actorType}/${actorId}`)} has none`);
      }
      return data.slice();
    });
  }

  setState(req: SetStateRequest): Promise<void> {
    return settle(() => {
      const now = this.#now("setState");
      checkBytes("setState", "data", req.data);
      if (req.ttlMs !== undefined) checkInteger("setState", "ttlMs", req.ttlMs, 1);
      this.#checkFence("setState", req.actorType, req.actorId, req.fenceHostId);
      const expiresAt = req.ttlMs === undefined ? undefined : now + req.ttlMs;
      this.#states.set(req.actorType, req.actorId, req.data.slice(), expiresAt);
    });
  }

  deleteState(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    return settle(() => {
      const now = this.#now("deleteState");
      this.#checkFence("deleteState", actorType, actorId, options?.fenceHostId);
      if (this.#states.get(actorType, actorId, now) === undefined) {
        throw new StateNotFoundError(`Cannot delete state: ${show(`${actorType}/${actorId}`)} has none`);
      }
      this.#states.delete(actorType, actorId);
    });
  }

  #checkFence(method: string, actorType: string, actorId: string, fenceHostId: string | undefined): void {
    if (fenceHostId === undefined) return;
    checkString(method, "fenceHostId", fenceHostId);
    if (this.#hosts.placement(actorKey(actorType, actorId))?.hostId !== fenceHostId) {
      throw new PlacementLostError(
        `Cannot ${method}: actor ${show(`${actorType}/${actorId}`)} is no longer placed on host ${show(fenceHostId)}`,
      );
    }
  }

  listStates(req: ListStatesRequest): Promise<StatePage> {
    return settle(() => {
      const now = this.#now("listStates");
      checkInteger("listStates", "limit", req.limit, 1, 1000);
      if (req.after !== undefined) checkString("listStates", "after", req.after);
      const page = this.#states.list(req.actorType, req.after, req.limit, now);
      const entries = page.entries.map((e) =>
        req.includeData ? { actorId: e.actorId, data: e.data!.slice() } : { actorId: e.actorId }
      );
      return { entries, hasMore: page.hasMore };
    });
  }

  // -- alarms --------------------------------------------------------------

  getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord> {
    return settle(() => {
      this.#now("getAlarm");
      return toRecord(this.#alarmOrThrow("get alarm", actorType, actorId, name));
    });
  }

  setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    return settle(() => {
      this.#now("setAlarm");
      checkTime("setAlarm", "dueTime", props.dueTime);
      if (props.interval !== undefined) checkString("setAlarm", "interval", props.interval);
      if (props.ttl !== undefined) checkTime("setAlarm", "ttl", props.ttl);
      if (props.data !== undefined) checkBytes("setAlarm", "data", props.data);
      const next: AlarmProperties = {
        dueTime: props.dueTime,
        interval: props.interval,
        ttl: props.ttl,
        data: props.data === undefined || props.data.length === 0 ? undefined : props.data.slice(),
      };
      const existing = this.#alarms.get(actorType, actorId, name);
      if (existing !== undefined && sameProps(existing, next)) return;
      this.#alarms.put(existing ?? this.#alarms.newRow(actorType, actorId, name), next, crypto.randomUUID());
    });
  }

  deleteAlarm(actorType: string, actorId: string, name: string): Promise<void> {
    return settle(() => {
      this.#now("deleteAlarm");
      this.#alarms.delete(this.#alarmOrThrow("delete alarm", actorType, actorId, name));
    });
  }

  fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    return settle(() => {
      const now = this.#now("fetchAndLeaseAlarms");
      checkString("fetchAndLeaseAlarms", "hostId", req.hostId);
      checkInteger("fetchAndLeaseAlarms", "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
      checkInteger("fetchAndLeaseAlarms", "fetchAheadMs", req.fetchAheadMs, 0);
      checkInteger("fetchAndLeaseAlarms", "batchSize", req.batchSize, 1);
      checkInteger("fetchAndLeaseAlarms", "leaseDurationMs", req.leaseDurationMs, 1);
      return fetchAndLease(this.#hosts, this.#alarms, req, now, this.#clearLeases).map(toLease);
    });
  }

  renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    return settle(() => {
      const now = this.#now("renewAlarmLeases");
      checkInteger("renewAlarmLeases", "leaseDurationMs", req.leaseDurationMs, 1);
      const renewed = renewLeases(this.#hosts, this.#alarms, req, now);
      return renewed.map(toLease);
    });
  }

  getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord> {
    return settle(() => toRecord(this.#leasedOrThrow("getLeasedAlarm", lease, this.#now("getLeasedAlarm"))));
  }

  updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    return settle(() => {
      const now = this.#now("updateLeasedAlarm");
      checkTime("updateLeasedAlarm", "dueTime", update.dueTime);
      checkInteger("updateLeasedAlarm", "leaseDurationMs", update.leaseDurationMs, 1);
      const row = this.#leasedOrThrow("updateLeasedAlarm", lease, now);
      this.#alarms.reschedule(row, update.dueTime);
      row.leaseExpiresAt = update.keepLease ? now + update.leaseDurationMs : undefined;
      if (!update.keepLease) row.leaseId = undefined;
    });
  }

  deleteLeasedAlarm(lease: AlarmLease): Promise<void> {
    return settle(() => {
      this.#alarms.delete(this.#leasedOrThrow("deleteLeasedAlarm", lease, this.#now("deleteLeasedAlarm")));
    });
  }

  releaseAlarmLease(lease: AlarmLease): Promise<void> {
    return settle(() => {
      const row = this.#leasedOrThrow("releaseAlarmLease", lease, this.#now("releaseAlarmLease"));
      row.leaseId = undefined;
      row.leaseExpiresAt = undefined;
    });
  }

  // -- jobs ----------------------------------------------------------------

  dispatchJob(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    return settle(() => {
      this.#now("dispatchJob");
      checkDispatch("dispatchJob", req);
      const key = actorKey(req.actorType, req.actorId);
      if (req.idempotencyKey !== undefined) {
        const holder = this.#jobs.withKey(key, req.idempotencyKey);
        if (holder !== undefined) return { jobId: holder.jobId, created: false };
      }
      if (this.#jobs.live(req.jobId) !== undefined || this.#jobs.dead(req.jobId) !== undefined) {
        throw new ProviderError(`Cannot dispatchJob: job ID ${show(req.jobId)} is already in use`);
      }
      this.#jobs.insert({
        jobId: req.jobId,
        actorKey: key,
        actorType: req.actorType,
        actorId: req.actorId,
        method: req.method,
        dueTime: req.dueTime,
        interval: req.interval,
        cron: req.cron,
        ttl: req.ttl,
        idempotencyKey: req.idempotencyKey,
        createdAt: req.createdAt,
        data: req.data === undefined || req.data.length === 0 ? undefined : req.data.slice(),
        leaseId: undefined,
        leaseExpiresAt: undefined,
        entry: undefined,
      });
      return { jobId: req.jobId, created: true };
    });
  }

  getJob(jobId: string): Promise<JobRecord> {
    return settle(() => {
      const now = this.#now("getJob");
      checkString("getJob", "jobId", jobId);
      const live = this.#jobs.live(jobId);
      if (live !== undefined) return liveJobRecord(live, now);
      const dead = this.#jobs.dead(jobId);
      if (dead !== undefined) return deadJobRecord(dead);
      throw new JobNotFoundError(`Cannot get job: job ${show(jobId)} does not exist`);
    });
  }

  listJobs(actorType: string, actorId: string): Promise<JobRecord[]> {
    return settle(() => {
      const now = this.#now("listJobs");
      checkString("listJobs", "actorType", actorType);
      checkString("listJobs", "actorId", actorId);
      const key = actorKey(actorType, actorId);
      return [
        ...[...this.#jobs.ofActor(key)].map((row) => liveJobRecord(row, now)),
        ...[...this.#jobs.deadOfActor(key)].map(deadJobRecord),
      ].sort(byCreation);
    });
  }

  cancelJob(jobId: string): Promise<void> {
    return settle(() => {
      this.#now("cancelJob");
      checkString("cancelJob", "jobId", jobId);
      const row = this.#jobs.live(jobId);
      if (row === undefined) throw new JobNotFoundError(`Cannot cancel job: job ${show(jobId)} is not live`);
      this.#jobs.delete(row);
    });
  }

  retryDeadJob(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    return settle(() => {
      this.#now("retryDeadJob");
      checkString("retryDeadJob", "jobId", jobId);
      checkFresh("retryDeadJob", fresh);
      const dead = this.#jobs.dead(jobId);
      if (dead === undefined) {
        throw new JobNotFoundError(`Cannot retry job: job ${show(jobId)} is not dead-lettered`);
      }
      if (this.#jobs.live(fresh.jobId) !== undefined || (fresh.jobId !== jobId && this.#jobs.dead(fresh.jobId))) {
        throw new ProviderError(`Cannot retryDeadJob: job ID ${show(fresh.jobId)} is already in use`);
      }
      this.#jobs.deleteDead(dead);
      this.#jobs.insert({
        jobId: fresh.jobId,
        actorKey: dead.actorKey,
        actorType: dead.actorType,
        actorId: dead.actorId,
        method: dead.method,
        dueTime: fresh.dueTime,
        interval: undefined,
        cron: undefined,
        ttl: undefined,
        idempotencyKey: undefined,
        createdAt: fresh.createdAt,
        data: dead.data,
        leaseId: undefined,
        leaseExpiresAt: undefined,
        entry: undefined,
      });
    });
  }

  deleteDeadJob(jobId: string): Promise<void> {
    return settle(() => {
      this.#now("deleteDeadJob");
      checkString("deleteDeadJob", "jobId", jobId);
      const dead = this.#jobs.dead(jobId);
      if (dead === undefined) {
        throw new JobNotFoundError(`Cannot delete dead job: job ${show(jobId)} is not dead-lettered`);
      }
      this.#jobs.deleteDead(dead);
    });
  }

  fetchAndLeaseJobs(req: FetchAlarmsRequest): Promise<JobLease[]> {
    return settle(() => {
      const now = this.#now("fetchAndLeaseJobs");
      checkFetch("fetchAndLeaseJobs", req);
      return fetchAndLease(this.#hosts, this.#jobs, req, now, this.#clearLeases).map(toJobLease);
    });
  }

  renewJobLeases(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    return settle(() => {
      const now = this.#now("renewJobLeases");
      checkRenew("renewJobLeases", req);
      return renewLeases(this.#hosts, this.#jobs, req, now).map(toJobLease);
    });
  }

  getLeasedJob(lease: JobLease): Promise<JobRecord> {
    return settle(() => {
      const now = this.#now("getLeasedJob");
      return liveJobRecord(this.#leasedJobOrThrow("getLeasedJob", lease, now), now);
    });
  }

  completeLeasedJob(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    return settle(() => {
      const now = this.#now("completeLeasedJob");
      checkDue("completeLeasedJob", "next", next, true);
      const row = this.#leasedJobOrThrow("completeLeasedJob", lease, now);
      if (next === undefined) this.#jobs.delete(row);
      else this.#jobs.reschedule(row, next.dueTime);
    });
  }

  releaseLeasedJob(lease: JobLease, update: { dueTime: number }): Promise<void> {
    return settle(() => {
      const now = this.#now("releaseLeasedJob");
      checkDue("releaseLeasedJob", "update", update, false);
      this.#jobs.reschedule(this.#leasedJobOrThrow("releaseLeasedJob", lease, now), update.dueTime);
    });
  }

  deadLetterLeasedJob(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    return settle(() => {
      const now = this.#now("deadLetterLeasedJob");
      checkDeadLetter("deadLetterLeasedJob", lease, dead);
      const row = this.#leasedJobOrThrow("deadLetterLeasedJob", lease, now);
      const repeating = dead.next !== undefined;
      if (repeating && (this.#jobs.live(dead.deadJobId) !== undefined || this.#jobs.dead(dead.deadJobId))) {
        throw new ProviderError(`Cannot deadLetterLeasedJob: job ID ${show(dead.deadJobId)} is already in use`);
      }
      this.#jobs.insertDead({
        jobId: dead.deadJobId,
        actorKey: row.actorKey,
        actorType: row.actorType,
        actorId: row.actorId,
        method: row.method,
        dueTime: row.dueTime,
        interval: row.interval,
        cron: row.cron,
        ttl: repeating ? undefined : row.ttl,
        idempotencyKey: repeating ? undefined : row.idempotencyKey,
        createdAt: row.createdAt,
        data: row.data,
        attempts: dead.attempts,
        lastError: dead.lastError,
        failedAt: dead.failedAt,
      });
      if (dead.next === undefined) this.#jobs.delete(row);
      else this.#jobs.reschedule(row, dead.next.dueTime);
    });
  }

  // -- maintenance ---------------------------------------------------------

  cleanup(req: CleanupRequest): Promise<CleanupResult> {
    return settle(() => {
      const now = this.#now("cleanup");
      checkInteger("cleanup", "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
      this.#purgeClaims(now);
      return {
        expiredStates: this.#states.purgeExpired(now),
        deadHosts: this.#purgeDeadHosts(now, req.healthCheckDeadlineMs),
      };
    });
  }

  // -- helpers -------------------------------------------------------------

  /** The current time; throws `ProviderError` when the provider is not acquired. */
  #now(method: string): number {
    if (this.#refs === 0) throw new ProviderError(`Cannot ${method}: provider is not acquired`);
    return this.#clock.now();
  }

  #timedCleanup(): void {
    try {
      const now = this.#clock.now();
      this.#states.purgeExpired(now);
      this.#purgeClaims(now);
      // Without any registration there is no deadline, so no host is judged dead.
      if (this.#deadlineMs > 0) this.#purgeDeadHosts(now, this.#deadlineMs);
    } catch {
      // A throwing injected clock must not crash the timer; the next tick retries.
    }
  }

  /** Deletes dead hosts with their placements, clearing the leases of their actors. */
  #purgeDeadHosts(now: number, deadlineMs: number): number {
    const dead = this.#hosts.deadHostIds(now, deadlineMs);
    for (const hostId of dead) {
      for (const key of this.#hosts.removeHost(hostId)) this.#clearLeases(key);
    }
    return dead.length;
  }

  #leasedJobOrThrow(method: string, lease: JobLease, now: number): JobRow {
    checkJobLease(method, lease);
    const row = this.#jobs.leased(lease, now);
    if (row === undefined) {
      throw new JobNotFoundError(
        `Cannot ${method}: lease ${show(lease.leaseId)} of job ${show(lease.jobId)} is no longer valid`,
      );
    }
    return row;
  }

  #alarmOrThrow(action: string, actorType: string, actorId: string, name: string): AlarmRow {
    const row = this.#alarms.get(actorType, actorId, name);
    if (row === undefined) {
      throw new AlarmNotFoundError(`Cannot ${action}: ${show(`${actorType}/${actorId}/${name}`)} does not exist`);
    }
    return row;
  }

  #leasedOrThrow(method: string, lease: AlarmLease, now: number): AlarmRow {
    const row = this.#alarms.leased(lease, now);
    if (row === undefined) {
      throw new AlarmNotFoundError(
        `Cannot ${method}: lease ${show(lease?.leaseId)} of alarm ${show(lease?.alarmId)} is no longer valid`,
      );
    }
    return row;
  }
}

/**
 * The `maxHosts` rule of `registerHost`, given the limits of the healthy hosts
 * already registered (every provider applies it inside its registration).
 *
 * @example
 * ```ts
 * import { checkMaxHosts } from "./provider.ts";
 * try {
 *   checkMaxHosts([2, 2], 2);
 * } catch (err) {
 *   console.log((err as Error).name); // ClusterFullError
 * }
 * ```
 */
export function checkMaxHosts(healthyLimits: readonly number[], maxHosts: number): void {
  const other = healthyLimits.find((m) => m !== maxHosts);
  if (other !== undefined) {
    throw new MaxHostsMismatchError(`Cannot register host: maxHosts is ${maxHosts} but the running hosts use ${other}`);
  }
  if (maxHosts > 0 && healthyLimits.length >= maxHosts) {
    throw new ClusterFullError(
      `Cannot register host: the cluster already has ${healthyLimits.length} of ${maxHosts} hosts`,
    );
  }
}
