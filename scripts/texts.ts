// The help pages and the shell completion scripts, rendered from login.ts's command and option
// table at build time (scripts/build.ts bakes them into the binary as WANDB_LOGIN_TEXTS) and in the
// tests' preload: the binary prints them, and pays nothing at run time to render them.
import {
  CLOUD_URL,
  COMMAND_INFO,
  COMMAND_NAMES,
  COMMANDS,
  type Command,
  type CommandInfo,
  type OptionDef,
  optionList,
  UsageError,
  VERSION,
} from "../login";

/** What a command's help page says. */
interface CommandHelp {
  summary: string;
  about: string;
  example?: string;
  exits: string;
}
/** Each command's page: tsc holds this to the commands of login.ts's table, one for one. */
const HELP: Record<Command, CommandHelp> = {
  login: {
    summary: "store a key (KEY, or `-` to read it from stdin)",
    about:
      "Without a KEY the key comes from the first of: WANDB_API_KEY; api_key in the settings\n" +
      "files (only one whose base_url is this host); the netrc file (NETRC, ~/.netrc, ~/_netrc);\n" +
      "a hidden prompt when a terminal is attached. Keys go to the netrc file under the host's\n" +
      "machine entry, mode 0600.",
    exits: "0 success, 1 failed, 2 usage error, 130 interrupted",
  },
  status: {
    summary: "where the key for a host comes from (read-only)",
    about:
      "Shows the host and where it came from, the settings files, the netrc file (and whether its\n" +
      "mode is safe), and every source that holds a key for the host, masked: the one wandb-login\n" +
      "uses, and the one the W&B Python SDK sends when they differ. Never writes a file.",
    example: "wandb-login status --verify",
    exits: "0 a key is configured (and accepted, with --verify), 1 not, 2 usage error",
  },
  logout: {
    summary: "remove a host's key from the netrc file",
    about:
      "Removes that host's machine entry, keeping every other byte of the file (other machines,\n" +
      "the default entry, comments). Warns when WANDB_API_KEY or a settings file still supplies a key.",
    example: "wandb-login logout --host https://wandb.example.com",
    exits: "0 success (also when there was nothing to remove), 1 failed, 2 usage error",
  },
  token: {
    summary: "print the API key the W&B SDK would send, for scripts",
    about:
      "Prints the key and a newline on stdout, nothing else there: the one place a key is shown\n" +
      "in full. The key is the one the W&B Python SDK would send for the host.",
    example: 'export WANDB_API_KEY="$(wandb-login token)"',
    exits: "0 printed, 1 no key to print, 2 usage error",
  },
  whoami: {
    summary: "who the server says the W&B SDK's key belongs to",
    about:
      "Verifies the key the W&B Python SDK would send and prints one line on stdout:\n" +
      "<username> (<entity>) at <host>. A short `wandb-login status --verify`.",
    example: "wandb-login whoami --host https://wandb.example.com",
    exits: "0 verified, 1 no key or refused, 2 usage error",
  },
  identity: {
    summary: "keyless CI: an identity token the W&B SDK exchanges itself",
    about:
      "--github-actions (in a job with `permissions: id-token: write`) requests the job's OIDC token,\n" +
      "writes it (0600) to $RUNNER_TEMP/wandb-identity-token and adds WANDB_IDENTITY_TOKEN_FILE to\n" +
      "$GITHUB_ENV, so the W&B SDK in every later step exchanges it at <host>/oidc/token: no API key\n" +
      "in any secret store. Job tokens live minutes: run it again in a step that needs a fresh one.\n" +
      "--token-file PATH checks a token file something else keeps (a Kubernetes projected token)\n" +
      "and prints the `export WANDB_IDENTITY_TOKEN_FILE=…` line to use.",
    example: "wandb-login identity --github-actions --verify",
    exits: "0 ready (and accepted, with --verify), 1 failed, 2 usage error",
  },
  accounts: {
    summary: "every account kept for a host, and which one is active (read-only)",
    about:
      "Lists each host's accounts (one host's with --host or --cloud): its name, whether it is active\n" +
      "(its key is the one in the netrc, which the W&B SDK reads), where its key lives (the OS keychain,\n" +
      "or the accounts file), and the key, masked. A netrc key that belongs to no account shows as such.\n" +
      "`wandb-login --account NAME KEY` adds one; the key the netrc held before is kept as `default`.",
    example: "wandb-login accounts --cloud",
    exits: "0 listed, 1 failed, 2 usage error",
  },
  switch: {
    summary: "make another account active: its key goes into the netrc",
    about:
      "Writes the account's key into the host's netrc entry (where the W&B SDK reads it) and makes it\n" +
      "the active account. The key that was there stays an account: nothing is lost.",
    example: "wandb-login switch work",
    exits: "0 switched, 1 no such account or failed, 2 usage error",
  },
  exec: {
    summary: "run a command with an account's key in its environment, never on disk",
    about:
      "Runs COMMAND with WANDB_API_KEY set to the key of --account (else WANDB_LOGIN_ACCOUNT, else the\n" +
      "active account, else the key `wandb-login token` prints, else the host's keychain-only key), and\n" +
      "WANDB_BASE_URL when the host is not the cloud. Its input and output are the command's; SIGINT,\n" +
      "SIGTERM, SIGHUP and SIGQUIT are passed on.",
    example: "wandb-login exec --account work -- python train.py",
    exits: "the command's (128+N when signal N ended it), 127 not found, 126 not runnable, 1 no key, 2 usage",
  },
  completion: {
    summary: "print a shell completion script",
    about:
      "Install:\n" +
      "  bash: source <(wandb-login completion bash)   (in ~/.bashrc)\n" +
      "  zsh:  source <(wandb-login completion zsh)    (in ~/.zshrc, after compinit)\n" +
      "  fish: wandb-login completion fish > ~/.config/fish/completions/wandb-login.fish\n" +
      "The scripts complete `wandb` too, for a binary installed under that name.",
    exits: "0 printed, 2 usage error",
  },
};

