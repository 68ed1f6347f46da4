/**
 * Shared types, percentiles and table formatting of the benchmark suite.
 *
 * @module
 */

/** A target a metric is checked against. */
export interface Target {
  op: ">=" | "<=";
  value: number;
}

/** One measured figure. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  target?: Target;
  /** Whether the target was met; absent when the metric has no target. */
  met?: boolean;
  note?: string;
}

/** What a scenario reports. */
export interface ScenarioResult {
  metrics: Metric[];
  /** The workload parameters actually used. */
  params: Record<string, unknown>;
  /** Honest remarks: caveats, evidence, sanity checks. */
  notes: string[];
  /** Extra raw figures (distributions, counters). */
  details?: Record<string, unknown>;
}

/** Options every scenario receives. */
export interface ScenarioOptions {
  /** A short smoke run with small counts. */
  quick: boolean;
}

/** Builds a metric and evaluates its target. */
export function metric(name: string, value: number, unit: string, target?: Target, note?: string): Metric {
  const m: Metric = { name, value, unit };
  if (target !== undefined) {
    m.target = target;
    m.met = Number.isFinite(value) && (target.op === ">=" ? value >= target.value : value <= target.value);
  }
  if (note !== undefined) m.note = note;
  return m;
}

/** Distribution summary. */
export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array; `p` in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Summarises samples (they are copied, then sorted). */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    count: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
  };
}

/** Rounds a summary for JSON output. */
export function roundSummary(s: Summary, digits = 2): Summary {
  const r = (n: number) => round(n, digits);
  return {
    count: s.count,
    min: r(s.min),
    p50: r(s.p50),
    p90: r(s.p90),
    p99: r(s.p99),
    p999: r(s.p999),
    max: r(s.max),
    mean: r(s.mean),
  };
}

/** Rounds to `digits` decimals. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Formats a number with thousands separators and at most 3 significant decimals. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function formatTarget(t: Target | undefined, unit: string): string {
  return t === undefined ? "—" : `${t.op} ${formatNumber(t.value)} ${unit}`;
}

/** Renders the results as a fixed-width table. */
export function renderTable(results: Record<string, ScenarioResult | { error: string }>): string {
  const rows: string[][] = [["scenario", "metric", "value", "target", "met?"]];
  for (const [key, result] of Object.entries(results)) {
    if ("error" in result) {
      rows.push([key, "ERROR", result.error.split("\n")[0], "—", "—"]);
      continue;
    }
    for (const m of result.metrics) {
      const met = m.met === undefined ? "—" : m.met ? "yes" : "NO";
      rows.push([key, m.name, `${formatNumber(m.value)} ${m.unit}`, formatTarget(m.target, m.unit), met]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])));
  const sep = widths.map((w) => "-".repeat(w));
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].map((r) => r.join("  ")).join("\n");
}
