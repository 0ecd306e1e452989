/**
 * The OpenMetrics 1.0 text exposition format (https://prometheus.io/docs/specs/om/open_metrics_spec/):
 * metric families in, text out. Only the types this project exposes; names are checked here, so a
 * bad one fails loudly rather than producing text a scraper refuses.
 */

export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram" | "gaugehistogram" | "stateset" | "info";
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Appended to the family's name: `_total` of a counter, `_bucket` of a histogram, `_info` of an info. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  /** If set, the name must end with `_<unit>`. */
  unit?: string;
  samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function encodeOpenMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`bad metric name: ${family.name}`);
    if (family.unit && !family.name.endsWith(`_${family.unit}`)) throw new Error(`${family.name} does not end with its unit ${family.unit}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.unit) lines.push(`# UNIT ${family.name} ${family.unit}`);
    lines.push(`# HELP ${family.name} ${escape(family.help)}`);
    for (const sample of family.samples) lines.push(`${family.name}${sample.suffix ?? ""}${labelSet(sample.labels ?? {})} ${formatNumber(sample.value)}`);
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/** The cumulative `_bucket` samples of a (gauge) histogram from per-bucket counts: one per bound, then `+Inf`. */
export function bucketSamples(bounds: readonly number[], counts: readonly number[], labels: Labels = {}): Sample[] {
  let cumulative = 0;
  const samples = bounds.map((bound, i) => {
    cumulative += counts[i] ?? 0;
    return { suffix: "_bucket", labels: { ...labels, le: canonicalFloat(bound) }, value: cumulative };
  });
  cumulative += counts.slice(bounds.length).reduce((a, b) => a + b, 0);
  return [...samples, { suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: cumulative }];
}

/** A stateset's samples: one per state, labelled with the family's name, 1 for the state in force. */
export function stateSamples(name: string, states: readonly string[], current: string, labels: Labels = {}): Sample[] {
  return states.map((state) => ({ labels: { ...labels, [name]: state }, value: state === current ? 1 : 0 }));
}

/** Backslash, double quote and line feed are escaped in label values and HELP text alike. */
export function escape(text: string): string {
  return text.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function labelSet(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name: ${name}`);
    return `${name}="${escape(value)}"`;
  });
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** `le` values are compared as text by some consumers: the spec's canonical form writes 1 as "1.0". */
function canonicalFloat(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : formatNumber(value);
}