/** Every help page (by command) and every completion script (by shell), as the binary prints them. */
export function renderTexts(version = VERSION) {
  const help = Object.fromEntries(COMMAND_NAMES.map((c) => [c, helpPage(c, version)]));
  const completion = Object.fromEntries(Object.keys(COMPLETIONS).map((s) => [s, completionScript(s)]));
  return { help, completion };
}

const ENVIRONMENT =
  "Environment: WANDB_API_KEY, WANDB_IDENTITY_TOKEN_FILE, WANDB_CREDENTIALS_FILE, WANDB_BASE_URL,\n" +
  "WANDB_APP_URL, WANDB_CONFIG_DIR, WANDB_DIR, NETRC, HOME, USERPROFILE, HOMEDRIVE, HOMEPATH,\n" +
  "WANDB_HTTP_TIMEOUT, WANDB_LOGIN_ACCOUNT, WANDB_LOGIN_KEYCHAIN, XDG_CONFIG_HOME, APPDATA, HTTPS_PROXY,\n" +
  "HTTP_PROXY, NO_PROXY, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, NO_COLOR, TERM,\n" +
  "SM_TRAINING_ENV, WANDB_SAGEMAKER_DISABLE; for `identity --github-actions`: ACTIONS_ID_TOKEN_REQUEST_URL,\n" +
  "ACTIONS_ID_TOKEN_REQUEST_TOKEN, RUNNER_TEMP, GITHUB_ENV (docs/environment.md says what each does).";

/** The help page for `command`; the top-level one for `login`. */
export function helpPage(command: Command, version = VERSION): string {
  const info = { ...(COMMAND_INFO[command] as CommandInfo), ...HELP[command] };
  const options = optionLines(command);
  const sections = [
    `Usage:\n${command === "login" ? overview() : `  ${usageLine(command)}`}`,
    ...(options ? [`Options:\n${options}`] : []),
    info.about,
    ...(command === "login" ? [ENVIRONMENT] : []),
    ...(info.example ? [`Example:\n  ${info.example}`] : []),
    `Exit codes: ${info.exits}.`,
  ];
  const title =
    command === "login"
      ? `wandb-login ${version}: log in to Weights & Biases (stores an API key for the W&B SDKs)`
      : `wandb-login ${command}: ${info.summary}`;
  return [title, ...sections].join("\n\n");
}

