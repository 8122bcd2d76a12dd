// An image inventory as a CycloneDX 1.6 JSON document, built with the CycloneDX library's models and its
// 1.6 serializer: one component per package with its purl and licenses (SPDX ids, expressions, or names),
// and properties for where it was found (layer digest and path) and its source package.
import { randomUUID } from "node:crypto";
import * as CDX from "@cyclonedx/cyclonedx-library";
import type { ImageInventory, Package } from "./types.js";

const EXPRESSION = / (AND|OR|WITH) /;

function licenses(p: Package): CDX.Models.License[] {
  const list = p.licenses ?? [];
  const only = list.length === 1 ? list[0] : undefined;
  if (only !== undefined && EXPRESSION.test(only)) return [new CDX.Models.LicenseExpression(only)];
  return list.map((l) =>
    CDX.SPDX.isSupportedSpdxId(l) ? new CDX.Models.SpdxLicense(l) : new CDX.Models.NamedLicense(l),
  );
}

function component(p: Package): CDX.Models.Component {
  const c = new CDX.Models.Component(CDX.Enums.ComponentType.Library, p.name, {
    version: p.version,
    bomRef: p.purl,
    purl: p.purl,
  });
  for (const l of licenses(p)) c.licenses.add(l);
  c.properties.add(new CDX.Models.Property("gitward:ecosystem", p.ecosystem));
  if (p.source !== undefined) {
    c.properties.add(new CDX.Models.Property("gitward:source:name", p.source.name));
    if (p.source.version !== undefined)
      c.properties.add(new CDX.Models.Property("gitward:source:version", p.source.version));
  }
  p.locations.forEach((loc, i) => {
    c.properties.add(new CDX.Models.Property(`gitward:location:${i}:layer`, loc.layer));
    c.properties.add(new CDX.Models.Property(`gitward:location:${i}:path`, loc.path));
  });
  return c;
}

/** The CycloneDX 1.6 JSON text of an inventory; `now` and `serial` are injectable for reproducible tests. */
export function toCycloneDx(
  inv: ImageInventory,
  opts: { now?: Date; serial?: string; toolVersion?: string } = {},
): string {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${opts.serial ?? randomUUID()}`;
  bom.metadata.timestamp = opts.now ?? new Date();
  bom.metadata.tools.components.add(
    new CDX.Models.Component(CDX.Enums.ComponentType.Application, "gitward", {
      version: opts.toolVersion ?? "0.1.0",
    }),
  );
  const image = new CDX.Models.Component(CDX.Enums.ComponentType.Container, inv.reference, {
    version: inv.digest,
    bomRef: inv.digest,
  });
  if (inv.os !== undefined) {
    image.properties.add(new CDX.Models.Property("gitward:os:id", inv.os.id));
    if (inv.os.versionId !== undefined)
      image.properties.add(new CDX.Models.Property("gitward:os:version", inv.os.versionId));
  }
  inv.layers.forEach((l, i) => {
    image.properties.add(new CDX.Models.Property(`gitward:layer:${i}`, l.digest));
  });
  bom.metadata.component = image;
  if (inv.os !== undefined) {
    bom.components.add(
      new CDX.Models.Component(CDX.Enums.ComponentType.OperatingSystem, inv.os.id, {
        bomRef: `os:${inv.os.id}`,
        ...(inv.os.versionId === undefined ? {} : { version: inv.os.versionId }),
      }),
    );
  }
  for (const p of inv.packages) bom.components.add(component(p));
  const serializer = new CDX.Serialize.JsonSerializer(
    new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6),
  );
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
