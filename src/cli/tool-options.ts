// The --kubectl and --helm flags, with the same names and meaning on every command that renders (check,
// render, images pin, diff, reconcile, restore, run); their values go to resolveTools, the one lookup.
import type { Command } from "commander";

/** Adds --kubectl and --helm; see resolveTools (src/render/tool.ts) for what they default to. */
export function addToolOptions(cmd: Command): Command {
  return cmd
    .option(
      "--kubectl <bin>",
      "kubectl binary for kustomize (default $GITWARD_KUBECTL, .tools/bin/kubectl, PATH)",
    )
    .option("--helm <bin>", "helm binary (default $GITWARD_HELM, .tools/bin/helm, PATH)");
}
