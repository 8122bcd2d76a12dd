// The shapes the sandbox's API semantics (api.ts) are called with: who writes and how (WriteContext),
// patch types, list options and results, and the hooks the server gives the API.
import type { JsonObject } from "./fieldset.js";
import type { Stored } from "./store.js";
import type { FieldValidation } from "./field-validation.js";
import type { UserInfo } from "./rbac.js";
import type { Pending } from "./admission/admit.js";

export interface WriteContext {
  user: UserInfo;
  dryRun: boolean;
  /** The fieldManager query parameter. */
  fieldManager: string | undefined;
  userAgent: string;
  /** How unknown fields in the request are handled; unset (the server's own writes): not checked. */
  fieldValidation?: FieldValidation;
  /** Warnings for the response's Warning headers. */
  warnings?: string[];
  /** Called with the object about to be stored, after defaulting and validation (admission/admit.ts). */
  admit?: (pending: Pending) => void;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

export interface ListOptions {
  labelSelector?: (o: JsonObject) => boolean;
  fieldSelector?: (o: JsonObject) => boolean;
  limit?: number;
  continueToken?: string;
}

export interface ListResult {
  items: Stored[];
  resourceVersion: string;
  continueToken?: string;
  remaining?: number;
}

export interface ApiHooks {
  /** A CRD changed the catalogue (discovery caches are rebuilt). */
  catalogChanged(): void;
  /**
   * Asked once per write whose resourceVersion precondition holds: true answers it 409 Conflict all the
   * same (the conflict fault), before anything is written.
   */
  conflictFault(): boolean;
}
