/**
 * The configuration keys (API.md §19.2) and their strict zod schema. The
 * schema validates one source at a time (file, environment or flags); every
 * key is optional at that level, since another source may supply it.
 * Required keys and rules across keys are checked after the sources are merged
 * (`config.ts`).
 *
 * Leaves reuse the checks of `resolveRuntimeOptions` (`_checks.ts`), so a
 * file and a programmatic option obey the same rules. Durations are parsed to
 * ms here; their keys carry no `Ms` suffix in the file.
 *
 * @module
 */

import { z } from "zod";
import { typeName } from "../_internal/validate.ts";
import {
  checkAddress,
  checkJwksUrl,
  checkNonEmpty,
  checkPsk,
  checkRange,
  checkRuntimeId,
  checkStaticJwks,
  COUNT_RANGES,
  DURATION_RANGES,
  InvalidValue,
  MIN_HOST_PSK_BYTES,
  MIN_RUNTIME_PSK_BYTES,
} from "./_checks.ts";
import { parseDuration } from "./duration.ts";
import { LOG_LEVELS } from "./logger.ts";
import { parseConnectionString } from "./provider_spec.ts";

/** How an environment variable's text becomes the value the leaf checks. */
export type EnvShape = "string" | "bool" | "int" | "list";

/** A configuration key: its check and how its environment variable is read. */
export interface Leaf {
  readonly check: (value: unknown) => unknown;
  readonly env: EnvShape;
}

/** A nested description of every key. */
export interface KeyTree {
  readonly [key: string]: Leaf | KeyTree;
}

const leaf = (check: (value: unknown) => unknown, env: EnvShape = "string"): Leaf => ({ check, env });
const oneOf = (values: readonly string[]) => (v: unknown): string => {
  if (typeof v === "string" && values.includes(v)) return v;
  throw new InvalidValue("type", `must be one of ${values.join(", ")} (got ${JSON.stringify(v) ?? "undefined"})`);
};
const bool = (v: unknown): boolean => {
  if (typeof v === "boolean") return v;
  throw new InvalidValue(
    "type",
    `must be true or false (got ${typeof v === "string" ? JSON.stringify(v) : typeName(v)})`,
  );
};
const duration = (key: keyof typeof DURATION_RANGES) => (v: unknown): number => {
  const [min, max] = DURATION_RANGES[key];
  return checkRange(parseDuration(v), min, max, " ms");
};
const count = (key: keyof typeof COUNT_RANGES) => (v: unknown): number => {
  const [min, max] = COUNT_RANGES[key];
  return checkRange(v, min, max, "");
};
const psk = (min: number) => (v: unknown): string => {
  if (typeof v !== "string") throw new InvalidValue("type", `must be a string (got ${typeName(v)})`);
  checkPsk(v, min);
  return v;
};
const transport = (v: unknown): "tls" | "webtransport" => oneOf(["tls", "webtransport"])(v) as "tls" | "webtransport";
const jwks = (v: unknown): string => {
  checkStaticJwks(v);
  return v as string;
};
const connection = (v: unknown): string => {
  parseConnectionString(v);
  return v as string;
};

/** Every configuration key. */
export const CONFIG_KEYS: KeyTree = Object.freeze({
  bind: leaf((v) => checkAddress(v, false)),
  healthBind: leaf((v) => checkAddress(v, true)),
  runtimeId: leaf(checkRuntimeId),
  runtimePsks: leaf(psk(MIN_RUNTIME_PSK_BYTES), "list"),
  bootstrap: {
    method: leaf(oneOf(["psk", "jwt"])),
    hostPsk: leaf(psk(MIN_HOST_PSK_BYTES)),
    jwt: {
      issuer: leaf(checkNonEmpty),
      audience: leaf(checkNonEmpty),
      jwksUrl: leaf(checkJwksUrl),
      staticJwks: leaf(jwks),
    },
  },
  provider: {
    connectionString: leaf(connection),
    queryLog: {
      enabled: leaf(bool, "bool"),
      includeParameters: leaf(bool, "bool"),
      slowThreshold: leaf(duration("slowThresholdMs")),
    },
    operationLog: { enabled: leaf(bool, "bool"), slowThreshold: leaf(duration("slowThresholdMs")) },
  },
  workloadCertTtl: leaf(duration("workloadCertTtlMs")),
  healthCheckDeadline: leaf(duration("healthCheckDeadlineMs")),
  alarmsPollInterval: leaf(duration("alarmsPollIntervalMs")),
  alarmsLeaseDuration: leaf(duration("alarmsLeaseDurationMs")),
  alarmsFetchAhead: leaf(duration("alarmsFetchAheadMs")),
  alarmsFetchBatchSize: leaf(count("alarmsFetchBatchSize"), "int"),
  alarmExecutionTimeout: leaf(duration("alarmExecutionTimeoutMs")),
  requestTimeout: leaf(duration("requestTimeoutMs")),
  shutdownGracePeriod: leaf(duration("shutdownGracePeriodMs")),
  maxHosts: leaf(count("maxHosts"), "int"),
  transport: leaf(transport),
  log: { level: leaf(oneOf(LOG_LEVELS)), json: leaf(bool, "bool") },
});

