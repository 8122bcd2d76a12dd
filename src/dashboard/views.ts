// The pages, server-rendered: the overview answers "is production what git says, and who approved it?"
// in one table; an Application page has its revision timeline, objects, drift and images; the audit page
// shows the chain's status. All text goes through html`` (html.ts), so a hostile name renders as text.
import type { AuditRecord } from "../audit/record.js";
import type { ApplicationStatus } from "../config/types.js";
import { dayChart, perDay } from "./charts.js";
import type { AppEvent, AppSummary, AuditView, LiveObject } from "./data.js";
import { html, raw, type Html } from "./html.js";

export function layout(title: string, body: Html, viewer?: string): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · gitward</title>
        <link rel="stylesheet" href="/assets/style.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <a class="brand" href="/">gitward</a>
          <nav aria-label="Main"><a href="/">Applications</a><a href="/audit">Audit log</a></nav>
          <span class="muted">read-only${viewer === undefined ? "" : html` · ${viewer}`}</span>
        </header>
        <main id="main">${body}</main>
      </body>
    </html> `;
}

const short = (rev: string | undefined): string => (rev === undefined ? "–" : rev.slice(0, 12));

export function age(from: string | undefined, now = Date.now()): string {
  if (from === undefined) return "–";
  const s = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  if (!Number.isFinite(s)) return "–";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function ready(status: ApplicationStatus) {
  return status.conditions?.find((c) => c.type === "Ready");
}

export type SyncState = "Synced" | "Refused" | "Pending" | "Never";

/** Applied revision vs the latest one gitward saw. */
export function syncState(status: ApplicationStatus): SyncState {
  if (status.lastAttemptedRevision === undefined && status.lastAppliedRevision === undefined) return "Never";
  if (status.lastAttemptedRevision === status.lastAppliedRevision) return "Synced";
  return ready(status)?.status === "False" ? "Refused" : "Pending";
}

function syncBadge(s: SyncState): Html {
  const cls = s === "Synced" ? "ok" : s === "Refused" ? "bad" : "warn";
  return html`<span class="badge ${cls}">${s}</span>`;
}

function readyBadge(status: ApplicationStatus): Html {
  const r = ready(status);
  if (r === undefined) return html`<span class="badge muted">Unknown</span>`;
  return r.status === "True"
    ? html`<span class="badge ok">Ready</span>`
    : html`<span class="badge bad">Not ready</span>`;
}

/** The refusal shown on the overview: verdict code and reason from the Ready condition. */
function refusal(status: ApplicationStatus): Html {
  const r = ready(status);
  if (r === undefined || r.status === "True") return html`<span class="muted">–</span>`;
  return html`<code>${r.reason}</code> ${r.message}`;
}

export interface OverviewQuery {
  readonly q: string;
  readonly show: "all" | "attention";
}

export function matches(app: AppSummary, query: OverviewQuery): boolean {
  const text = `${app.namespace}/${app.name}`.toLowerCase();
  if (query.q !== "" && !text.includes(query.q.toLowerCase())) return false;
  if (query.show === "attention") {
    return ready(app.status)?.status !== "True" || (app.status.driftedObjects ?? 0) > 0 || app.suspended;
  }
  return true;
}

export function overviewPage(apps: readonly AppSummary[], query: OverviewQuery, total: number): Html {
  const refused = apps.filter((a) => syncState(a.status) === "Refused").length;
  const drifted = apps.filter((a) => (a.status.driftedObjects ?? 0) > 0).length;
  const rows = apps.map((a) => {
    const href = `/apps/${encodeURIComponent(a.namespace)}/${encodeURIComponent(a.name)}`;
    const drift = a.status.driftedObjects ?? 0;
    return html`<tr>
      <td><a href="${href}">${a.namespace}/${a.name}</a></td>
      <td>
        ${syncBadge(syncState(a.status))} <code>${short(a.status.lastAppliedRevision)}</code>${
          a.status.lastAttemptedRevision !== undefined &&
          a.status.lastAttemptedRevision !== a.status.lastAppliedRevision
            ? html` <span class="muted">latest <code>${short(a.status.lastAttemptedRevision)}</code></span>`
            : ""
        }
      </td>
      <td>${readyBadge(a.status)}</td>
      <td>${a.status.lastAppliedSigner ?? html`<span class="muted">–</span>`}</td>
      <td>${refusal(a.status)}</td>
      <td>
        ${drift === 0 ? html`<span class="muted">0</span>` : html`<span class="badge warn">${drift}</span>`}
      </td>
      <td>
        ${a.suspended ? html`<span class="badge warn">Suspended</span>` : html`<span class="muted">–</span>`}
      </td>
      <td>${age(a.status.lastReconcileTime)}</td>
      <td>${age(a.created)}</td>
    </tr>`;
  });
  return html`<h1>Applications</h1>
    <div class="summary" role="group" aria-label="Summary">
      <div><strong>${total}</strong>Applications</div>
      <div><strong>${refused}</strong>refused</div>
      <div><strong>${drifted}</strong>with drift</div>
    </div>
    <form class="filter" method="get" action="/" role="search">
      <label for="q">Filter</label>
      <input id="q" type="search" name="q" value="${query.q}" placeholder="namespace/name" />
      <label for="show">Show</label>
      <select id="show" name="show">
        <option value="all" ${query.show === "all" ? raw(" selected") : ""}>all</option>
        <option value="attention" ${query.show === "attention" ? raw(" selected") : ""}>
          needs attention
        </option>
      </select>
      <button type="submit">Apply</button>
    </form>
    <table>
      <caption class="muted">
        ${apps.length} of ${total} shown
      </caption>
      <thead>
        <tr>
          <th scope="col">Application</th>
          <th scope="col">Sync (applied revision)</th>
          <th scope="col">Health</th>
          <th scope="col">Signed by</th>
          <th scope="col">Last refusal</th>
          <th scope="col">Drift</th>
          <th scope="col">Suspended</th>
          <th scope="col">Last reconcile</th>
          <th scope="col">Age</th>
        </tr>
      </thead>
      <tbody>
        ${
          rows.length === 0
            ? html`<tr>
                <td colspan="9" class="muted">no Applications</td>
              </tr>`
            : rows
        }
      </tbody>
    </table>`;
}

function resultBadge(r: AuditRecord["result"]): Html {
  const cls =
    r === "applied" || r === "unchanged" ? "ok" : r === "refused" || r === "failed" ? "bad" : "warn";
  return html`<span class="badge ${cls}">${r}</span>`;
}

function signers(r: AuditRecord): Html {
  if (r.signers.length === 0) return html`<span class="muted">–</span>`;
  return html`${r.signers.map(
    (s, i) => html`${i === 0 ? "" : ", "}${s.name}${s.key === undefined ? "" : html` <code>${s.key}</code>`}`,
  )}`;
}

function timeline(records: readonly AuditRecord[]): Html {
  const recent = [...records].reverse().slice(0, 200);
  if (recent.length === 0) return html`<p class="muted">No audit records for this Application.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Time (UTC)</th>
        <th scope="col">Result</th>
        <th scope="col">Revision</th>
        <th scope="col">Signed by (key)</th>
        <th scope="col">Reason</th>
        <th scope="col">Applied</th>
        <th scope="col">Pruned</th>
        <th scope="col">By</th>
      </tr>
    </thead>
    <tbody>
      ${recent.map(
        (r) =>
          html`<tr>
            <td class="mono">${r.time}</td>
            <td>${resultBadge(r.result)}</td>
            <td><code>${short(r.revision)}</code></td>
            <td>${signers(r)}</td>
            <td>${r.reason === undefined ? "" : html`<code>${r.reason}</code>`}</td>
            <td>${r.applied.length}</td>
            <td>${r.pruned.length}</td>
            <td>${r.actor.name}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function driftTable(records: readonly AuditRecord[]): Html {
  const entries = records
    .filter((r) => r.result === "drift-detected" || r.result === "drift-reverted")
    .flatMap((r) => (r.drift ?? []).map((d) => ({ r, d })))
    .reverse()
    .slice(0, 100);
  if (entries.length === 0) return html`<p class="muted">No drift recorded.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Time (UTC)</th>
        <th scope="col">Object</th>
        <th scope="col">Fields</th>
        <th scope="col">Changed by (field manager)</th>
        <th scope="col">Action</th>
      </tr>
    </thead>
    <tbody>
      ${entries.map(
        ({ r, d }) =>
          html`<tr>
            <td class="mono">${r.time}</td>
            <td>
              ${d.object.kind}
              ${d.object.namespace === undefined ? "" : `${d.object.namespace}/`}${d.object.name}
            </td>
            <td>${d.fields.map((f, i) => html`${i === 0 ? "" : ", "}<code>${f}</code>`)}</td>
            <td class="drift-manager">${d.manager}</td>
            <td>${r.result === "drift-reverted" ? "reverted" : "left (alert)"}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function objectTree(live: readonly LiveObject[], total: number): Html {
  if (live.length === 0) return html`<p class="muted">No objects in the inventory.</p>`;
  const groups = new Map<string, LiveObject[]>();
  for (const o of live) {
    const key = `${o.entry.kind} · ${o.entry.namespace ?? "(cluster)"}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  return html`${total > live.length ? html`<p class="muted">${live.length} of ${total} objects shown.</p>` : ""}
    <table>
      <thead>
        <tr>
          <th scope="col">Kind · namespace</th>
          <th scope="col">Name</th>
          <th scope="col">Health</th>
        </tr>
      </thead>
      <tbody>
        ${[...groups.entries()].map(([g, objs]) =>
          objs.map(
            (o, i) =>
              html`<tr>
                <td>${i === 0 ? g : ""}</td>
                <td>${o.entry.name}</td>
                <td>
                  <span
                    class="badge ${o.health === "Current" ? "ok" : o.health === "InProgress" ? "warn" : "bad"}"
                    >${o.health}</span
                  >
                </td>
              </tr>`,
          ),
        )}
      </tbody>
    </table>`;
}

function imageTable(status: ApplicationStatus, records: readonly AuditRecord[]): Html {
  const images = new Map<string, string>(Object.entries(status.images ?? {}));
  for (const r of records)
    for (const i of r.images ?? []) if (!images.has(i.ref)) images.set(i.ref, i.digest);
  if (images.size === 0)
    return html`<p class="muted">No image tags resolved (every image is pinned in git, or none).</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Image reference</th>
        <th scope="col">Pinned digest</th>
      </tr>
    </thead>
    <tbody>
      ${[...images.entries()].map(
        ([ref, d]) =>
          html`<tr>
            <td><code>${ref}</code></td>
            <td><code>${d}</code></td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function refusalSection(status: ApplicationStatus): Html {
  const r = status.lastRefusal;
  if (r === undefined) return html``;
  return html`<h2>Last refusal</h2>
    <section class="refusal" aria-label="Last refusal">
      <p>
        <code>${r.reason}</code> revision <code>${short(r.revision)}</code> at
        <span class="mono">${r.time}</span>: ${r.message}
      </p>
      ${
        r.details.length === 0
          ? ""
          : html`<ul>
              ${r.details.map((d) => html`<li>${d}</li>`)}
            </ul>`
      }
    </section>`;
}

function eventTable(events: readonly AppEvent[]): Html {
  if (events.length === 0) return html`<p class="muted">No Events.</p>`;
  return html`<table class="events">
    <thead>
      <tr>
        <th scope="col">Time (UTC)</th>
        <th scope="col">Type</th>
        <th scope="col">Reason</th>
        <th scope="col">Message</th>
      </tr>
    </thead>
    <tbody>
      ${events.map(
        (e) =>
          html`<tr>
            <td class="mono">${e.time}</td>
            <td>${e.type === "Warning" ? html`<span class="badge bad">Warning</span>` : e.type}</td>
            <td><code>${e.reason}</code></td>
            <td>${e.message}${e.count > 1 ? html` <span class="muted">(×${e.count})</span>` : ""}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function appPage(
  app: AppSummary,
  live: readonly LiveObject[],
  records: readonly AuditRecord[],
  events: readonly AppEvent[] = [],
): Html {
  const r = ready(app.status);
  return html`<h1>${app.namespace}/${app.name}</h1>
    <table class="facts">
      <tbody>
        <tr>
          <th scope="row">Sync</th>
          <td>
            ${syncBadge(syncState(app.status))} applied <code>${short(app.status.lastAppliedRevision)}</code>,
            latest seen <code>${short(app.status.lastAttemptedRevision)}</code>
          </td>
        </tr>
        <tr>
          <th scope="row">Health</th>
          <td>
            ${readyBadge(app.status)}${r === undefined ? "" : html` <code>${r.reason}</code> ${r.message}`}
          </td>
        </tr>
        <tr>
          <th scope="row">Signed by</th>
          <td>${app.status.lastAppliedSigner ?? "–"}</td>
        </tr>
        <tr>
          <th scope="row">Drift</th>
          <td>
            ${app.status.driftedObjects ?? 0}
            object(s)${app.status.lastDriftTime === undefined ? "" : html`, last ${app.status.lastDriftTime}`}
          </td>
        </tr>
        <tr>
          <th scope="row">Suspended</th>
          <td>${app.suspended ? "yes" : "no"}</td>
        </tr>
        <tr>
          <th scope="row">Source</th>
          <td>${app.source === "crd" ? "Application object" : "gitward.yaml (state ConfigMap)"}</td>
        </tr>
      </tbody>
    </table>
    ${refusalSection(app.status)}
    <h2>Revisions</h2>
    ${dayChart(perDay(records), "Audit records per day")} ${timeline(records)}
    <h2>Events</h2>
    ${eventTable(events)}
    <h2>Drift</h2>
    ${driftTable(records)}
    <h2>Objects</h2>
    ${objectTree(live, app.inventory.length)}
    <h2>Images</h2>
    ${imageTable(app.status, records)}`;
}

export function auditPage(view: AuditView | undefined): Html {
  if (view === undefined)
    return html`<h1>Audit log</h1>
      <p class="muted">No audit log given (start the dashboard with --audit-log FILE).</p>`;
  const v = view.verify;
  const status =
    v.status === "broken"
      ? html`<p class="chain bad" role="status">
          <span class="badge bad">broken</span> at record ${v.firstBad?.seq ?? "?"} (line
          ${v.firstBad?.line ?? "?"}): <code>${v.firstBad?.reason}</code> ${v.firstBad?.message}
        </p>`
      : v.status === "intact"
        ? html`<p class="chain ok" role="status">
            <span class="badge ok">verified</span> ${v.records} records, chain intact, ${v.signed} signed with
            the audit key
          </p>`
        : html`<p class="chain warn" role="status">
            <span class="badge warn"
              >${v.status === "unsigned" ? "chain intact, unsigned" : "chain intact, signatures not checked"}</span
            >
            ${v.records}
            records${v.status === "unchecked" ? " (start with --audit-key to check signatures)" : " (anyone who can write the file could rewrite it)"}
          </p>`;
  const rows = [...view.records].reverse().slice(0, 500);
  return html`<h1>Audit log</h1>
    ${status}
    <p><a href="/audit/export" download>Export (JSON lines)</a></p>
    ${view.tooLarge === undefined ? "" : html`<p class="warn">The log is ${view.tooLarge} bytes; records are not listed here (the chain was verified in full).</p>`}
    ${dayChart(perDay(view.records), "Audit records per day, all Applications")}
    <table>
      <thead>
        <tr>
          <th scope="col">Seq</th>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Application</th>
          <th scope="col">Result</th>
          <th scope="col">Revision</th>
          <th scope="col">Signed by</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              <td>${r.seq}</td>
              <td class="mono">${r.time}</td>
              <td>${r.application.namespace}/${r.application.name}</td>
              <td>${resultBadge(r.result)}</td>
              <td><code>${short(r.revision)}</code></td>
              <td>${signers(r)}</td>
              <td>${r.reason === undefined ? "" : html`<code>${r.reason}</code>`}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

export function errorPage(status: number, message: string): Html {
  return layout(
    String(status),
    html`<h1>${status}</h1>
      <p>${message}</p>`,
  );
}
