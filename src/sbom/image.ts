// Catalogs the packages of one image in a registry: reads its layers as streams, applies whiteouts and runs
// the catalogers. PLACEHOLDER until the SBOM work lands: the signature is the contract src/vuln builds on.
import type { RegistryClient } from "../images/client.js";
import type { ImageInventory } from "./types.js";

export interface CatalogOptions {
  /** The registry client (with the CLI's --plain-http/--ca/--docker-config applied). */
  readonly client: RegistryClient;
  /** Linux platform to choose from an index (default linux/amd64). */
  readonly platform?: { readonly os: string; readonly architecture: string };
}

/** The packages of `reference` (a tag or digest reference). */
export function catalogImage(reference: string, opts: CatalogOptions): Promise<ImageInventory> {
  void opts;
  return Promise.reject(new Error(`catalogImage(${reference}): SBOM cataloging is not built yet`));
}