/**
 * Whether a node of {@linkcode CONFIG_KEYS} is a key (rather than a group).
 *
 * @example
 * ```ts
 * import { CONFIG_KEYS, isLeaf } from "./config_schema.ts";
 * console.log(isLeaf(CONFIG_KEYS.bind), isLeaf(CONFIG_KEYS.log)); // true false
 * ```
 */
export function isLeaf(node: Leaf | KeyTree): node is Leaf {
  return typeof (node as Leaf).check === "function";
}

function leafSchema(l: Leaf): z.ZodType {
  const one = z.unknown().transform((value, ctx) => {
    try {
      return l.check(value);
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      ctx.addIssue({ code: "custom", message: err.reason, input: value });
      return z.NEVER;
    }
  });
  return l.env === "list" ? z.array(one).min(1) : one;
}

function treeSchema(tree: KeyTree): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, node] of Object.entries(tree)) {
    shape[key] = (isLeaf(node) ? leafSchema(node) : treeSchema(node)).optional();
  }
  return z.strictObject(shape);
}

/** The strict schema of one source's configuration tree; values come out checked (durations in ms). */
export const CONFIG_SCHEMA: z.ZodType = treeSchema(CONFIG_KEYS);

/** A validation problem: the key path (`bootstrap.hostPsk`, `runtimePsks[1]`) and the end of the sentence. */
export interface ConfigProblem {
  path: string;
  reason: string;
}

/**
 * Formats a key path: `["runtimePsks", 1]` → `runtimePsks[1]`, `["log", "level"]` → `log.level`.
 *
 * @example
 * ```ts
 * import { formatPath } from "./config_schema.ts";
 * console.log(formatPath(["bootstrap", "jwt", "issuer"]), formatPath(["runtimePsks", 1])); // bootstrap.jwt.issuer runtimePsks[1]
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates one source's tree; returns the checked tree or the first problem.
 *
 * @example
 * ```ts
 * import { validateConfigTree } from "./config_schema.ts";
 * console.log(validateConfigTree({ healthCheckDeadline: "20s" })); // { ok: true, value: { healthCheckDeadline: 20000 } }
 * console.log(validateConfigTree({ bnd: "x" })); // { ok: false, problem: { path: "bnd", reason: "is not a known key" } }
 * ```
 */
export function validateConfigTree(
  tree: unknown,
): { ok: true; value: Record<string, unknown> } | { ok: false; problem: ConfigProblem } {
  const result = CONFIG_SCHEMA.safeParse(tree, { reportInput: true });
  if (result.success) return { ok: true, value: result.data as Record<string, unknown> };
  const issue = result.error.issues[0];
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = /^[A-Za-z_$][\w$]*$/.test(issue.keys[0]) ? issue.keys[0] : JSON.stringify(issue.keys[0]);
      return { ok: false, problem: { path: path === "" ? key : `${path}.${key}`, reason: "is not a known key" } };
    }
    case "invalid_type": {
      const what = issue.expected === "array" ? "a list" : issue.expected === "object" ? "a mapping" : issue.expected;
      return { ok: false, problem: { path, reason: `must be ${what} (got ${typeName(issue.input)})` } };
    }
    case "too_small":
      return { ok: false, problem: { path, reason: "must not be empty" } };
    default:
      return { ok: false, problem: { path, reason: issue.message } };
  }
}
