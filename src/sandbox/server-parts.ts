// What the request handlers of the sandbox server share: the store, catalogue, API semantics, admission,
// tokens and open watches of one running sandbox, and the fault settings in force.
import type http from "node:http";
import type { Api } from "./api.js";
import type { Tokens } from "./auth.js";
import type { Catalog } from "./catalog.js";
import type { Store } from "./store.js";
import type { Admission } from "./admission/admit.js";

export interface Faults {
  /** Added to every API request, in milliseconds. */
  latencyMs?: number;
  /** Share of API requests (0..1) answered 500 InternalError. */
  errorRate?: number;
  /** Share of API requests (0..1) answered 429 TooManyRequests with Retry-After. */
  throttleRate?: number;
  /**
   * Share of writes with a resourceVersion precondition (0..1) answered 409 Conflict although the version
   * is current, as if another writer had got there first: an update or patch naming
   * metadata.resourceVersion, a delete with preconditions.resourceVersion. Nothing is written and the
   * object is left as it is, so the 409 says only that the write did not happen (no competing write, and
   * no watch event, is simulated). Writes without such a precondition are never hit.
   */
  conflictRate?: number;
  /** Watches are cut (the connection dropped, no final event) after this many milliseconds. */
  dropWatchesAfterMs?: number;
}

export interface ActiveWatch {
  res: http.ServerResponse;
  end(): void;
}

export interface ServerParts {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly api: Api;
  readonly admission: Admission;
  readonly tokens: Tokens;
  readonly watches: Set<ActiveWatch>;
  /** How often a watch that asked for bookmarks gets one. */
  readonly bookmarkMs: number;
  /** The fault settings now (setFaults replaces them). */
  faults(): Faults;
}
