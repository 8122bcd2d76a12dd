// A strict reader of the Prometheus text exposition format (0.0.4), written from the format's spec and
// independent of prom-client, so tests check that /metrics is text a scraper accepts: every line is a
// comment, HELP, TYPE or a well-formed sample, and every sample belongs to a declared family.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split("\n").forEach((line, i) => {
    const fail = (why: string) => new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    if (line === "") return;
    if (line.startsWith("#")) {
      const type = new RegExp(`^# TYPE (${NAME}) (\\w+)$`).exec(line);
      if (type) {
        if (!TYPES.has(type[2]!)) throw fail("unknown type");
        types.set(type[1]!, type[2]!);
      } else if (!new RegExp(`^# HELP ${NAME} `).test(line)) throw fail("not HELP or TYPE");
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw fail("not a sample");
    const value = parseValue(m[3]!);
    if (value === undefined) throw fail("bad value");
    samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? "", fail), value });
  });
  for (const s of samples) {
    const family = [s.name, s.name.replace(/_(bucket|sum|count)$/, "")].find((n) => types.has(n));
    if (family === undefined) throw new Error(`sample ${s.name} has no # TYPE`);
  }
  return { types, samples };
}

/** As Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string): number | undefined {
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(text);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function parseLabels(body: string, fail: (why: string) => Error): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = body;
  while (rest !== "") {
    const m = LABEL.exec(rest);
    if (!m) throw fail("bad label set");
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/** The samples of one name whose labels include all of `labels`. */
export function find(exp: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exp.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
