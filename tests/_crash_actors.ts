/**
 * Actors shared by crash_test.ts and its child process.
 */

import type { ActorService } from "../mod.ts";
import type { LocalHost } from "../host_local/host.ts";

/** Registers "writer" (stores the last sequence number it was sent) and "alarmed" (records its alarm). */
export function registerCrashActors(host: LocalHost): void {
  host.registerActor("writer", (id: string, service: ActorService) => {
    const self = service.client<{ seq: number }>("writer", id);
    return { invoke: (_m: string, seq: unknown) => self.setState({ seq: seq as number }) };
  });
  host.registerActor("alarmed", (id: string, service: ActorService) => ({
    alarm: (_name: string, data: unknown) => service.setState("alarmed", id, { fired: true, data }),
  }));
}
