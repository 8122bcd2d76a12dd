// Objects read again in full only when they changed: the API server gives an object a new resourceVersion
// on every write by anyone (and a new uid when it is made again), so while a metadata-only read shows the
// same uid and resourceVersion, what was read (and parsed) before still holds. Memory only.
import type { ClusterClient, KubeObject, ObjectRef } from "./client.js";

/** uid and resourceVersion: equal exactly while nobody wrote, deleted or remade the object. */
export function versionOf(obj: KubeObject): string {
  return `${obj.metadata.uid ?? ""}/${obj.metadata.resourceVersion ?? ""}`;
}

/** An object with both a uid and a resourceVersion: only then does "the same version" prove anything. */
export type Versioned = KubeObject & { metadata: { uid: string; resourceVersion: string } };

/** Without a uid and a resourceVersion, "the same version" would prove nothing: never remembered. */
export function versioned(obj: KubeObject): obj is Versioned {
  const { uid, resourceVersion } = obj.metadata;
  return uid !== undefined && uid !== "" && resourceVersion !== undefined && resourceVersion !== "";
}

function idOf(ref: ObjectRef): string {
  return `${ref.apiVersion} ${ref.kind} ${ref.namespace ?? ""} ${ref.name}`;
}

export class ReadByVersion<T> {
  private readonly known = new Map<string, { version: string; value: T }>();

  /** `parse` turns the object read into what is kept; what it returns is handed out as is, every time. */
  constructor(
    private readonly cluster: ClusterClient,
    private readonly parse: (obj: KubeObject) => T,
  ) {}

  /** The parsed object, or undefined when it does not exist. */
  async read(ref: ObjectRef): Promise<T | undefined> {
    const id = idOf(ref);
    const known = this.known.get(id);
    if (known !== undefined) {
      const meta = await this.cluster.get(ref, { metadataOnly: true });
      if (meta !== undefined && versionOf(meta) === known.version) return known.value;
      this.known.delete(id);
    }
    const obj = await this.cluster.get(ref);
    if (obj === undefined) return undefined;
    const value = this.parse(obj);
    if (versioned(obj)) this.known.set(id, { version: versionOf(obj), value });
    return value;
  }

  /** After a write: `obj` is what the server answered, `value` what it holds. */
  remember(ref: ObjectRef, obj: KubeObject, value: T): void {
    if (versioned(obj)) this.known.set(idOf(ref), { version: versionOf(obj), value });
    else this.forget(ref);
  }

  /** Before a write, so a write that fails halfway leaves nothing stale behind. */
  forget(ref: ObjectRef): void {
    this.known.delete(idOf(ref));
  }
}