/** Every command's usage line, then what each does, for the top-level page. */
function overview(): string {
  const usage = COMMAND_NAMES.map(
    (c) => `  ${c === "login" ? "wandb-login [login] [OPTIONS] [KEY]" : usageLine(c)}`,
  );
  const commands = COMMAND_NAMES.map((c) => `  ${c.padEnd(12)}${HELP[c].summary}`);
  return [...usage, "  wandb-login help [COMMAND] | version", "", "Commands:", ...commands].join("\n");
}

/** `wandb-login status [--host URL | --cloud] [--verify] [--json]`, from the table. */
function usageLine(command: Command): string {
  const words = ["wandb-login", command];
  for (const [name, def] of optionList()) {
    if (!def.commands.includes(command) || def.hidden || name === "cloud") continue;
    if (name === "host") words.push("[--host URL | --cloud]");
    else words.push(def.type === "string" ? `[--${name} ${def.valueHint}]` : `[--${name}]`);
  }
  const operands = (COMMAND_INFO[command] as CommandInfo).operands;
  return [...words, ...(operands ? [operands] : [])].join(" ");
}

/** `  --host, --base-url URL  log in to …` for each option the command takes, and help/version. */
function optionLines(command: Command): string {
  const rows: [string, string][] = [];
  for (const [name, def] of optionList()) {
    if (!def.commands.includes(command) || def.hidden) continue;
    const names = [name, ...(def.alias ?? [])].map((n) => `--${n}`);
    if (def.negatable) names.push(`--no-${name}`);
    rows.push([names.join(", ") + (def.type === "string" ? ` ${def.valueHint}` : ""), def.description!]);
  }
  if (command === "login") {
    rows.push(["-h, --help", "show this help (`wandb-login status --help`: that command's)"]);
    rows.push(["-v, --version", "show the version"]);
  } else rows.push(["-h, --help", "show this help"]);
  return rows.map(([names, text]) => `  ${names.padEnd(22)}  ${text}`).join("\n");
}

/** The completion script for `shell`. */
export function completionScript(shell: string): string {
  const script = Object.hasOwn(COMPLETIONS, shell) ? COMPLETIONS[shell] : undefined;
  if (!script) throw new UsageError(`No completion for ${JSON.stringify(shell)}: choose bash, zsh or fish.`);
  return script();
}

/** Each option `command` offers, in every spelling (`--verify`, `--no-verify`), with its row. */
function offered(command: Command): [string, OptionDef][] {
  return optionList()
    .filter(([, def]) => def.commands.includes(command) && !def.hidden)
    .flatMap(([name, def]) =>
      [name, ...(def.alias ?? []), ...(def.negatable ? [`no-${name}`] : [])].map((n) => [`--${n}`, def]),
    );
}

/** The string options whose values complete as `kind` (URLs unless the row says otherwise). */
const valueOptions = (kind: OptionDef["values"]) =>
  optionList()
    .filter(([, d]) => d.type === "string" && (d.values ?? "url") === kind)
    .flatMap(([n, d]) => [n, ...(d.alias ?? [])].map((s) => `--${s}`));

const URL_WORDS = `https:// http:// ${CLOUD_URL}`;
/** The shell pipeline that lists account names, after the program's own name. */
const ACCOUNT_NAMES = `accounts --json 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4`;

