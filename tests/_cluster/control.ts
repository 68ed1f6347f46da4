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
import { TextLineStream } from "../_lines.ts";

interface Request {
  id: number;
  op: string;
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

const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

/** Runs a started host until SIGTERM or end of stdin; `cleanup` runs after `host.stop()`. */
export async function serveControl(
  host: { hostId: string; address: string; service: ActorService; stop(): Promise<void> },
  cleanup: () => Promise<void>,
): Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= host.stop().then(cleanup).then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGTERM", stop);
  say(`ready ${host.hostId} ${host.address}`);

  const handle = async (req: Request): Promise<unknown> => {
    const s = host.service;
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

  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const req = JSON.parse(line) as Request;
    handle(req).then(
      (ok) => say(JSON.stringify({ id: req.id, ok: ok ?? null })),
      (err) => say(JSON.stringify({ id: req.id, error: { name: err?.name, code: err?.code, message: err?.message } })),
    );
  }
  stop();
}
