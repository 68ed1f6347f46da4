/**
 * `PostgresProvider`: composes the concern modules into an `ActorProvider`,
 * counts references, and runs the periodic cleanup while acquired.
 *
 * @module
 */

import { ProviderError } from "../../errors.ts";
import type {
  ActorPlacement,
  ActorProvider,
  AlarmLease,
  AlarmProperties,
  AlarmRecord,
  CleanupRequest,
  CleanupResult,
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
import { alarmChannel, AlarmStore } from "./alarms.ts";
import { type PgContext, toProviderError } from "./context.ts";
import { openPool, type PgClient } from "./driver.ts";
import { FetchStore } from "./fetch.ts";
import { HostStore } from "./hosts.ts";
import { jobChannel, JobStore } from "./jobs.ts";
import { logOperation, withQueryLog } from "./log.ts";
import { migrate } from "./migrations.ts";
import { AlarmNotifier } from "./notify.ts";
import { PlacementStore } from "./placement.ts";
import { StateStore } from "./state.ts";
import type { ResolvedPostgresProviderOptions } from "./options.ts";

/** The largest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What exists while the provider is acquired. */
interface Session {
  db: PgClient;
  hosts: HostStore;
  placement: PlacementStore;
  state: StateStore;
  alarms: AlarmStore;
  fetch: FetchStore;
  jobs: JobStore;
  cleanupTimer?: ReturnType<typeof setTimeout>;
}

/** The PostgreSQL `ActorProvider`; created by `createPostgresProvider`. */
export class PostgresProvider implements ActorProvider {
  readonly name = "postgres";
  #options: ResolvedPostgresProviderOptions;
  #refs = 0;
  #opening?: Promise<Session>;
  #session?: Session;
  #maxDeadlineMs?: number;
  #notifier: AlarmNotifier;
  #jobNotifier: AlarmNotifier;

  /** @param options Resolved and validated options. */
  constructor(options: ResolvedPostgresProviderOptions) {
    this.#options = options;
    this.#notifier = new AlarmNotifier(alarmChannel(options.tablePrefix));
    this.#jobNotifier = new AlarmNotifier(jobChannel(options.tablePrefix));
  }

  /** Group-commit counters of `setState` (tests and benchmarks). */
  get writeStats(): Readonly<{ batches: number; writes: number }> | undefined {
    return this.#session?.state.writeStats;
  }

  /** Server process ID of a host's liveness session, if this instance registered the host (tests). */
  livenessPid(hostId: string): number | undefined {
    return this.#session?.hosts.session(hostId)?.pid;
  }

  async acquire(): Promise<void> {
    this.#refs++;
    if (this.#opening === undefined) this.#opening = this.#open();
    try {
      await this.#opening;
    } catch (err) {
      this.#refs--;
      if (this.#refs === 0) this.#opening = undefined;
      throw toProviderError(err, "open PostgreSQL provider");
    }
  }

  async release(): Promise<void> {
    if (this.#refs === 0) return;
    this.#refs--;
    if (this.#refs > 0) return;
    const opening = this.#opening;
    this.#opening = undefined;
    let session: Session;
    try {
      session = await opening!;
    } catch {
      return; // acquire() reports the failure
    }
    if (this.#session === session) this.#session = undefined;
    clearTimeout(session.cleanupTimer);
    await session.state.flush().catch(() => {});
    await session.jobs.flush().catch(() => {});
    await this.#notifier.setClient(undefined);
    await this.#jobNotifier.setClient(undefined);
    await session.hosts.closeAll();
    await session.db.end();
  }

  registerHost(req: RegisterHostRequest): Promise<{ hostId: string }> {
    return this.#run("registerHost", "register host", async (s) => {
      const result = await s.hosts.register(req);
      this.#maxDeadlineMs = Math.max(this.#maxDeadlineMs ?? 0, req.healthCheckDeadlineMs);
      return result;
    });
  }

  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    return this.#run("heartbeat", "record health check", (s) => s.hosts.heartbeat(hostId, healthCheckDeadlineMs));
  }

  unregisterHost(hostId: string): Promise<void> {
    return this.#run("unregisterHost", "unregister host", (s) => s.hosts.unregister(hostId));
  }

  listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]> {
    return this.#run("listHosts", "list hosts", (s) => s.hosts.list(healthCheckDeadlineMs));
  }

  claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    return this.#run("claimOnce", "claim once", (s) => s.hosts.claimOnce(key, expiresAtMs));
  }

  setHostDraining(hostId: string): Promise<void> {
    return this.#run("setHostDraining", "mark host draining", (s) => s.hosts.drain(hostId));
  }

  evictHost(hostId: string): Promise<boolean> {
    return this.#run("evictHost", "evict host", (s) => s.hosts.evict(hostId));
  }

  onAlarmSet(listener: (dueTime: number) => void): () => void {
    return this.#notifier.subscribe(listener);
  }

  onJobDispatched(listener: (dueTime: number) => void): () => void {
    return this.#jobNotifier.subscribe(listener);
  }

  lookupActor(req: LookupActorRequest): Promise<ActorPlacement> {
    return this.#run("lookupActor", "look up actor", (s) => s.placement.lookup(req));
  }

  removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    return this.#run("removeActor", "remove actor", (s) => s.placement.remove(actorType, actorId, hostId));
  }

  getState(actorType: string, actorId: string): Promise<Uint8Array> {
    return this.#run("getState", "get state", (s) => s.state.get(actorType, actorId));
  }

  setState(req: SetStateRequest): Promise<void> {
    return this.#run("setState", "set state", (s) => s.state.set(req));
  }

  deleteState(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    return this.#run("deleteState", "delete state", (s) => s.state.delete(actorType, actorId, options));
  }

  listStates(req: ListStatesRequest): Promise<StatePage> {
    return this.#run("listStates", "list states", (s) => s.state.list(req));
  }

  getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord> {
    return this.#run("getAlarm", "get alarm", (s) => s.alarms.get(actorType, actorId, name));
  }

  setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    return this.#run("setAlarm", "set alarm", (s) => s.alarms.set(actorType, actorId, name, props));
  }

  deleteAlarm(actorType: string, actorId: string, name: string): Promise<void> {
    return this.#run("deleteAlarm", "delete alarm", (s) => s.alarms.delete(actorType, actorId, name));
  }

  fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    return this.#run("fetchAndLeaseAlarms", "fetch alarms", (s) => s.fetch.fetchAndLease(req));
  }

  renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    return this.#run("renewAlarmLeases", "renew alarm leases", (s) => s.fetch.renew(req));
  }

  getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord> {
    return this.#run("getLeasedAlarm", "get leased alarm", (s) => s.alarms.getLeased(lease));
  }

  updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    return this.#run("updateLeasedAlarm", "update leased alarm", (s) => s.alarms.updateLeased(lease, update));
  }

  deleteLeasedAlarm(lease: AlarmLease): Promise<void> {
    return this.#run("deleteLeasedAlarm", "delete leased alarm", (s) => s.alarms.deleteLeased(lease));
  }

  releaseAlarmLease(lease: AlarmLease): Promise<void> {
    return this.#run("releaseAlarmLease", "release alarm lease", (s) => s.alarms.releaseLease(lease));
  }

  dispatchJob(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    return this.#run("dispatchJob", "dispatch job", (s) => s.jobs.dispatch(req));
  }

  getJob(jobId: string): Promise<JobRecord> {
    return this.#run("getJob", "get job", (s) => s.jobs.get(jobId));
  }

  listJobs(actorType: string, actorId: string): Promise<JobRecord[]> {
    return this.#run("listJobs", "list jobs", (s) => s.jobs.list(actorType, actorId));
  }

  cancelJob(jobId: string): Promise<void> {
    return this.#run("cancelJob", "cancel job", (s) => s.jobs.cancel(jobId));
  }

  retryDeadJob(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    return this.#run("retryDeadJob", "retry job", (s) => s.jobs.retryDead(jobId, fresh));
  }

  deleteDeadJob(jobId: string): Promise<void> {
    return this.#run("deleteDeadJob", "delete dead job", (s) => s.jobs.deleteDead(jobId));
  }

  fetchAndLeaseJobs(req: FetchAlarmsRequest): Promise<JobLease[]> {
    return this.#run("fetchAndLeaseJobs", "fetch jobs", (s) => s.jobs.fetchAndLease(req));
  }

  renewJobLeases(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    return this.#run("renewJobLeases", "renew job leases", (s) => s.jobs.renew(req));
  }

  getLeasedJob(lease: JobLease): Promise<JobRecord> {
    return this.#run("getLeasedJob", "get leased job", (s) => s.jobs.getLeased(lease));
  }

  completeLeasedJob(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    return this.#run("completeLeasedJob", "complete leased job", (s) => s.jobs.complete(lease, next));
  }

  releaseLeasedJob(lease: JobLease, update: { dueTime: number }): Promise<void> {
    return this.#run("releaseLeasedJob", "release leased job", (s) => s.jobs.release(lease, update));
  }

  deadLetterLeasedJob(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    return this.#run("deadLetterLeasedJob", "dead-letter job", (s) => s.jobs.deadLetter(lease, dead));
  }

  cleanup(req: CleanupRequest): Promise<CleanupResult> {
    return this.#run("cleanup", "clean up", async (s) => {
      if (typeof req !== "object" || req === null) throw new TypeError("Cannot clean up: request must be an object");
      return (await s.hosts.cleanup(req.healthCheckDeadlineMs))!;
    });
  }

  /** Runs `fn` on the open session, mapping errors to the provider contract and logging per `operationLog`. */
  #run<T>(method: string, action: string, fn: (session: Session) => Promise<T>): Promise<T> {
    return logOperation(this.#options.operationLog, method, async () => {
      const session = this.#session;
      if (session === undefined) {
        throw new ProviderError(`Cannot ${action}: the PostgreSQL provider is not acquired`);
      }
      try {
        return await fn(session);
      } catch (err) {
        throw toProviderError(err, action);
      }
    });
  }

  /** Opens the pool, migrates, builds the stores and starts cleanup. */
  async #open(): Promise<Session> {
    const { url, sql, queryTimeoutMs, maxConnections, tablePrefix, clock } = this.#options;
    const raw = await openPool(sql !== undefined ? { sql } : { url: url! }, {
      statementTimeoutMs: queryTimeoutMs,
      maxConnections,
    });
    const db = withQueryLog(raw, this.#options.queryLog);
    try {
      await migrate((fn) => db.begin(fn), tablePrefix, clock.now());
      const ctx: PgContext = { db, clock, prefix: tablePrefix };
      const session: Session = {
        db,
        hosts: new HostStore(ctx),
        placement: new PlacementStore(ctx),
        state: new StateStore(ctx),
        alarms: new AlarmStore(ctx),
        fetch: new FetchStore(ctx),
        jobs: new JobStore(ctx),
      };
      this.#session = session;
      await this.#notifier.setClient(db);
      await this.#jobNotifier.setClient(db);
      this.#scheduleCleanup(session, this.#options.cleanupIntervalMs);
      return session;
    } catch (err) {
      await db.end().catch(() => {});
      throw err;
    }
  }

  /**
   * Periodic cleanup, using the largest health-check deadline seen in
   * `registerHost` (expired state only until one is seen). The metadata claim
   * in `HostStore.cleanup` makes one process per cluster run each round.
   */
  #scheduleCleanup(session: Session, delayMs: number): void {
    const interval = this.#options.cleanupIntervalMs;
    if (interval === Infinity) return;
    session.cleanupTimer = setTimeout(() => {
      if (this.#session !== session) return;
      if (delayMs > MAX_TIMER_MS) return this.#scheduleCleanup(session, delayMs - MAX_TIMER_MS);
      session.hosts.cleanup(this.#maxDeadlineMs, interval).catch(() => {
        // Best effort: the next round retries, and explicit cleanup() reports errors.
      });
      this.#scheduleCleanup(session, interval);
    }, Math.min(delayMs, MAX_TIMER_MS));
    unrefTimer(session.cleanupTimer);
  }
}

/** Lets the process exit while only the cleanup timer is pending (Deno and Node). */
function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    timer.unref();
  } else if (typeof timer === "number") {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(timer);
  }
}
