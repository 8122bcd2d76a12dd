// Plots as inline SVG drawn here (a charting library would be the only script on the page, and the
// pages run without JavaScript): audit results per day as stacked bars, with a text table beside them
// for screen readers and for anyone who would rather read numbers.
import type { AuditRecord } from "../audit/record.js";
import { html, type Html } from "./html.js";

export interface DayCounts {
  readonly day: string;
  readonly applied: number;
  readonly refused: number;
  readonly drift: number;
  readonly other: number;
}

/** Records per UTC day, the last `days` days ending today, oldest first. */
export function perDay(records: readonly AuditRecord[], days = 14, now = new Date()): DayCounts[] {
  const counts = new Map<string, { applied: number; refused: number; drift: number; other: number }>();
  const order: string[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10);
    order.push(d);
    counts.set(d, { applied: 0, refused: 0, drift: 0, other: 0 });
  }
  for (const r of records) {
    const c = counts.get(r.time.slice(0, 10));
    if (c === undefined) continue;
    if (r.result === "applied") c.applied++;
    else if (r.result === "refused" || r.result === "failed") c.refused++;
    else if (r.result === "drift-detected" || r.result === "drift-reverted") c.drift++;
    else c.other++;
  }
  return order.map((day) => ({
    day,
    ...(counts.get(day) ?? { applied: 0, refused: 0, drift: 0, other: 0 }),
  }));
}

const COLORS = { applied: "#1a7f37", refused: "#cf222e", drift: "#9a6700", other: "#57606a" } as const;

/** Stacked bars, one per day; each bar has a <title> with its numbers. */
export function dayChart(data: readonly DayCounts[], label: string): Html {
  const w = 28;
  const gap = 6;
  const height = 120;
  const max = Math.max(1, ...data.map((d) => d.applied + d.refused + d.drift + d.other));
  const bars = data.map((d, i) => {
    let y = height;
    const x = i * (w + gap);
    const segs = (["applied", "refused", "drift", "other"] as const).map((k) => {
      const h = Math.round((d[k] / max) * (height - 10));
      y -= h;
      return h === 0
        ? ""
        : html`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${COLORS[k]}"></rect>`;
    });
    return html`<g
      ><title>${d.day}: ${d.applied} applied, ${d.refused} refused, ${d.drift} drift, ${d.other} other</title
      >${segs}<text x="${x + w / 2}" y="${height + 14}" text-anchor="middle" font-size="9"
        >${d.day.slice(5)}</text
      ></g
    >`;
  });
  const width = data.length * (w + gap);
  return html`<figure class="chart">
    <svg
      role="img"
      aria-label="${label}"
      viewBox="0 0 ${width} ${height + 20}"
      width="${width}"
      height="${height + 20}"
    >
      ${bars}
    </svg>
    <figcaption>
      ${label}: <span class="k applied">applied</span> <span class="k refused">refused or failed</span>
      <span class="k drift">drift</span> <span class="k other">other</span>
    </figcaption>
  </figure>`;
}
