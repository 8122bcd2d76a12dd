// Plain-text lines for a reconcile report, the same words the status and events use; shared by the CLI
// and the demo.
import type { ReconcileReport } from "./reconcile.js";

const short = (sha: string | undefined) => (sha === undefined ? "?" : sha.slice(0, 12));

export function formatReport(r: ReconcileReport, maxDetails = 20): string {
  const app = `${r.application.namespace}/${r.application.name}`;
  const lines: string[] = [];
  switch (r.result) {
    case "applied":
    case "unchanged":
      if (r.reason === "SUSPENDED") {
        lines.push(`${app}: suspended: ${r.message}`);
        break;
      }
      lines.push(
        `${app}: ${r.result} revision ${short(r.revision)}${r.signer === undefined ? "" : ` (signed by ${r.signer})`}: ` +
          `${r.applied.length} applied, ${r.unchanged} unchanged, ${r.pruned.length} pruned`,
      );
      for (const p of r.pruned.slice(0, maxDetails)) lines.push(`  pruned ${p}`);
      break;
    case "refused":
    case "failed":
      lines.push(`${app}: ${r.result.toUpperCase()} (${r.reason ?? "?"}) at ${r.step ?? "?"}: ${r.message}`);
      for (const d of r.details.slice(0, maxDetails)) lines.push(`  ${d}`);
      if (r.details.length > maxDetails) lines.push(`  ... and ${r.details.length - maxDetails} more`);
      break;
  }
  if (r.driftReverted) {
    lines.push(`  reverted drift: ${r.drift.length} object(s) changed outside git were put back as git says`);
    for (const d of r.drift.slice(0, maxDetails))
      lines.push(
        `    ${d.object.kind} ${d.object.namespace ?? ""}/${d.object.name} (changed by ${d.manager})`,
      );
  }
  if (r.auditRecord !== undefined) lines.push(`  audit record ${r.auditRecord}`);
  return lines.join("\n") + "\n";
}
