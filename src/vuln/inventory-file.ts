// `gitward images scan --sbom FILE`: an inventory from a file instead of the registry, either gitward's
// own ImageInventory JSON or a CycloneDX JSON SBOM (gitward's, trivy's or syft's), so images can be
// scanned from an SBOM produced elsewhere. Packages are taken from component purls.
import { readFile } from "node:fs/promises";
import { isRecord } from "../json/record.js";
import type { Ecosystem, ImageInventory, OsRelease, Package, PackageLocation } from "../sbom/types.js";
import { VulnError, VulnErrorCode } from "./errors.js";

const MAX_SBOM_BYTES = 256 << 20;
const ECOSYSTEMS: readonly Ecosystem[] = ["deb", "apk", "rpm", "npm", "pypi", "golang", "maven"];

function prop(c: Record<string, unknown>, ...names: string[]): string | undefined {
  const props = Array.isArray(c["properties"]) ? c["properties"] : [];
  for (const p of props)
    if (
      isRecord(p) &&
      typeof p["name"] === "string" &&
      names.includes(p["name"]) &&
      typeof p["value"] === "string"
    )
      return p["value"];
  return undefined;
}

function qualifier(purl: string, key: string): string | undefined {
  for (const kv of purl.split("?")[1]?.split("#")[0]?.split("&") ?? []) {
    const [k, v] = kv.split("=");
    if (k === key && v !== undefined) return decodeURIComponent(v);
  }
  return undefined;
}

/** One CycloneDX component as a Package; undefined for components that are not packages gitward knows. */
function componentPackage(c: Record<string, unknown>): Package | undefined {
  const purl = typeof c["purl"] === "string" ? c["purl"] : undefined;
  const m = purl === undefined ? null : /^pkg:([a-z]+)\//u.exec(purl);
  const type = m?.[1] as Ecosystem | undefined;
  if (purl === undefined || type === undefined || !ECOSYSTEMS.includes(type)) return undefined;
  const name = typeof c["name"] === "string" ? c["name"] : undefined;
  const version = typeof c["version"] === "string" ? c["version"] : undefined;
  if (name === undefined || version === undefined) return undefined;
  const group = typeof c["group"] === "string" && c["group"] !== "" ? c["group"] : undefined;
  const fullName = type === "npm" && group !== undefined ? `${group}/${name}` : name;
  // Source package: trivy's properties, syft's, gitward's, or the purl's "upstream" qualifier (syft, deb).
  const upstream = qualifier(purl, "upstream");
  const srcName =
    prop(c, "aquasecurity:trivy:SrcName", "syft:metadata:source", "gitward:source") ??
    upstream?.split("@")[0];
  const srcVersion =
    prop(c, "aquasecurity:trivy:SrcVersion", "syft:metadata:sourceVersion", "gitward:sourceVersion") ??
    upstream?.split("@")[1];
  const layer = prop(c, "aquasecurity:trivy:LayerDigest", "gitward:layer") ?? "";
  const path = prop(c, "aquasecurity:trivy:PkgPath", "aquasecurity:trivy:FilePath", "gitward:path") ?? "";
  const locations: PackageLocation[] = layer === "" && path === "" ? [] : [{ layer, path }];
  return {
    ecosystem: type,
    name: fullName,
    version,
    purl,
    ...(srcName === undefined
      ? {}
      : { source: { name: srcName, ...(srcVersion === undefined ? {} : { version: srcVersion }) } }),
    locations,
  };
}

function osOf(components: readonly unknown[]): OsRelease | undefined {
  for (const c of components) {
    if (isRecord(c) && c["type"] === "operating-system" && typeof c["name"] === "string")
      return {
        id: c["name"].toLowerCase(),
        ...(typeof c["version"] === "string" ? { versionId: c["version"] } : {}),
      };
  }
  return undefined;
}

/** Reads an ImageInventory JSON or a CycloneDX JSON SBOM. */
export async function readInventoryFile(file: string): Promise<ImageInventory> {
  const bad = (why: string): VulnError => new VulnError(VulnErrorCode.SBOM_INVALID, why, file);
  const buf = await readFile(file).catch(() => {
    throw bad("cannot read the SBOM file");
  });
  if (buf.length > MAX_SBOM_BYTES) throw bad(`larger than ${MAX_SBOM_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString("utf8"));
  } catch {
    throw bad("not JSON (CycloneDX JSON or gitward's inventory JSON expected)");
  }
  if (!isRecord(doc)) throw bad("not a JSON object");
  if (Array.isArray(doc["packages"]) && typeof doc["reference"] === "string") {
    // gitward's own inventory (src/sbom/types.ts); package fields are checked where they are used.
    const packages = doc["packages"].filter(
      (p): p is Package =>
        isRecord(p) &&
        ECOSYSTEMS.includes(p["ecosystem"] as Ecosystem) &&
        typeof p["name"] === "string" &&
        typeof p["version"] === "string" &&
        typeof p["purl"] === "string" &&
        Array.isArray(p["locations"]),
    );
    return { ...(doc as unknown as ImageInventory), packages };
  }
  if (doc["bomFormat"] !== "CycloneDX") throw bad("neither a CycloneDX SBOM nor a gitward inventory");
  const meta = isRecord(doc["metadata"]) ? doc["metadata"] : {};
  const subject = isRecord(meta["component"]) ? meta["component"] : {};
  const all: unknown[] = [];
  const walk = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const c of list) {
      if (all.length > 1_000_000) throw bad("more than 1,000,000 components");
      all.push(c);
      if (isRecord(c)) walk(c["components"]);
    }
  };
  walk(doc["components"]);
  const packages = all.flatMap((c) => {
    const p = isRecord(c) ? componentPackage(c) : undefined;
    return p === undefined ? [] : [p];
  });
  const os = osOf(all);
  const digest =
    typeof subject["bom-ref"] === "string" && subject["bom-ref"].includes("sha256:")
      ? `sha256:${subject["bom-ref"].split("sha256:")[1]?.slice(0, 64) ?? ""}`
      : "";
  return {
    reference: typeof subject["name"] === "string" ? subject["name"] : file,
    digest,
    ...(os === undefined ? {} : { os }),
    layers: [],
    packages,
  };
}
