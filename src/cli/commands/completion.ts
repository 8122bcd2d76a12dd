// `gitward completion bash|zsh|fish`: prints a completion script generated from this program's commands,
// subcommands and options (src/cli/completion.ts).
import { Argument, type Command } from "commander";
import { completionScript, SHELLS, type Shell } from "../completion.js";

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description(
      "Print a shell completion script. bash: `source <(gitward completion bash)`; zsh: " +
        "`gitward completion zsh > ~/.zfunc/_gitward` (a folder on $fpath); fish: " +
        "`gitward completion fish > ~/.config/fish/completions/gitward.fish`.",
    )
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
