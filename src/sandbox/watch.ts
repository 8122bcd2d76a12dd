// Watches: initial events or a resume from a resourceVersion (410 Gone when too old), filtered watches
// that turn into ADDED and DELETED as objects start or stop matching, bookmarks, timeouts, and the
// dropped-watch fault.
import type http from "node:http";
import { groupVersionOf, type ResourceDef } from "./catalog.js";
import { errors } from "./errors.js";
import { text, type JsonObject } from "./fieldset.js";
import { combine, fieldSelector, labelSelector } from "./selectors.js";
import { jsonOf, metaOf, type StoreEvent } from "./store.js";
import { toTable, type IncludeObject } from "./table.js";
import { JSON_TYPE } from "./http-io.js";
import type { ActiveWatch, ServerParts } from "./server-parts.js";

export function serveWatch(
  parts: ServerParts,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  def: ResourceDef,
  namespace: string | undefined,
  q: URLSearchParams,
  asTable: boolean,
  include: IncludeObject,
): void {
  const gr = `${def.group}/${def.resource}`;
  const sel = combine(labelSelector(q.get("labelSelector")), fieldSelector(q.get("fieldSelector")));
  const rvParam = q.get("resourceVersion") ?? "";
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const initial = q.get("sendInitialEvents") === "true";
  res.writeHead(200, { "Content-Type": JSON_TYPE, "Cache-Control": "no-cache" });
  res.flushHeaders();
  const line = (type: string, objJson: string): void => {
    res.write(`{"type":"${type}","object":${objJson}}\n`);
  };
  const send = (e: { type: string; obj: JsonObject; json: () => string }): void => {
    if (asTable) {
      const rv = text(metaOf(e.obj)["resourceVersion"]);
      line(e.type, JSON.stringify(toTable(def, [e.obj], rv, include)));
    } else line(e.type, e.json());
  };
  const render = (e: { type: string; obj: JsonObject; json: () => string }): void => {
    if (sel === undefined || sel(e.obj)) send(e);
  };
  const deliver = (e: StoreEvent): void => {
    let type: string = e.type;
    if (sel !== undefined && e.type === "MODIFIED" && e.previous !== undefined) {
      // As Kubernetes does for a filtered watch: an object that starts matching is ADDED, one that
      // stops matching is DELETED (its new state is sent so the client sees why).
      const was = sel(e.previous);
      const is = sel(e.stored.obj);
      if (!was && !is) return;
      if (!was) type = "ADDED";
      else if (!is) {
        send({ type: "DELETED", obj: e.stored.obj, json: () => jsonOf(e.stored) });
        return;
      }
    }
    render({ type, obj: e.stored.obj, json: () => jsonOf(e.stored) });
  };
  const ns = def.namespaced ? namespace : undefined;
  if (rvParam === "" || rvParam === "0" || initial) {
    for (const s of parts.store.list(gr, ns)) render({ type: "ADDED", obj: s.obj, json: () => jsonOf(s) });
    if (initial && bookmarks) {
      line(
        "BOOKMARK",
        JSON.stringify({
          kind: def.kind,
          apiVersion: groupVersionOf(def),
          metadata: {
            resourceVersion: text(parts.store.resourceVersion),
            annotations: { "k8s.io/initial-events-end": "true" },
          },
        }),
      );
    }
  } else {
    const rv = Number(rvParam);
    const events = Number.isInteger(rv) ? parts.store.eventsSince(rv, gr) : undefined;
    if (events === undefined) {
      const gone = errors.gone(`too old resource version: ${rvParam} (${parts.store.oldestResumable})`);
      line("ERROR", JSON.stringify(gone.toStatus()));
      res.end();
      return;
    }
    for (const e of events) if (ns === undefined || e.namespace === ns) deliver(e);
  }
  const unsubscribe = parts.store.watch({ gr, namespace: ns, deliver });
  const timers: NodeJS.Timeout[] = [];
  const active: ActiveWatch = {
    res,
    end: () => {
      cleanup();
      res.destroy();
    },
  };
  const cleanup = (): void => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    parts.watches.delete(active);
  };
  parts.watches.add(active);
  if (bookmarks) {
    const t = setInterval(() => {
      line(
        "BOOKMARK",
        JSON.stringify({
          kind: def.kind,
          apiVersion: groupVersionOf(def),
          metadata: { resourceVersion: text(parts.store.resourceVersion) },
        }),
      );
    }, parts.bookmarkMs);
    timers.push(t);
  }
  const timeout = Number(q.get("timeoutSeconds") ?? "0");
  if (timeout > 0) {
    timers.push(
      setTimeout(() => {
        cleanup();
        res.end();
      }, timeout * 1000),
    );
  }
  if (parts.faults().dropWatchesAfterMs !== undefined)
    timers.push(
      setTimeout(() => {
        active.end();
      }, parts.faults().dropWatchesAfterMs),
    );
  req.on("close", cleanup);
  res.on("close", cleanup);
}
