// Shell completion scripts for bash, zsh and fish, generated from the commander program itself, so a
// new command, subcommand or option completes without anyone editing a script. Each script finds the
// command path typed so far (skipping options and their values), then offers that command's
// subcommands and options, an option's choices (e.g. -o text|json), or file names for other values.
import type { Command, Option } from "commander";

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

interface Node {
  /** "gitward images verify" */
  path: string;
  subcommands: string[];
  /** Every flag spelling (--trust, -o, --output) plus --help. */
  flags: string[];
  /** Flags that take a value, with their choices when commander knows them. */
  valued: { flags: string[]; choices: readonly string[] | undefined }[];
}

const spellings = (o: Option): string[] => [o.long, o.short].filter((f): f is string => f !== undefined);

function walk(cmd: Command, path: string, out: Node[]): void {
  const options = cmd.options;
  out.push({
    path,
    subcommands: cmd.commands.map((c) => c.name()),
    flags: [...options.flatMap(spellings), "--help"],
    valued: options
      .filter((o) => o.required || o.optional)
      .map((o) => ({ flags: spellings(o), choices: o.argChoices })),
  });
  for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`, out);
}

export function commandTree(program: Command): Node[] {
  const out: Node[] = [];
  walk(program, program.name(), out);
  return out;
}

/** Names and flags come from our own program, but quote them anyway: a script must not be injectable. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const words = (list: readonly string[]): string => q(list.join(" "));

function bash(tree: readonly Node[], name: string): string {
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const cases = (pick: (n: Node) => string | undefined): string =>
    tree
      .map((n) => [n, pick(n)] as const)
      .filter((e): e is readonly [Node, string] => e[1] !== undefined)
      .map(([n, body]) => `    ${q(n.path)}) ${body} ;;`)
      .join("\n");
  const valued = (n: Node): string[] => n.valued.flatMap((v) => v.flags);
  const choiceCases = tree
    .flatMap((n) =>
      n.valued
        .filter((v) => v.choices !== undefined)
        .map(
          (v) =>
            `    ${q(n.path)}/${v.flags.map((f) => f).join(`|${q(n.path)}/`)}) reply=${words(v.choices ?? [])} ;;`,
        ),
    )
    .join("\n");
  return `# ${name} completion for bash: source it, or put it in ~/.local/share/bash-completion/completions/${name}
${fn}_words() {
  case "$1" in
${cases((n) => `reply=${words([...n.subcommands, ...n.flags])}`)}
    *) reply='' ;;
  esac
}
${fn}_valued() {
  case "$1" in
${cases((n) => (valued(n).length === 0 ? undefined : `reply=${words(valued(n))}`))}
    *) reply='' ;;
  esac
}
${fn}_choices() {
  case "$1" in
${choiceCases}
    *) return 1 ;;
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path=${q(name)} reply i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ "$w" == -* ]]; then
      ${fn}_valued "$path"
      if [[ "$w" != *=* && " $reply " == *" $w "* ]]; then
        ((i++))
        [[ $i -eq $COMP_CWORD ]] && prev="$w"
      fi
      continue
    fi
    ${fn}_words "$path"
    [[ " $reply " == *" $w "* ]] && path="$path $w"
  done
  if [[ -n "$prev" ]]; then
    if ${fn}_choices "$path/$prev"; then
      COMPREPLY=($(compgen -W "$reply" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
  fi
  ${fn}_words "$path"
  COMPREPLY=($(compgen -W "$reply" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

function zsh(tree: readonly Node[], name: string): string {
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const entries = (pick: (n: Node) => readonly string[]): string =>
    tree.map((n) => `    [${q(n.path)}]=${words(pick(n))}`).join("\n");
  const choices = tree
    .flatMap((n) =>
      n.valued
        .filter((v) => v.choices !== undefined)
        .flatMap((v) => v.flags.map((f) => `    [${q(`${n.path}/${f}`)}]=${words(v.choices ?? [])}`)),
    )
    .join("\n");
  return `#compdef ${name}
# ${name} completion for zsh: put it in a folder on $fpath as _${name}, or source it after compinit.
typeset -gA ${fn}_words=(
${entries((n) => [...n.subcommands, ...n.flags])}
)
typeset -gA ${fn}_valued=(
${entries((n) => n.valued.flatMap((v) => v.flags))}
)
typeset -gA ${fn}_choices=(
${choices}
)
${fn}() {
  local path=${q(name)} prev="" i w
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if [[ $w == -* ]]; then
      if [[ $w != *=* && " \${${fn}_valued[$path]} " == *" $w "* ]]; then
        ((i++))
        ((i == CURRENT)) && prev=$w
      fi
      continue
    fi
    [[ " \${${fn}_words[$path]} " == *" $w "* ]] && path="$path $w"
  done
  if [[ -n $prev ]]; then
    if (( \${+${fn}_choices[$path/$prev]} )); then
      compadd -- \${=${fn}_choices[$path/$prev]}
    else
      _files
    fi
    return
  fi
  compadd -- \${=${fn}_words[$path]}
}
if [[ $funcstack[1] == ${fn} ]]; then ${fn} "$@"; else compdef ${fn} ${name}; fi
`;
}

function fish(tree: readonly Node[], name: string): string {
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, "_")}_path`;
  const lines = [
    `# ${name} completion for fish: save as ~/.config/fish/completions/${name}.fish`,
    `function ${fn}`,
    `    set -l path ${q(name)}`,
    `    set -l skip 0`,
    `    for w in (commandline -opc)[2..-1]`,
    `        if test $skip = 1; set skip 0; continue; end`,
    `        switch $w`,
    `            case '-*'`,
    `                switch "$path"`,
    ...tree
      .filter((n) => n.valued.length > 0)
      .map(
        (n) =>
          `                    case ${q(n.path)}; contains -- $w ${n.valued
            .flatMap((v) => v.flags)
            .map(q)
            .join(" ")}; and set skip 1`,
      ),
    `                end`,
    `            case '*'`,
    `                switch "$path"`,
    ...tree
      .filter((n) => n.subcommands.length > 0)
      .map(
        (n) =>
          `                    case ${q(n.path)}; contains -- $w ${n.subcommands.map(q).join(" ")}; and set path "$path $w"`,
      ),
    `                end`,
    `        end`,
    `    end`,
    `    echo $path`,
    `end`,
    `complete -c ${name} -f`,
  ];
  for (const n of tree) {
    const cond = `-n ${q(`test (${fn}) = ${q(n.path)}`)}`;
    for (const sub of n.subcommands) lines.push(`complete -c ${name} ${cond} -a ${q(sub)}`);
    for (const f of n.flags) {
      const v = n.valued.find((x) => x.flags.includes(f));
      const spec = f.startsWith("--") ? `-l ${q(f.slice(2))}` : `-s ${q(f.slice(1))}`;
      const value = v === undefined ? "" : v.choices === undefined ? " -r -F" : ` -x -a ${words(v.choices)}`;
      lines.push(`complete -c ${name} ${cond} ${spec}${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(program: Command, shell: Shell): string {
  const tree = commandTree(program);
  switch (shell) {
    case "bash":
      return bash(tree, program.name());
    case "zsh":
      return zsh(tree, program.name());
    case "fish":
      return fish(tree, program.name());
  }
}
