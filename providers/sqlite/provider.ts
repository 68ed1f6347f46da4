/**
 * `SqliteProvider`: composes the concern modules into an `ActorProvider`,
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
import { AlarmStore } from "./alarms.ts";
import { WriteQueue, type WriteQueueStats } from "./batch.ts";
import { type SqliteContext, toProviderError } from "./context.ts";
import { type DatabaseSync, openDatabase } from "./driver.ts";
import { HostStore } from "./hosts.ts";
import { JobStore } from "./jobs.ts";
import { migrate } from "./migrations.ts";
import { PlacementStore } from "./placement.ts";
import { StateStore } from "./state.ts";
import type { ResolvedSqliteProviderOptions } from "./mod.ts";

/** The largest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What exists while the provider is acquired. */
interface Session {
  db: DatabaseSync;
  queue: WriteQueue;
  hosts: HostStore;
  placement: PlacementStore;
  state: StateStore;
  alarms: AlarmStore;
  jobs: JobStore;
  cleanupTimer?: ReturnType<typeof setTimeout>;
}

/** The SQLite `ActorProvider`; created by `createSqliteProvider`. */
export class SqliteProvider implements ActorProvider {
  readonly name = "sqlite";
  #options: ResolvedSqliteProviderOptions;
  #refs = 0;
  #opening?: Promise<Session>;
  #session?: Session;
  #maxDeadlineMs?: number;

  /** @param options Resolved and validated options. */
  constructor(options: ResolvedSqliteProviderOptions) {
    this.#options = options;
  }

  /** Group-commit counters of the open connection (tests and benchmarks). */
  get writeStats(): Readonly<WriteQueueStats> | undefined {
    return this.#session?.queue.stats;
  }

  async acquire(): Promise<void> {
    this.#refs++;
    if (this.#opening === undefined) this.#opening = this.#open();
    try {
      await this.#opening;
    } catch (err) {
      this.#refs--;
      if (this.#refs === 0) this.#opening = undefined;
      throw toProviderError(err, "open SQLite provider");
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
    // A new acquire() may have opened a fresh session meanwhile; leave that one alone.
    if (this.#session === session) this.#session = undefined;
    clearTimeout(session.cleanupTimer);
    session.queue.close();
    if (this.#options.database === undefined) session.db.close();
  }

  async registerHost(req: RegisterHostRequest): Promise<{ hostId: string }> {
    return await this.#run("register host", async (s) => {
      const result = await s.hosts.register(req);
      this.#maxDeadlineMs = Math.max(this.#maxDeadlineMs ?? 0, req.healthCheckDeadlineMs);
      return result;
    });
  }

  async heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    return await this.#run("record health check", (s) => s.hosts.heartbeat(hostId, healthCheckDeadlineMs));
  }

  async unregisterHost(hostId: string): Promise<void> {
    return await this.#run("unregister host", (s) => s.hosts.unregister(hostId));
  }

  async claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    return await this.#run("claim once", (s) => s.hosts.claimOnce(key, expiresAtMs));
  }

  async setHostDraining(hostId: string): Promise<void> {
    return await this.#run("mark host draining", (s) => s.hosts.drain(hostId));
  }

  async evictHost(hostId: string): Promise<boolean> {
    return await this.#run("evict host", (s) => s.hosts.evict(hostId));
  }

  async listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]> {
    return await this.#run("list hosts", (s) => s.hosts.list(healthCheckDeadlineMs));
  }

  async lookupActor(req: LookupActorRequest): Promise<ActorPlacement> {
    return await this.#run("look up actor", (s) => s.placement.lookup(req));
  }

