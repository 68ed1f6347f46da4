/**
 * The `ActorProvider` of a worker: every call goes to the runtime over the
 * session, which owns the real store (API.md §16.1). Acquire and release are
 * no-ops: the `RemoteHost` opens and closes the session itself.
 *
 * @module
 */

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
} from "../providers/types.ts";
import type { RuntimeSession } from "./session.ts";

/**
 * Provider calls over a runtime session.
 *
 * @example
 * ```ts ignore
 * const provider = new RemoteProvider(session);
 * await provider.setState({ actorType: "counter", actorId: "c1", data: new Uint8Array([1]) });
 * ```
 */
export class RemoteProvider implements ActorProvider {
  readonly name = "remote";
  readonly #s: RuntimeSession;

  constructor(session: RuntimeSession) {
    this.#s = session;
  }

  #call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.#s.call(method, args) as Promise<T>;
  }

  acquire(): Promise<void> {
    return Promise.resolve();
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
  registerHost(req: RegisterHostRequest): Promise<{ hostId: string }> {
    return this.#call("registerHost", req);
  }
  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    return this.#call("heartbeat", hostId, healthCheckDeadlineMs);
  }
  unregisterHost(hostId: string): Promise<void> {
    return this.#call("unregisterHost", hostId);
  }
  listHosts(healthCheckDeadlineMs: number): Promise<HostRecord[]> {
    return this.#call("listHosts", healthCheckDeadlineMs);
  }
  claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    return this.#call("claimOnce", key, expiresAtMs);
  }
  setHostDraining(hostId: string): Promise<void> {
    return this.#call("setHostDraining", hostId);
  }
  evictHost(hostId: string): Promise<boolean> {
    return this.#call("evictHost", hostId);
  }
  lookupActor(req: LookupActorRequest): Promise<ActorPlacement> {
    return this.#call("lookupActor", req);
  }
  removeActor(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    return this.#call("removeActor", actorType, actorId, hostId);
  }
  getState(actorType: string, actorId: string): Promise<Uint8Array> {
    return this.#call("getState", actorType, actorId);
  }
  setState(req: SetStateRequest): Promise<void> {
    return this.#call("setState", req);
  }
  deleteState(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    return this.#call("deleteState", actorType, actorId, options);
  }
  listStates(req: ListStatesRequest): Promise<StatePage> {
    return this.#call("listStates", req);
  }
  getAlarm(actorType: string, actorId: string, name: string): Promise<AlarmRecord> {
    return this.#call("getAlarm", actorType, actorId, name);
  }
  setAlarm(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    return this.#call("setAlarm", actorType, actorId, name, props);
  }
  deleteAlarm(actorType: string, actorId: string, name: string): Promise<void> {
    return this.#call("deleteAlarm", actorType, actorId, name);
  }
  fetchAndLeaseAlarms(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    return this.#call("fetchAndLeaseAlarms", req);
  }
  renewAlarmLeases(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    return this.#call("renewAlarmLeases", req);
  }
  getLeasedAlarm(lease: AlarmLease): Promise<AlarmRecord> {
    return this.#call("getLeasedAlarm", lease);
  }
  updateLeasedAlarm(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    return this.#call("updateLeasedAlarm", lease, update);
  }
  deleteLeasedAlarm(lease: AlarmLease): Promise<void> {
    return this.#call("deleteLeasedAlarm", lease);
  }
  releaseAlarmLease(lease: AlarmLease): Promise<void> {
    return this.#call("releaseAlarmLease", lease);
  }
  dispatchJob(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    return this.#call("dispatchJob", req);
  }
  getJob(jobId: string): Promise<JobRecord> {
    return this.#call("getJob", jobId);
  }
  listJobs(actorType: string, actorId: string): Promise<JobRecord[]> {
    return this.#call("listJobs", actorType, actorId);
  }
  cancelJob(jobId: string): Promise<void> {
    return this.#call("cancelJob", jobId);
  }
  retryDeadJob(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    return this.#call("retryDeadJob", jobId, fresh);
  }
  deleteDeadJob(jobId: string): Promise<void> {
    return this.#call("deleteDeadJob", jobId);
  }
  fetchAndLeaseJobs(req: FetchAlarmsRequest): Promise<JobLease[]> {
    return this.#call("fetchAndLeaseJobs", req);
  }
  renewJobLeases(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    return this.#call("renewJobLeases", req);
  }
  getLeasedJob(lease: JobLease): Promise<JobRecord> {
    return this.#call("getLeasedJob", lease);
  }
  completeLeasedJob(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    return this.#call("completeLeasedJob", lease, next);
  }
  releaseLeasedJob(lease: JobLease, update: { dueTime: number }): Promise<void> {
    return this.#call("releaseLeasedJob", lease, update);
  }
  deadLetterLeasedJob(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    return this.#call("deadLetterLeasedJob", lease, dead);
  }
  cleanup(_req: CleanupRequest): Promise<CleanupResult> {
    // The runtime's own provider cleans up; workers never do.
    return Promise.resolve({ expiredStates: 0, deadHosts: 0 });
  }
}
