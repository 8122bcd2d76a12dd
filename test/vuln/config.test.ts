// spec.images.vulnerabilities in the TrustPolicy: accepted as documented, and refused (with the field's
// location) when a severity, a duration or an expiry date is wrong.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import { parseTrustPolicy } from "../../src/config/load.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

const withVuln = (lines: string[]): string =>
  trustPolicyYaml([
    "  images:",
    "    registries: ['r.example/']",
    "    vulnerabilities:",
    ...lines.map((l) => `      ${l}`),
  ]);

describe("spec.images.vulnerabilities", () => {
  it("accepts failOn, unknownSeverity, ignore with expiry, maxDbAge and dbPath", () => {
    const tp = parseTrustPolicy(
      withVuln([
        "failOn: critical",
        "unknownSeverity: medium",
        "maxDbAge: 72h",
        "dbPath: /var/lib/gitward/vuln.db",
        "ignore: [{ id: CVE-2023-45853, reason: minizip unused, expires: '2027-03-01' }, { id: GHSA-x, reason: r }]",
      ]),
      "trust.yaml",
    );
    expect(tp.spec.images?.vulnerabilities).toMatchObject({ failOn: "critical", maxDbAge: "72h" });
  });

  it.each([
    ["failOn: severe", /failOn/u],
    ["maxDbAge: 3 days", /maxDbAge/u],
    ["ignore: [{ id: CVE-1, reason: r, expires: soon }]", /expires/u],
    ["ignore: [{ id: CVE-1, reason: r, expires: '2027-02-30' }]", /not a real date|expires/u],
    ["ignore: [{ id: CVE-1 }]", /reason/u],
    ["dbpath: x", /dbpath/u],
  ])("refuses %s", (line, message) => {
    let err: unknown;
    try {
      parseTrustPolicy(withVuln([line]), "trust.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/trust\.yaml:\d+/u);
  });
});