const COMPLETIONS: Record<string, () => string> = {
  bash: () => `_wandb_login_accounts() { "\${COMP_WORDS[0]}" ${ACCOUNT_NAMES}; }
_wandb_login() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command=login options i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in ${COMMAND_NAMES.join("|")}) command=\${COMP_WORDS[i]}; break ;; esac
  done
  case $prev in
    ${valueOptions("url").join("|")})
      COMPREPLY=($(compgen -W "${URL_WORDS}" -- "$cur"))
      compopt -o nospace 2>/dev/null; return ;;
    ${valueOptions("file").join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueOptions("none").join("|")}) COMPREPLY=(); return ;;
    ${valueOptions("account").join("|")}) COMPREPLY=($(compgen -W "$(_wandb_login_accounts)" -- "$cur")); return ;;
    switch)
      if [[ $cur != -* ]]; then COMPREPLY=($(compgen -W "$(_wandb_login_accounts)" -- "$cur")); return; fi ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
    help) COMPREPLY=($(compgen -W "${COMMAND_NAMES.join(" ")}" -- "$cur")); return ;;
  esac
  if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
    COMPREPLY=($(compgen -W "${COMMANDS.join(" ")}" -- "$cur")); return
  fi
  case $command in
${COMMAND_NAMES.map(
  (c) =>
    `    ${c}) options="${offered(c)
      .map(([s]) => s)
      .join(" ")}" ;;`,
).join("\n")}
  esac
  COMPREPLY=($(compgen -W "$options --help" -- "$cur"))
}
complete -F _wandb_login wandb-login
complete -F _wandb_login wandb`,
  zsh: () => {
    const value = (d: OptionDef) =>
      d.type !== "string"
        ? ""
        : `:${d.valueHint}:${{ url: "_urls", file: "_files", none: " ", account: "_wandb_login_accounts" }[d.values ?? "url"]}`;
    const spec = (c: Command) =>
      [
        ...offered(c).map(([s, d]) => `'${s}[${d.description!.replace(/[[\]']/g, "")}]${value(d)}'`),
        ...(c === "switch" ? ["'1:NAME:_wandb_login_accounts'"] : []),
      ].join(" ");
    return `#compdef wandb-login wandb
_wandb_login_accounts() { compadd -- \${(f)"$($words[1] ${ACCOUNT_NAMES})"} }
_wandb_login() {
  local command=login
  if (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then
    compadd ${COMMANDS.join(" ")}
  fi
  (( \${\${(s: :):-${COMMAND_NAMES.join(" ")}}[(Ie)$words[2]]} )) && command=$words[2]
  case $command in
${COMMAND_NAMES.map((c) => `    ${c}) _arguments ${spec(c)} '(- *)'{-h,--help}'[show help]' ;;`).join("\n")}
  esac
}
# from fpath (as _wandb-login) this file is the completion itself; sourced, it registers
if [[ $funcstack[1] = _wandb-login ]]; then _wandb_login "$@"; else compdef _wandb_login wandb-login wandb; fi`;
  },
  fish: () => {
    const quote = (text: string) => `'${text.replace(/[\\']/g, "\\$&")}'`;
    const fish = (rest: string) => `complete -c wandb-login -c wandb ${rest}`;
    const others = COMMAND_NAMES.filter((c) => c !== "login").join(" ");
    const value = (d: OptionDef) =>
      d.type !== "string"
        ? ""
        : { url: ` -x -a ${quote(URL_WORDS)}`, file: " -r -F", none: " -x", account: ` -x -a ${names}` }[
            d.values ?? "url"
          ];
    const names = quote(`(wandb-login ${ACCOUNT_NAMES})`);
    const lines = [
      fish("-f"),
      fish(`-n __fish_use_subcommand -a ${quote(COMMANDS.join(" "))}`),
      fish(`-n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`),
      fish(`-n '__fish_seen_subcommand_from switch' -a ${names}`),
    ];
    for (const command of COMMAND_NAMES) {
      const when =
        command === "login"
          ? `not __fish_seen_subcommand_from ${others}`
          : `__fish_seen_subcommand_from ${command}`;
      for (const [spelled, def] of offered(command)) {
        const about = spelled.startsWith("--no-") ? `do not ${def.description}` : def.description!;
        lines.push(fish(`-n '${when}' -l ${spelled.slice(2)}${value(def)} -d ${quote(about)}`));
      }
    }
    lines.push(
      fish("-s h -l help -d 'show help'"),
      fish("-n __fish_use_subcommand -s v -l version -d 'show the version'"),
    );
    return lines.join("\n");
  },
};
