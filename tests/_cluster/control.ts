/**
 * The control loop of a child host process in the multi-process tests: it
 * prints `ready <hostId> <address>`, then answers one JSON request per stdin
 * line with one JSON line, and stops the host (SIGTERM or end of stdin).
 *
 * Requests: `invoke` (type, actorId, method), `burst` (type, actorIds, method:
 * all at once, each result or `{ error }`), `setAlarm` (type, actorId, name,
 * interval), `dispatch` (type, actorId, method, input, idempotencyKey: resolves
 * with the job ID), `getJob` (jobId), `listJobs` (type, actorId), `retryJob`
 * (jobId), `hostId`.
 */

import type { ActorService } from "../../mod.ts";
import { type ChildRequest, serveRequests, stopOnSigterm } from "../_shared/child_loop.ts";

interface Request extends ChildRequest {
  type: string;
  actorId?: string;
  actorIds?: string[];
  method?: string;
  name?: string;
  interval?: number;
  input?: unknown;
  idempotencyKey?: string;
  jobId?: string;
}

/** Runs a started host until SIGTERM or end of stdin; `cleanup` runs after `host.stop()`. */
export async function serveControl(
  host: { hostId: string; address: string; service: ActorService; stop(): Promise<void> },
  cleanup: () => Promise<void>,
): Promise<void> {
  const stop = stopOnSigterm(() => host.stop().then(cleanup));
  const s = host.service;
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case "invoke":
        return await s.invoke(req.type, req.actorId!, req.method!);
      case "burst": {
        const results = await Promise.allSettled(req.actorIds!.map((id) => s.invoke(req.type, id, req.method!)));
        return results.map((r) => r.status === "fulfilled" ? r.value : { error: String(r.reason) });
      }
      case "setAlarm":
        return await s.setAlarm(req.type, req.actorId!, req.name!, { delayMs: 0, interval: req.interval });
      case "dispatch":
        return await s.dispatch(req.type, req.actorId!, req.method!, req.input, {
          ...(req.idempotencyKey === undefined ? {} : { idempotencyKey: req.idempotencyKey }),
        });
      case "getJob":
        return await s.getJob(req.jobId!);
      case "listJobs":
        return await s.listJobs(req.type, req.actorId!);
      case "retryJob":
        return await s.retryJob(req.jobId!);
      case "hostId":
        return host.hostId;
      default:
        throw new TypeError(`unknown op ${req.op}`);
    }
  };
  await serveRequests(`ready ${host.hostId} ${host.address}`, handle, stop);
}
