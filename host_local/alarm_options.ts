/**
 * Validation of `SetAlarmOptions` (API.md §9.1) and conversion between stored
 * alarm records and the public `AlarmInfo`.
 *
 * @module
 */

import type { AlarmInfo, SetAlarmOptions } from "../actor/types.ts";
import type { AlarmProperties, AlarmRecord } from "../providers/types.ts";
import { type Codec, decodePayload, encodePayload } from "../_internal/codec.ts";
import { parseInterval } from "../_internal/iso_duration.ts";
import { checkInt, checkTime } from "../_internal/validate.ts";

const ACTION = "set alarm";
const KNOWN = new Set(["dueTime", "delayMs", "interval", "ttl", "data", "signal"]);
/** The largest distance from the epoch that a `Date` can hold, in ms. */
const MAX_TIME_MS = 8.64e15;

/**
 * Validates alarm options and computes the stored properties. Throws
 * `TypeError` (both `dueTime` and `delayMs`, malformed values) or `RangeError`
 * (negative delay, zero interval, `ttl` at or before the first due time).
 *
 * @example
 * ```ts
 * import { resolveAlarm } from "./alarm_options.ts";
 * import { jsonCodec } from "../_internal/codec.ts";
 * const p = resolveAlarm({ delayMs: 1000, interval: 60_000 }, jsonCodec, 0);
 * console.log(p.dueTime, p.interval); // 1000 PT1M
 * ```
 */
export function resolveAlarm(alarm: SetAlarmOptions, codec: Codec, now: number): AlarmProperties {
  if (typeof alarm !== "object" || alarm === null) throw new TypeError(`Cannot ${ACTION}: alarm must be an object`);
  for (const key of Object.keys(alarm)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  if (alarm.dueTime !== undefined && alarm.delayMs !== undefined) {
    throw new TypeError(`Cannot ${ACTION}: dueTime and delayMs are mutually exclusive`);
  }
  let dueTime = now;
  // The due time must stay within the range of a `Date` (±8.64e15 ms), like `dueTime` and `ttl`.
  if (alarm.delayMs !== undefined) dueTime = now + checkInt(alarm.delayMs, ACTION, "delayMs", 0, MAX_TIME_MS - now);
  else if (alarm.dueTime !== undefined) dueTime = checkTime(alarm.dueTime, ACTION, "dueTime");
  const props: AlarmProperties = { dueTime };
  if (alarm.interval !== undefined) props.interval = parseInterval(alarm.interval, ACTION, "interval").iso;
  if (alarm.ttl !== undefined) {
    const ttl = checkTime(alarm.ttl, ACTION, "ttl");
    if (ttl <= dueTime) {
      throw new RangeError(
        `Cannot ${ACTION}: ttl must be after the first due time (got ${new Date(ttl).toISOString()}, due ${
          new Date(dueTime).toISOString()
        })`,
      );
    }
    props.ttl = ttl;
  }
  if (alarm.data !== undefined) props.data = encodePayload(codec, alarm.data, "alarm data");
  return props;
}

/**
 * Converts a stored alarm to the public `AlarmInfo`, decoding its data.
 *
 * @example
 * ```ts
 * import { alarmInfoFromRecord } from "./alarm_options.ts";
 * import { jsonCodec } from "../_internal/codec.ts";
 * const info = alarmInfoFromRecord({ actorType: "t", actorId: "a", name: "n", dueTime: 0 }, jsonCodec);
 * console.log(info.dueTime.toISOString()); // 1970-01-01T00:00:00.000Z
 * ```
 */
export function alarmInfoFromRecord(rec: AlarmRecord, codec: Codec): AlarmInfo {
  const info: AlarmInfo = {
    actorType: rec.actorType,
    actorId: rec.actorId,
    name: rec.name,
    dueTime: new Date(rec.dueTime),
  };
  if (rec.interval !== undefined) info.interval = rec.interval;
  if (rec.ttl !== undefined) info.ttl = new Date(rec.ttl);
  if (rec.data !== undefined && rec.data.length > 0) info.data = decodePayload(codec, rec.data);
  return info;
}