  async removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    return await this.#run("remove actor", (s) => s.placement.remove(actorType, actorId, hostId));
  }

  async getState(actorType: string, actorId: string): Promise<Uint8Array> {
    return await this.#run("get state", (s) => s.state.get(actorType, actorId));
  }

  async setState(req: SetStateRequest): Promise<void> {
    return await this.#run("set state", (s) => s.state.set(req));
  }

  async deleteState(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    return await this.#run("delete state", (s) => s.state.delete(actorType, actorId, options));
  }

  async listStates(req: ListStatesRequest): Promise<StatePage> {
    return await this.#run("list states", (s) => s.state.list(req));
  }

  async getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord> {
    return await this.#run("get alarm", (s) => s.alarms.get(actorType, actorId, name));
  }

  async setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    return await this.#run("set alarm", (s) => s.alarms.set(actorType, actorId, name, props));
  }

  async deleteAlarm(actorType: string, actorId: string, name: string): Promise<void> {
    return await this.#run("delete alarm", (s) => s.alarms.delete(actorType, actorId, name));
  }

  async fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    return await this.#run("fetch alarms", (s) => s.alarms.fetchAndLease(req));
  }

  async renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    return await this.#run("renew alarm leases", (s) => s.alarms.renew(req));
  }

  async getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord> {
    return await this.#run("get leased alarm", (s) => s.alarms.getLeased(lease));
  }

  async updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    return await this.#run("update leased alarm", (s) => s.alarms.updateLeased(lease, update));
  }

  async deleteLeasedAlarm(lease: AlarmLease): Promise<void> {
    return await this.#run("delete leased alarm", (s) => s.alarms.deleteLeased(lease));
  }

  async releaseAlarmLease(lease: AlarmLease): Promise<void> {
    return await this.#run("release alarm lease", (s) => s.alarms.releaseLease(lease));
  }

  async dispatchJob(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    return await this.#run("dispatch job", (s) => s.jobs.dispatch(req));
  }

  async getJob(jobId: string): Promise<JobRecord> {
    return await this.#run("get job", (s) => s.jobs.get(jobId));
  }

  async listJobs(actorType: string, actorId: string): Promise<JobRecord[]> {
    return await this.#run("list jobs", (s) => s.jobs.list(actorType, actorId));
  }

  async cancelJob(jobId: string): Promise<void> {
    return await this.#run("cancel job", (s) => s.jobs.cancel(jobId));
  }

  async retryDeadJob(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    return await this.#run("retry job", (s) => s.jobs.retryDead(jobId, fresh));
  }

  async deleteDeadJob(jobId: string): Promise<void> {
    return await this.#run("delete dead job", (s) => s.jobs.deleteDead(jobId));
  }

  async fetchAndLeaseJobs(req: FetchAlarmsRequest): Promise<JobLease[]> {
    return await this.#run("fetch jobs", (s) => s.jobs.fetchAndLease(req));
  }

  async renewJobLeases(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    return await this.#run("renew job leases", (s) => s.jobs.renew(req));
  }

  async getLeasedJob(lease: JobLease): Promise<JobRecord> {
    return await this.#run("get leased job", (s) => s.jobs.getLeased(lease));
  }

  async completeLeasedJob(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    return await this.#run("complete leased job", (s) => s.jobs.complete(lease, next));
  }

  async releaseLeasedJob(lease: JobLease, update: { dueTime: number }): Promise<void> {
    return await this.#run("release leased job", (s) => s.jobs.release(lease, update));
  }

  async deadLetterLeasedJob(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    return await this.#run("dead-letter job", (s) => s.jobs.deadLetter(lease, dead));
  }

  async cleanup(req: CleanupRequest): Promise<CleanupResult> {
    return await this.#run("clean up", async (s) => (await s.hosts.cleanup(req.healthCheckDeadlineMs))!);
  }

  /** Runs `fn` on the open session, mapping errors to the provider contract. */
  async #run<T>(action: string, fn: (session: Session) => T | Promise<T>): Promise<T> {
    const session = this.#session;
    if (session === undefined) {
      throw new ProviderError(`Cannot ${action}: the SQLite provider is not acquired`);
    }
    try {
      return await fn(session);
    } catch (err) {
      throw toProviderError(err, action);
    }
  }

  /** Opens the connection, applies PRAGMAs, migrates, prepares statements and starts cleanup. */
  async #open(): Promise<Session> {
    const { database, path } = this.#options;
    const db = database ?? await openDatabase(path);
    try {
      this.#configure(db);
      migrate(db, this.#options.tablePrefix);
      const queue = new WriteQueue(db);
      const ctx: SqliteContext = { db, queue, clock: this.#options.clock, prefix: this.#options.tablePrefix };
      const session: Session = {
        db,
        queue,
        hosts: new HostStore(ctx),
        placement: new PlacementStore(ctx),
        state: new StateStore(ctx),
        alarms: new AlarmStore(ctx),
        jobs: new JobStore(ctx),
      };
      this.#session = session;
      this.#scheduleCleanup(session, this.#options.cleanupIntervalMs);
      return session;
    } catch (err) {
      if (database === undefined) db.close();
      throw err;
    }
  }

  /** PRAGMAs: busy timeout first, so that switching to WAL waits for other connections. */
  #configure(db: DatabaseSync): void {
    const { busyTimeoutMs, synchronous } = this.#options;
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.exec("PRAGMA foreign_keys = ON");
    const files = db.prepare("PRAGMA database_list").all() as { name: string; file: string }[];
    const inMemory = (files.find((f) => f.name === "main")?.file ?? "") === "";
    db.exec(`PRAGMA journal_mode = ${inMemory ? "MEMORY" : "WAL"}`);
    db.exec(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
    db.exec("PRAGMA temp_store = MEMORY");
  }

  /**
   * Periodic cleanup, using the largest health-check deadline seen in
   * `registerHost` (expired state only until one is seen). The metadata claim
   * in `HostStore.cleanup` makes one process per file run each round.
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
