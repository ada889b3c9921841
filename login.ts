// wandb-login: store a W&B API key where the W&B SDKs find it, as one native binary.
//
// Read top to bottom. Sections, each under a `// --- name ---` line:
//   constants · the command and option table · boot (the quick --help/--version answer)
//   types and errors · the story: runCommand, then runLogin, runStatus, runLogout, runToken,
//   runWhoami and runIdentity, each followed by its steps · command line · lookup (the host, key
//   sources, the SDK's order) · secrets and output · settings · netrc reading · netrc writing
//   files and locks (paths among them) · world and terminal · network · main
// Every side effect (env, home, cwd, files, streams, fetch, clock, pid) comes in through one
// `World` value, so tests run `main(argv, world)` in-process.
import type { BooleanArgDef, StringArgDef } from "citty";
import type { LogObject } from "consola/core";

// --- constants ---

declare const WANDB_LOGIN_VERSION: string | undefined; // baked in by `bun build --define`
/** Every help page and completion script, rendered from the tables below at build time (scripts/texts.ts). */
declare const WANDB_LOGIN_TEXTS:
  | { help: Record<string, string>; completion: Record<string, string> }
  | undefined;
export const VERSION = typeof WANDB_LOGIN_VERSION === "string" ? WANDB_LOGIN_VERSION : "0.0.0-dev";
export const CLOUD_URL = "https://api.wandb.ai";
const VIEWER_QUERY =
  "query Viewer { viewer { id entity username email flags teams { edges { node { name } } } } }";
const PROMPT_TRIES = 3;
const LOCK_STALE_MS = 10_000;
const LOCK_EMPTY_STALE_MS = 2_000; // a lock without a pid: its writer died or the disk filled
const LOCK_GIVE_UP_MS = 30_000;
const MAX_RESPONSE_BYTES = 1 << 20;
const MAX_STDIN_BYTES = 64 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024; // a JWT is a few KiB
const DEFAULT_TIMEOUT_S = 10;
const RELOGIN_HINT = "Use `wandb-login --relogin` to force relogin.";
const KEYCHAIN_SERVICE = "wandb-login";
const KEYCHAIN_TIMEOUT_MS = 5_000; // a locked keyring may wait for ever on an unlock prompt

// --- the command and option table: the parser, every help page and the completions come from it ---

/** A command word: what it takes besides options, and what runs it (`login` also runs without a
 * word). What its help page says is in scripts/texts.ts, which the build renders from this table. */
export interface CommandInfo {
  operands?: string; // what follows the options in the usage line
  // KEY…; one word (a shell, an account); `-- COMMAND…`; else nothing
  takes?: "keys" | "word" | "command";
  run?: (ctx: Context) => Promise<Finished> | Finished; // none for `completion`: it needs no context
}
export const COMMAND_INFO = {
  login: {
    operands: "[KEY]",
    takes: "keys",
    run: runLogin,
  },
  status: {
    run: runStatus,
  },
  logout: {
    run: runLogout,
  },
  token: {
    run: runToken,
  },
  whoami: {
    run: runWhoami,
  },
  identity: {
    run: runIdentity,
  },
  accounts: {
    run: runAccounts,
  },
  switch: {
    operands: "NAME",
    takes: "word",
    run: runSwitch,
  },
  exec: {
    operands: "-- COMMAND [ARG]...",
    takes: "command",
    run: runExec,
  },
  completion: {
    operands: "bash|zsh|fish",
    takes: "word",
  },
} satisfies Record<string, CommandInfo>;
export type Command = keyof typeof COMMAND_INFO;
export const COMMAND_NAMES = Object.keys(COMMAND_INFO) as Command[];
/** Every first word that means something: the commands, and `help`/`version`. */
export const COMMANDS = [...COMMAND_NAMES, "help", "version"] as const;

/** Every command but `completion` works on a host. */
const HOST_COMMANDS = COMMAND_NAMES.filter((c) => c !== "completion");

/** An option in citty's ArgDef shape, plus the commands that take it. */
export type OptionDef = (StringArgDef | BooleanArgDef) & {
  commands: Command[];
  negatable?: boolean; // --no-NAME turns it off
  values?: "url" | "file" | "none" | "account"; // what completes a string option's value (default: URLs)
  hidden?: boolean; // accepted, never offered
};
export const OPTIONS = optionTable({
  cloud: {
    type: "boolean",
    description: `log in to the public cloud (${CLOUD_URL})`,
    commands: HOST_COMMANDS,
  },
  host: {
    type: "string",
    alias: ["base-url"],
    valueHint: "URL",
    description: "log in to this W&B server (self-hosted or dedicated)",
    commands: HOST_COMMANDS,
  },
  relogin: {
    type: "boolean",
    description: "ignore stored credentials and prompt for a new key",
    commands: ["login"],
  },
  verify: {
    type: "boolean",
    negatable: true,
    description: "check the key with the server (default: off)",
    commands: ["login", "status", "identity"],
  },
  stdin: {
    type: "boolean",
    description: "read the key from standard input (keeps it out of shell history)",
    commands: ["login"],
  },
  json: {
    type: "boolean",
    description: "print one JSON object describing the outcome on stdout",
    commands: ["login", "status", "logout", "whoami", "identity", "accounts"],
  },
  "github-actions": {
    type: "boolean",
    description: "request this GitHub Actions job's OIDC token and hand it to later steps",
    commands: ["identity"],
  },
  "token-file": {
    type: "string",
    valueHint: "PATH",
    values: "file",
    description: "check an identity token file that something else keeps",
    commands: ["identity"],
  },
  audience: {
    type: "string",
    valueHint: "AUD",
    values: "none",
    description: "the audience of the requested token (default: the host URL)",
    commands: ["identity"],
  },
  account: {
    type: "string",
    valueHint: "NAME",
    values: "account",
    description: "the account: to store the key as (login), or to use (default: WANDB_LOGIN_ACCOUNT)",
    commands: ["login", "logout", "token", "whoami", "status", "exec"],
  },
  "keychain-only": {
    type: "boolean",
    description: "keep the key in the OS keychain only: no netrc entry, no file (`exec` passes it on)",
    commands: ["login"],
  },
  anonymously: {
    type: "boolean",
    hidden: true,
    description: "deprecated: has no effect",
    commands: ["login"],
  },
});
type OptionName = keyof typeof OPTIONS;
/** The table, each entry checked as an OptionDef and then seen as one (not as its literal). */
function optionTable<T extends Record<string, OptionDef>>(table: T): Record<keyof T, OptionDef> {
  return table;
}
/** The table's rows, read each time: a test adds a row and sees it everywhere. */
export const optionList = () => Object.entries(OPTIONS) as [OptionName, OptionDef][];

// --- boot: --help and --version answer before the rest loads ---

/** The answer to a lone `--help`, `-h`, `help`, `--version`, `-v` or `version`, if that is all there is. */
function quickAnswer(argv: string[]): string | undefined {
  if (argv.length !== 1) return undefined;
  if (["--help", "-h", "help"].includes(argv[0])) return bakedText("help", "login");
  return ["--version", "-v", "version"].includes(argv[0]) ? VERSION : undefined;
}

/** A help page or a completion script, as the build rendered it; undefined for a name it has none for. */
function bakedText(kind: "help" | "completion", name: string): string | undefined {
  // one use of the define: the build writes its object wherever the name stands
  const texts = typeof WANDB_LOGIN_TEXTS === "undefined" ? undefined : WANDB_LOGIN_TEXTS[kind];
  if (!texts)
    throw new Error(
      "Help and completions are rendered at build time: run `npm run build`, then dist/wandb-login.",
    );
  return Object.hasOwn(texts, name) ? texts[name] : undefined;
}

const quick = import.meta.main ? quickAnswer(process.argv.slice(2)) : undefined;
if (quick !== undefined) {
  console.log(quick);
  process.exit(0);
}
// Loaded after that answer (≈2.5 ms, as long as Bun's own start), with require: a top-level
// `await import()` would cost every other run ≈1 ms. node:fs comes with the real world (realWorld).
const { createConsola, LogTypes } = require("consola/core") as typeof import("consola/core");
// node:path costs ≈2 ms of every start (measured): POSIX paths need four small functions (files and
// locks); Windows, with its drives and separators, takes node:path's rules
const { basename, dirname, join, resolve } =
  process.platform === "win32" ? (require("node:path") as typeof import("node:path")) : posixPaths();

// --- types and errors ---

interface Options {
  command: Command;
  key?: string; // an explicit KEY argument; "-" means stdin
  word?: string; // the shell for `completion`, the account for `switch`
  argv: string[]; // what `exec` runs
  account?: string;
  keychainOnly: boolean;
  host?: string;
  extraKeys: number;
  stdin: boolean;
  cloud: boolean;
  relogin: boolean;
  verify: boolean;
  json: boolean;
  anonymously: boolean;
  githubActions: boolean;
  tokenFile?: string;
  audience?: string;
}
/** What the command line asks for besides a command: a help page or the version. */
export type Request = Options | { help: Command } | "version";
export type Env = Record<string, string | undefined>;
/** Where a key was found. `kind` orders the sources the way the Python SDK reads them. */
interface Credential {
  key: string; // an API key, or for `identity` the JWT ("" when unreadable)
  source: string; // "argument", "stdin", "prompt", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", or a file's path
  label: string; // how errors name the source
  kind?: "env" | "identity" | "settings" | "netrc" | "default" | "sagemaker" | "account";
  problem?: string; // why the SDK would fail on it
  file?: string; // the identity token's file
  expires?: number; // when the identity token expires (ms)
  accessToken?: string; // an access token the SDK cached for the host
}
export interface Viewer {
  username: string;
  entity: string;
  teams: string[];
}
/** A settings file as read: its `[default]` values (empty when missing or malformed). */
export interface Settings {
  path: string;
  scope: "system" | "workspace";
  exists: boolean;
  values: Record<string, string>;
}

/** Who the server says the key belongs to; all null until verified. */
interface Identity {
  verified: boolean;
  username: string | null;
  entity: string | null;
  teams: string[] | null;
}
const UNVERIFIED: Identity = { verified: false, username: null, entity: null, teams: null };
/** What a login did, as `--json` prints it. */
interface LoginReport extends Identity {
  host: string;
  machine: string;
  source: string | null;
  stored: boolean;
  netrc: string;
}
/** A command's report; the failure it ends with, when the report is still worth printing; and what
 * it prints on stdout as it is, without --json (the key, for `token`). */
interface Finished {
  report: object;
  failure?: LoginError;
  stdout?: string;
  code?: number; // the exit code when it is not 0 (`exec`: its command's)
}

/** The user typed something wrong: exit 2, pointing at the help page that says how. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help = "wandb-login --help",
  ) {
    super(message);
  }
}
/** The login failed: exit 1 (or `code`). */
export class LoginError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}
/** The key itself is wrong (format, or refused by the server): the prompt asks again. */
export class InvalidKeyError extends LoginError {}

// --- the story: one function per command, its steps below it in call order ---

/** One run's inputs and what it found out about them, shared by login, status and logout. */
interface Context {
  opts: Options;
  world: World;
  log: Log;
  secrets: Set<string>;
  settings: Settings[];
  host: string;
  origin: string;
  machine: string;
  netrc: string;
  netrcFound?: { entry?: NetrcEntry; fallback?: NetrcEntry }; // read once, when first asked
  identityFound?: Credential; // likewise
  accounts?: Accounts; // likewise
  keychainDown?: string; // why the OS keychain failed this run, once it has
}

/** Runs one command. Throws UsageError/LoginError when it fails before it has a report to show. */
async function runCommand(opts: Options, world: World, log: Log, secrets: Set<string>): Promise<Finished> {
  if (opts.anonymously) log.warn("--anonymously has no effect and is deprecated.");
  if (opts.extraKeys) log.warn(`Only the first API key is used; ignoring ${opts.extraKeys} more.`);
  const ctx = openContext(opts, world, log, secrets);
  return (COMMAND_INFO[opts.command] as CommandInfo).run!(ctx);
}

/** The settings, the host they and the options name, its netrc machine and the netrc file's path. */
function openContext(opts: Options, world: World, log: Log, secrets: Set<string>): Context {
  checkPathBytes(world, opts);
  const settings = readSettings(world, log);
  const { url: host, origin } = resolveHost(opts, world.env, settings);
  const netrc = netrcPath(world);
  return { opts, world, log, secrets, settings, host, origin, machine: machineName(host), netrc };
}

/** `wandb-login [KEY]`: a configured key is reported; a given or prompted one is stored. */
async function runLogin(ctx: Context): Promise<Finished> {
  const { opts, log, host, machine, netrc } = ctx;
  const report: LoginReport = { host, machine, source: null, stored: false, netrc, ...UNVERIFIED };
  const explicit = opts.relogin || opts.key !== undefined || opts.stdin;
  if (opts.account !== undefined) checkAccountName(opts.account);
  if (!explicit && bothSet(ctx.world)) throw new LoginError(BOTH_SET);
  const found = explicit ? undefined : keySources(ctx).next().value;
  if (found) return { report: await reportConfigured(ctx, report, found) };
  const { key, source, viewer } = await obtainKey(ctx);
  Object.assign(report, { source, stored: !opts.keychainOnly });
  await undoingOnFailure(async (rollback) => {
    if (opts.account !== undefined || opts.keychainOnly) await rememberAccount(ctx, key, rollback);
    if (!opts.keychainOnly) storeKey(ctx, key, rollback);
  });
  if (viewer) return { report: reportVerified(report, viewer, source, log) };
  const where = opts.keychainOnly ? "in the OS keychain only" : `for ${host}`;
  log.success(
    `Stored the API key ${maskKey(key)} ${where}${opts.account ? ` as account ${opts.account}` : ""}.`,
  );
  return { report };
}

/** Runs the changes of one command; when one fails, what the others did is put back. */
async function undoingOnFailure(changes: (rollback: Rollback) => Promise<unknown>): Promise<void> {
  const rollback = new Rollback();
  try {
    await changes(rollback);
  } catch (e) {
    await rollback.run();
    throw e;
  }
}

/** A key found in the environment or a file: checked, reported, never written again. */
async function reportConfigured(ctx: Context, report: LoginReport, found: Credential): Promise<LoginReport> {
  // a stored key must have a valid format too, an identity token be usable; the error names the source
  if (found.kind === "identity" && found.problem) throw new LoginError(sentence(found.problem));
  const problem = found.kind === "identity" ? null : checkApiKey(found.key);
  if (problem) throw new LoginError(`${found.label} invalid: ${problem}`);
  report.source = found.source;
  if (ctx.opts.verify) {
    return reportVerified(report, await checkWithServer(ctx, found), found.source, ctx.log);
  }
  if (found.kind === "identity") ctx.log.info(identityConfigured(ctx, found));
  else ctx.log.info(`W&B API key is configured (from ${found.source}). ${RELOGIN_HINT}`);
  return report;
}

/** "W&B is configured with the identity token in …": what a keyless login has. */
function identityConfigured({ host }: Context, token: Credential): string {
  const cached = token.accessToken ? " (its access token for this host is cached, and still valid)" : "";
  return (
    `W&B is configured with the identity token in ${token.file} (WANDB_IDENTITY_TOKEN_FILE); the W&B SDK ` +
    `exchanges it at ${host}/oidc/token, no API key is needed${cached}.`
  );
}

/** Verification, with the warnings its settings call for: an API key as Basic auth, an identity
 * token exchanged (or its cached access token) and sent as a bearer token, as wandb-core does. */
async function checkWithServer(ctx: Context, credential: Credential): Promise<Viewer> {
  const { host, world, log, secrets } = ctx;
  const { warning } = httpTimeout(world.env);
  if (warning) log.warn(warning);
  if (/^http:/i.test(host) && !isLoopback(host))
    log.warn(`${host} is plain http: the key travels unencrypted. Use https:// if the server has it.`);
  checkFolderPicksHost(ctx, credential);
  if (credential.kind !== "identity") return verifyKey(host, credential.key, world);
  const file = credential.file!;
  const access = credential.accessToken ?? (await exchangeIdentityToken(host, credential.key, file, world));
  secrets.add(access);
  const refused = () =>
    new LoginError(`${host} refused the access token it gave for the identity token in ${file}.`);
  return askViewer(host, `Bearer ${access}`, world, refused);
}

/**
 * A repository's ./wandb/settings can name any server, and CI checks out repositories it does not
 * control. An identity token (a job's, replayable until it expires) is never sent to a host only
 * that file names; a key not stored for that host (WANDB_API_KEY, the netrc default, a settings key
 * stored for no server) is sent there only after a warning. Upstream sends both without a word.
 */
function checkFolderPicksHost({ origin, host, world, log, settings }: Context, credential: Credential): void {
  const workspace = settingsPaths(world).workspace;
  if (origin !== `settings file ${workspace}`) return;
  const named = `The host ${host} comes only from ${workspace} (this folder's settings)`;
  if (credential.kind === "identity")
    throw new LoginError(
      `${named}: the identity token in ${credential.file} is not sent there. If that is your W&B server, ` +
        `confirm it with --host ${host}.`,
    );
  const file = settings.find((s) => s.path === credential.source);
  const stored = credential.kind === "netrc" || (file && sameHost(file.values.base_url ?? "", host));
  if (stored || !credential.kind) return; // a key given just now goes where the user says
  log.warn(
    `${named}, and the key from ${credential.source}, which was not stored for that host: it is sent there. ` +
      "Trust this folder first.",
  );
}

/** An explicit, piped or prompted key, format-checked and (with --verify) accepted by the server. */
async function obtainKey(ctx: Context): Promise<{ key: string; source: string; viewer?: Viewer }> {
  const { opts, world, log } = ctx;
  if (opts.stdin || opts.key !== undefined) {
    // a terminal, not a pipe: say what it waits for
    const ask = world.stdinIsTTY ? () => log.ask("Paste your API key and hit enter: ") : undefined;
    if (opts.stdin && ask) log.info(hiddenInputHint(world));
    const key = opts.stdin ? readSecretLine(world, world.stdinIsTTY, ask).trim() : opts.key!;
    return { key, source: opts.stdin ? "stdin" : "argument", viewer: await acceptKey(ctx, key) };
  }
  if (!world.stdinIsTTY || !world.stderrIsTTY || world.env.TERM === "dumb") throw noKeyHere(ctx);
  return promptForKey(ctx);
}

/** The key's format is checked, and with --verify the server must accept it; it is a secret from now on. */
async function acceptKey(ctx: Context, key: string): Promise<Viewer | undefined> {
  ctx.secrets.add(key);
  const problem = checkApiKey(key);
  if (problem) throw new InvalidKeyError(problem);
  const given: Credential = { key, source: "argument", label: "API key" };
  return ctx.opts.verify ? checkWithServer(ctx, given) : undefined;
}

/** No key and no terminal to ask on: the ways to give one. */
function noKeyHere({ opts, host, world }: Context): LoginError {
  const createKey = `Create a key at ${appUrl(host, world.env)}/authorize?ref=models`;
  const ways =
    "pass the key as an argument (wandb-login KEY), pipe it with `wandb-login --stdin`, " +
    "or set WANDB_API_KEY.";
  if (opts.relogin) return new LoginError(`--relogin needs a terminal to prompt on; ${ways} ${createKey}`);
  return new LoginError(`No API key configured. ${ways[0].toUpperCase() + ways.slice(1)} ${createKey}`);
}

/** Asks on the terminal, with hidden input; a malformed or refused key is explained and asked again. */
async function promptForKey(ctx: Context): Promise<{ key: string; source: string; viewer?: Viewer }> {
  const { world, host, log } = ctx;
  if (host === CLOUD_URL) log.info(`Logging into ${host}.`);
  log.info(`Create a new API key at: ${appUrl(host, world.env)}/authorize?ref=models`);
  log.info("Store your API key securely and do not share it.");
  log.info(hiddenInputHint(world));
  for (let attempt = 1; ; attempt++) {
    const key = readSecretLine(world, true, () => log.ask("Paste your API key and hit enter: ")).trim();
    try {
      return { key, source: "prompt", viewer: await acceptKey(ctx, key) };
    } catch (e) {
      if (!(e instanceof InvalidKeyError) || attempt >= PROMPT_TRIES) throw e;
      log.error(e.message);
    }
  }
}

/** What a terminal user needs to know before pasting a secret. */
function hiddenInputHint(world: World): string {
  const cancel = world.platform === "win32" ? "Ctrl-Z" : "Ctrl-D";
  return `Your input is hidden as you paste or type it; ${cancel} cancels, Ctrl-C quits.`;
}

/** Settings first: they fail more often (a separate WANDB_CONFIG_DIR), and then the netrc is untouched. */
function storeKey(ctx: Context, key: string, rollback: Rollback): void {
  const { opts, world, host, netrc, log } = ctx;
  // both files are checked before either is written; a netrc that fails anyway restores the settings
  checkNetrcTarget(world, netrc);
  const edits = opts.host !== undefined || opts.cloud ? hostSettingsEdits(world, host) : [];
  for (const [path] of edits) checkSettingsTarget(world, path);
  const updated = edits.filter((edit) => writeSettings(ctx, edit, rollback));
  writeNetrcKey(ctx, key, rollback);
  for (const [path] of updated) log.info(`Updated settings file ${path}`);
  const { env } = world;
  if (bothSet(world)) log.warn(BOTH_SET);
  else if (env.WANDB_API_KEY && env.WANDB_API_KEY !== key)
    log.warn(`WANDB_API_KEY is set, and takes precedence over the key stored in ${netrc}.`);
  else if (env.WANDB_IDENTITY_TOKEN_FILE)
    log.warn(
      `WANDB_IDENTITY_TOKEN_FILE is set: the W&B SDK authenticates with that identity token, ` +
        `not with the key stored in ${netrc}.`,
    );
}

/** A settings file, and the options of its `[default]` to set (string) or remove (null). */
type SettingsEdit = [path: string, changes: Record<string, string | null>];

/** After --host/--cloud, the system settings name the host, and the workspace's no longer overrides it. */
function hostSettingsEdits(world: World, host: string): SettingsEdit[] {
  const { system, workspace } = settingsPaths(world);
  const base_url = host === CLOUD_URL ? null : toBytes(host);
  const edits: SettingsEdit[] = [[workspace, { base_url: null, anonymous: null }]];
  return system ? [[system, { base_url, anonymous: null }], ...edits] : edits;
}

function checkSettingsTarget(world: World, path: string): void {
  if (!regularOrMissing(world, path)) throw new LoginError(`Cannot write ${path}: ${NOT_REGULAR}.`);
}

/** One settings file edited (it keeps its mode; a new one is 0600 in 0700 folders); false when
 * nothing changed. */
function writeSettings({ world, log }: Context, [path, changes]: SettingsEdit, rollback: Rollback): boolean {
  const edit = (old: string | null) => {
    const next = updateSettings(old ?? "", changes);
    return next === (old ?? "") ? null : next;
  };
  return writeCarefully(world, path, edit, log, { secret: false, folders: true, rollback });
}

function writeNetrcKey({ world, netrc, machine, log }: Context, key: string, rollback: Rollback): void {
  const created = !exists(world.fs, netrc);
  let result: ReturnType<typeof updateNetrc> | undefined;
  const change = (old: string | null) => {
    result = updateNetrc(old ?? "", machine, key);
    return result.text;
  };
  writeCarefully(world, netrc, change, log, { rollback });
  if (created) log.info("No netrc file found, creating one.");
  if (result?.replaced) log.info(`Replacing the key for ${machine} in your netrc file: ${netrc}`);
  else log.info(`Appending key for ${machine} to your netrc file: ${netrc}`);
  if (result?.problem) {
    log.warn(
      `Python's netrc cannot read ${netrc}: ${result.problem}. ` +
        "The W&B Python SDK will not find the key until that line is fixed.",
    );
  }
}

/** The netrc's folder must exist (a mistyped NETRC is not created) and the file must be a file. */
function checkNetrcTarget(world: World, netrc: string): void {
  if (world.home === "" && !world.env.NETRC)
    throw new LoginError(
      "HOME is set but empty: the W&B SDK would look for /.netrc, and wandb-login stores no key there. " +
        "Set HOME to your home folder, or NETRC to the netrc file.",
    );
  if (!regularOrMissing(world, netrc)) {
    throw new LoginError(`Cannot store the key in ${netrc}: ${NOT_REGULAR}. Set NETRC to a file.`);
  }
  const folder = dirname(resolvePath(world, netrc));
  if (!exists(world.fs, folder)) {
    throw new LoginError(
      `Cannot store the key in ${netrc}: the folder ${folder} does not exist. ` +
        "Create it, or set NETRC to a file in an existing folder.",
    );
  }
}

/** Who the server says the key belongs to, shown and added to the report. */
function reportVerified<T extends { host: string } & Identity>(
  report: T,
  viewer: Viewer,
  source: string,
  log: Log,
): T {
  log.success(`Currently logged in as: ${describeViewer(viewer)} to ${report.host}. ${RELOGIN_HINT}`);
  log.info(`Credentials from: ${source}`);
  const others = viewer.teams.filter((t) => t !== viewer.entity);
  log.info(`Default team: ${viewer.entity}${others.length ? ` (other teams: ${others.join(", ")})` : ""}`);
  const { username, entity, teams } = viewer;
  return { ...report, verified: true, username, entity, teams };
}

/** `alice`, or `alice (acme)` when the default team is another name. */
function describeViewer({ username, entity }: Viewer): string {
  return entity && entity !== username ? `${username} (${entity})` : username;
}

/** `wandb-login status`: every source of a key for the host, and what the W&B SDK does; read-only. */
async function runStatus(ctx: Context): Promise<Finished> {
  const { opts, settings, host, origin, netrc, log } = ctx;
  const file = netrcState(ctx.world, netrc);
  log.info(`Host: ${host} (from ${origin})`);
  for (const s of settings) log.info(`Settings file: ${s.path}${s.exists ? "" : " (not found)"}`);
  log.info(`Netrc file: ${netrc} (${file.note})`);
  const mine = [...keySources(ctx)];
  const used = mine[0];
  const { sent, fails } = sdkVerdict(ctx);
  const sdk = sent && (mine.find((c) => c.source === sent.source && c.key === sent.key) ?? sent);
  const sources = sdk && !mine.includes(sdk) ? [...mine, sdk] : mine;
  warnAboutSdkFiles(ctx, sdk);
  reportSources(log, sources, used, sdk, fails);
  const accounts = accountsExist(ctx) ? await reportAccounts(ctx) : undefined;
  const report = {
    ...statusReport(ctx, file.state, sources, used, sdk, fails),
    ...(accounts && { accounts }),
  };
  const failure = statusFailure(ctx, used, sdk, fails);
  if (failure) return { report, failure };
  if (!opts.verify) return { report };
  return { report: reportVerified(report, await checkWithServer(ctx, sdk!), sdk!.source, log) };
}

/** The host's accounts: which is active (in the netrc), where each key lives, which one --account or
 * WANDB_LOGIN_ACCOUNT chooses; a keychain-only key reaches the W&B SDK only through `exec`. */
async function reportAccounts(ctx: Context) {
  const rows = await accountRows(ctx, readAccounts(ctx));
  const chosen = ctx.opts.account ?? ctx.world.env.WANDB_LOGIN_ACCOUNT;
  for (const { name, key, problem, store, active } of rows) {
    const notes = [
      active && "active: its key is the netrc's",
      store === "keychain only" && "reaches the W&B SDK only through `wandb-login exec`",
      name !== null && name === chosen && "chosen by --account or WANDB_LOGIN_ACCOUNT",
    ].filter(Boolean);
    ctx.log.info(`Account ${name ?? "(none)"}: ${key ?? problem} (${[store, ...notes].join("; ")})`);
  }
  return rows;
}

/** What the W&B SDK does with the settings files that wandb-login would not: ignore them, read
 * them elsewhere than WANDB_DIR says, or send a key stored for no server to this one. */
function warnAboutSdkFiles({ settings, world, host, log }: Context, sdk?: Credential): void {
  const rejected = settingsRejectedBySdk(settings);
  if (rejected) {
    const what = rejected.key.includes("=")
      ? `the value \`${rejected.key}\`, which it rejects`
      : `the setting \`${rejected.key}\`, which it does not know`;
    log.warn(`Unlike wandb-login, the W&B SDK ignores the settings files: ${rejected.path} holds ${what}.`);
  }
  const dir = world.env.WANDB_DIR;
  if (dir && resolve(world.cwd, expandHome(dir, world.home)) !== world.cwd)
    log.warn(
      `WANDB_DIR is ${dir}, but the W&B SDK reads the workspace settings in the current folder ` +
        "(it reads the settings files before it applies WANDB_DIR).",
    );
  const file = sdk?.kind === "settings" && settings.find((s) => s.path === sdk.source);
  if (file && !file.values.base_url && !settingsFor(host, settings).includes(file))
    log.warn(
      `Unlike wandb-login, the W&B SDK sends the key in ${file.path}, stored for no particular server, to ${host}.`,
    );
}

/** Status fails when the SDK would: no key it sends, a key it refuses, both variables set. */
function statusFailure({ host }: Context, used?: Credential, sdk?: Credential, fails?: string) {
  if (fails === BOTH_SET) return new LoginError(BOTH_SET);
  if (fails) return new LoginError(`For ${host}, the W&B SDK will fail: ${fails.replace(/\.$/, "")}.`);
  if (sdk) return undefined;
  if (used)
    return new LoginError(
      `The W&B SDK sends no key for ${host}: it does not read the one wandb-login uses, from ${used.source}.`,
    );
  return new LoginError(`No API key configured for ${host}. Run wandb-login to store one.`);
}

/** The netrc file as status sees it: found, a regular file, its mode and whether that is safe. */
function netrcState(world: World, netrc: string) {
  const st = statOrNull(world.fs, netrc);
  const windows = world.platform === "win32"; // no mode bits there: nothing to tighten or advise
  const mode = st && !windows ? st.mode & 0o777 : null;
  const regular = !st || st.isFile();
  const safe = !st || !regular || !(mode! & 0o077);
  const note = !st
    ? "not found"
    : !regular
      ? `${NOT_REGULAR}: no key is read from it or stored in it`
      : mode === null
        ? "a regular file"
        : `mode ${octal(mode)}${safe ? "" : `, readable by others: run chmod 600 ${netrc}`}`;
  const state = { path: netrc, exists: !!st, regular, mode: mode === null ? null : octal(mode), safe };
  return { state, note };
}

function statusReport(
  ctx: Context,
  netrc: ReturnType<typeof netrcState>["state"],
  sources: Credential[],
  used?: Credential,
  sdk?: Credential,
  fails?: string,
) {
  return {
    host: ctx.host,
    hostSource: ctx.origin,
    machine: ctx.machine,
    settings: ctx.settings.map(({ path, exists }) => ({ path, exists })),
    netrc,
    source: used?.source ?? null,
    key: used ? maskKey(used.key) : null,
    sources: sources.map((c) => ({
      source: c.source,
      ...(c.kind === "identity" ? { file: c.file, kind: "identity token" } : {}),
      key: maskKey(c.key),
      login: c === used,
      sdk: c === sdk,
      ...(c === sdk && fails ? { fails } : {}),
    })),
    sdk: { source: sdk?.source ?? null, fails: fails ?? null }, // what the W&B SDK sends, or why it fails
    configured: !!used,
    ...UNVERIFIED,
  };
}

/** Every source's masked key, which one login uses, and which one the Python SDK sends when they differ. */
function reportSources(log: Log, sources: Credential[], used?: Credential, sdk?: Credential, fails?: string) {
  for (const c of sources) {
    const sends = fails ? "sent by the W&B Python SDK, which will fail on it" : "sent by the W&B Python SDK";
    const marks = [c === used && "used by wandb-login", c === sdk && sends];
    const why = marks.filter(Boolean).join(", ");
    const what =
      c.kind === "identity" ? `Identity token: ${maskKey(c.key)} in ${c.file}` : `API key: ${maskKey(c.key)}`;
    const expires = c.expires ? `, expires ${isoTime(c.expires)}` : "";
    log.info(`${what} from ${c.source}${expires}${why ? ` (${why})` : ""}`);
  }
  if (!used || !sdk || new Set(sources.map((c) => c.key)).size === 1) return;
  const which =
    used === sdk
      ? `both wandb-login and the W&B Python SDK use the one from ${used.source}.`
      : `wandb-login uses the one from ${used.source}; the W&B Python SDK sends the one from ${sdk.source}.`;
  log.warn(`These sources hold different keys: ${which}`);
}

/** `wandb-login logout`: the host's entry leaves the netrc, and its account is forgotten (`--account
 * NAME`: that account, and the entry only when it holds its key); what still supplies a key is named. */
async function runLogout(ctx: Context): Promise<Finished> {
  const { world, host, machine, netrc, log, opts } = ctx;
  const accounts = opts.account !== undefined || accountsExist(ctx) ? readAccounts(ctx) : undefined;
  const active = accounts && (await netrcAccount(ctx, accounts));
  const named = opts.account === undefined ? active : findAccount(ctx, accounts!, opts.account);
  const leaves = opts.account === undefined || named === active;
  const regular = regularOrMissing(world, netrc);
  let removed = 0;
  await undoingOnFailure(async (rollback) => {
    if (named) forgetAccount(ctx, accounts!, named, rollback);
    if (leaves && regular) removed = removeNetrcKey(ctx, rollback);
  });
  if (named) await dropFromKeychain(ctx, named);
  const gone = `Removed the key for ${machine} from ${netrc}.`;
  const why = regular ? "" : ` (${NOT_REGULAR})`;
  if (named) log.info(`Forgot account ${named.name} of ${host}.`);
  if (leaves) log.info(removed ? gone : `No key for ${machine} in ${netrc}${why}; nothing to remove.`);
  const still = leaves ? keySources(ctx).next().value : undefined;
  if (bothSet(world)) log.warn(BOTH_SET);
  if (still?.kind === "identity")
    log.warn(
      `WANDB_IDENTITY_TOKEN_FILE still logs the W&B SDK in, with the token in ${still.file}; unset it.`,
    );
  else if (still) log.warn(`A key for ${host} is still supplied by ${still.source}.`);
  const report = { host, machine, netrc, removed: removed > 0, source: still?.source ?? null };
  return { report: named ? { ...report, account: named.name } : report };
}

/** The host's machine entry leaves the netrc, every other byte kept; how many entries went. */
function removeNetrcKey(ctx: Context, rollback: Rollback): number {
  const { world, machine, netrc, log } = ctx;
  let removed = 0;
  const remove = (old: string | null) => {
    const result = removeNetrcEntry(old ?? "", machine);
    removed = result.removed;
    // what is left is known: the lookup after the logout need not read the file again
    const { rest } = result;
    if (!rest.error)
      ctx.netrcFound = {
        fallback: rest.entries.slice(0, rest.visible).findLast((e) => e.kind === "default"),
      };
    return removed ? result.text : null;
  };
  writeCarefully(world, netrc, remove, log, { rollback });
  return removed;
}

/** `wandb-login token`: the key the W&B SDK would send (or the chosen account's), in full, alone on
 * stdout. */
async function runToken(ctx: Context): Promise<Finished> {
  const sent = (await chosenAccountKey(ctx)) ?? apiKeyOnly(sdkCredential(ctx));
  return { report: { host: ctx.host, source: sent.source }, stdout: sent.key };
}

/** An API key: an identity token is no key to print or pass on. */
function apiKeyOnly(sent: Credential): Credential {
  if (sent.kind !== "identity") return sent;
  throw new LoginError(
    `The W&B SDK authenticates with the identity token in ${sent.file} (WANDB_IDENTITY_TOKEN_FILE): ` +
      "there is no API key to print or pass on.",
  );
}

/** What the SDK sends for the host; a LoginError when it would send nothing or fail. */
function sdkCredential(ctx: Context): Credential {
  const { sent, fails } = sdkVerdict(ctx);
  const failure = statusFailure(ctx, undefined, sent, fails);
  if (failure) throw failure;
  return sent!;
}

/** `wandb-login whoami`: one line on stdout, who the server says the SDK's key belongs to. */
async function runWhoami(ctx: Context): Promise<Finished> {
  const { host, secrets } = ctx;
  const sent = (await chosenAccountKey(ctx)) ?? sdkCredential(ctx);
  const viewer = await checkWithServer(ctx, sent);
  const { username, entity, teams } = viewer;
  const line = escapeControls(maskSecrets(`${describeViewer(viewer)} at ${host}`, secrets));
  return { report: { host, username, entity, teams, source: sent.source }, stdout: line };
}

/** `wandb-login accounts`: each host's accounts, which one's key is in the netrc, where each key lives. */
async function runAccounts(ctx: Context): Promise<Finished> {
  const accounts = accountsExist(ctx) ? readAccounts(ctx) : { path: "", list: [] };
  const chosen = ctx.opts.host !== undefined || ctx.opts.cloud;
  const hosts = chosen ? [ctx.host] : [...new Set([ctx.host, ...accounts.list.map((a) => a.host)])];
  const rows: AccountRow[] = [];
  for (const host of hosts) rows.push(...(await accountRows(hostContext(ctx, host), accounts)));
  const lines = hosts.flatMap((host) => {
    const mine = rows.filter((r) => r.host === host);
    return mine.length ? [host, ...mine.map(accountLine)] : [];
  });
  const text = lines.map(escapeControls).join("\n");
  return { report: { accounts: rows }, stdout: text || "No accounts, and no key in the netrc." };
}

/** `wandb-login switch NAME`: the account's key goes into the netrc entry, where the SDK reads it;
 * the key that was there stays an account. */
async function runSwitch(ctx: Context): Promise<Finished> {
  const { host, log } = ctx;
  const accounts = readAccounts(ctx);
  const account = findAccount(ctx, accounts, ctx.opts.word!);
  if (account.keychainOnly)
    throw new LoginError(
      `Account ${account.name} of ${host} is kept in the OS keychain only, never in the netrc: it reaches ` +
        `the W&B SDK through \`wandb-login exec --account ${account.name} -- COMMAND\`.`,
    );
  const key = await accountKey(ctx, account);
  let before: Account | undefined;
  await undoingOnFailure(async (rollback) => {
    before = await keepNetrcKey(ctx, accounts, rollback);
    storeKey(ctx, key, rollback);
  });
  const was = before ? `account ${before.name}` : "no key";
  log.success(`Switched ${host} to account ${account.name} (${maskKey(key)}); it had ${was}.`);
  return { report: { host, account: account.name, previous: before?.name ?? null } };
}

/** `wandb-login exec -- COMMAND`: the command runs with the chosen key in its environment only. */
async function runExec(ctx: Context): Promise<Finished> {
  const { world, host, opts } = ctx;
  const sent = await execKey(ctx);
  const env: Env = { ...world.env, WANDB_API_KEY: sent.key, WANDB_IDENTITY_TOKEN_FILE: undefined };
  env.WANDB_BASE_URL = host === CLOUD_URL ? undefined : host; // the key goes where it was chosen for
  const code = await world.spawn(opts.argv, env);
  return { report: { host, source: sent.source }, code };
}

/** The key exec passes: the chosen account's, the active one's, what `token` prints, else the host's
 * keychain-only key. */
async function execKey(ctx: Context): Promise<Credential> {
  const chosen = await chosenAccountKey(ctx);
  if (chosen) return chosen;
  const accounts = accountsExist(ctx) ? readAccounts(ctx) : undefined;
  const active = accounts && (await netrcAccount(ctx, accounts));
  if (active) return accountCredential(active, await accountKey(ctx, active));
  const { sent, fails } = sdkVerdict(ctx);
  if (sent && !fails && sent.kind !== "identity") return sent;
  const kept = accounts?.list.find((a) => a.host === ctx.host && a.keychainOnly);
  if (kept) return accountCredential(kept, await accountKey(ctx, kept));
  return apiKeyOnly(sdkCredential(ctx)); // its error says why there is none
}

/** `wandb-login identity`: an identity token for keyless CI, fetched (GitHub Actions) or checked. */
async function runIdentity(ctx: Context): Promise<Finished> {
  const { opts, world, host, log } = ctx;
  if (world.env.WANDB_API_KEY)
    throw new LoginError(
      "WANDB_API_KEY is set: with WANDB_IDENTITY_TOKEN_FILE as well, the W&B SDK refuses to run. Remove " +
        "WANDB_API_KEY (from the job's env or secrets) to log in with the identity token, keyless.",
    );
  const { file, token, handOver } = opts.githubActions ? await requestJobToken(ctx) : tokenFileToCheck(ctx);
  if (token.problem) throw new LoginError(sentence(token.problem));
  const expires = token.expires === undefined ? null : isoTime(token.expires);
  log.info(
    `The identity token in ${file} ${expires ? `expires at ${expires}` : "has no expiry (no exp claim)"}.`,
  );
  const githubEnv = opts.githubActions ? world.env.GITHUB_ENV! : null;
  let report = { host, file, expires, githubEnv, ...UNVERIFIED };
  if (opts.verify) {
    const viewer = await checkWithServer(ctx, identityToken(file, token)); // a fresh exchange, not the cache
    report = reportVerified(report, viewer, "WANDB_IDENTITY_TOKEN_FILE", log);
  }
  await handOver?.(); // only now, checked and (with --verify) accepted: a failed run changes no file
  if (githubEnv) {
    log.success(`Later steps of this job log in with it: WANDB_IDENTITY_TOKEN_FILE is in ${githubEnv}.`);
    return { report };
  }
  return { report, stdout: `export WANDB_IDENTITY_TOKEN_FILE=${shellQuote(file)}` };
}

/** `--token-file PATH`: a token file that something else keeps, as it is now. */
function tokenFileToCheck(ctx: Context) {
  const file = resolve(ctx.world.cwd, ctx.opts.tokenFile!);
  return { file, token: readIdentityToken(ctx, file), handOver: undefined };
}

/**
 * GitHub Actions: the job's OIDC token for `--audience` (default: the host), checked as a token file
 * would be; and how to hand it over: written 0600 to $RUNNER_TEMP/wandb-identity-token, named in
 * $GITHUB_ENV for the later steps, with the folder of the SDK's token cache, which wandb-core does
 * not create, so that it can reuse its access token. All of it, or (on a failure) none of it.
 */
async function requestJobToken(ctx: Context) {
  const { world, opts, host, log } = ctx;
  const { url, bearer, file, githubEnv } = actionsJob(ctx);
  const jwt = await requestActionsToken(url, bearer, opts.audience ?? host, world);
  const token = inspectIdentityToken(ctx, `${jwt}\n`, "the OIDC token GitHub Actions answered");
  const handOver = () =>
    undoingOnFailure(async (rollback) => {
      writeCarefully(world, file, () => `${jwt}\n`, log, { rollback });
      appendLine(world, githubEnv, `WANDB_IDENTITY_TOKEN_FILE=${file}`, rollback);
      makeCacheFolder(world, rollback);
    });
  return { file, token, handOver };
}

/** The folder of the SDK's token cache, which wandb-core does not create: without it, the SDK
 * exchanges the token again on every start, and fails once the job's token has expired. */
function makeCacheFolder(world: World, rollback: Rollback): void {
  const cache = credentialsFile(world);
  if (!cache || exists(world.fs, dirname(cache))) return;
  try {
    makeFolderFor(world, cache, rollback);
  } catch (e) {
    throw asWriteError(cache, e);
  }
}

/** What a GitHub Actions job gives: where to ask for its token, and where the token and the line that
 * names it go. That line must name an absolute path and stay one line: a newline in RUNNER_TEMP would
 * add variables of its choice (BASH_ENV) to every later step. */
function actionsJob({ world, secrets }: Context) {
  const { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: bearer } = world.env;
  const { RUNNER_TEMP: temp, GITHUB_ENV: githubEnv } = world.env;
  if (!url || !bearer)
    throw new LoginError(
      "This job cannot request an OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN " +
        "are unset. Give the job `permissions: id-token: write` (in a GitHub Actions workflow).",
    );
  if (!temp || !githubEnv)
    throw new LoginError("RUNNER_TEMP and GITHUB_ENV are unset: run this as a step of a GitHub Actions job.");
  secrets.add(bearer);
  const shown = withoutUserInfo(url);
  if (!/^https:\/\//i.test(url) && !(/^http:\/\//i.test(url) && isLoopback(url)))
    throw new LoginError(`ACTIONS_ID_TOKEN_REQUEST_URL must be an https:// URL, not ${shown}.`);
  if (/[\r\n\0]/.test(temp) || !isAbsolutePath(world, temp))
    throw new LoginError(
      `RUNNER_TEMP must be an absolute path on one line, not ${JSON.stringify(temp)}: later steps would ` +
        "read another file, or other variables, from the line that names the token file.",
    );
  checkAppendable(world, githubEnv);
  return { url, bearer, file: join(temp, "wandb-identity-token"), githubEnv };
}

/** `'path'` for a POSIX shell, unquoted when it needs no quotes. */
const shellQuote = (text: string) =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;

// --- command line ---
// A strict reader of the option table: citty's own parser accepts unknown options and costs
// ≈1.5 ms (node:util) on every run, so it is the judge in the tests, not a step of each run.

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** A short lowercase word is never a key: it is a mistyped command. */
function unknownCommand(word: string): UsageError {
  const [near] = COMMANDS.filter((c) => editDistance(word, c) <= 2).sort(
    (a, b) => editDistance(word, a) - editDistance(word, b),
  );
  return new UsageError(`Unknown command "${word}".${near ? ` Did you mean "${near}"?` : ""}`);
}

/** Reads the arguments strictly against the option table: every option known, in its place, well formed. */
export function parseCommandLine(argv: string[]): Request {
  const { positionals, rest, given, help, version } = tokenize(argv);
  const word = positionals[0];
  if (word === "help") return { help: commandWord(positionals[1]) };
  if (word === "version") return "version";
  const command = commandWord(word);
  if (help) return { help: command };
  if (version) return "version";
  if (word === command) positionals.shift();
  const takes = (COMMAND_INFO[command] as CommandInfo).takes;
  if (takes !== "command") positionals.push(...(rest ?? []));
  const values: Partial<Record<OptionName, string | boolean>> = {};
  for (const option of given) {
    if (!OPTIONS[option.name].commands.includes(command))
      throw new UsageError(
        `${option.spelled} is not an option of \`wandb-login ${command}\`.`,
        `wandb-login ${command} --help`,
      );
    values[option.name] = option.value; // the last one counts, as in citty
  }
  checkOperands(command, positionals, values, rest);
  const flag = (name: OptionName) => values[name] === true;
  return {
    command,
    key: takes === "keys" ? positionals[0] : undefined,
    word: takes === "word" ? positionals[0] : undefined,
    argv: takes === "command" ? rest! : [],
    account: values.account as string | undefined,
    keychainOnly: flag("keychain-only"),
    host: values.host as string | undefined,
    extraKeys: Math.max(0, positionals.length - 1),
    stdin: flag("stdin") || positionals[0] === "-",
    cloud: flag("cloud"),
    relogin: flag("relogin"),
    verify: flag("verify"),
    json: flag("json"),
    anonymously: flag("anonymously"),
    githubActions: flag("github-actions"),
    tokenFile: values["token-file"] as string | undefined,
    audience: values.audience as string | undefined,
  };
}

/** What each command takes besides options, and the options that exclude each other. */
function checkOperands(
  command: Command,
  positionals: string[],
  values: Partial<Record<OptionName, unknown>>,
  rest?: string[],
) {
  const { takes, operands } = COMMAND_INFO[command] as CommandInfo;
  const help = `wandb-login ${command} --help`;
  if (values.cloud === true && values.host !== undefined)
    throw new UsageError("Cannot use --host and --cloud together.");
  if (takes === "word" && positionals.length !== 1)
    throw new UsageError(
      `\`${command}\` takes one ${operands === "NAME" ? "account NAME" : `shell: ${operands}`}.`,
      help,
    );
  if (takes === "command" && (positionals.length > 0 || !rest?.length))
    throw new UsageError(
      `\`exec\` runs what follows \`--\`: wandb-login exec [OPTIONS] -- COMMAND [ARG]...`,
      help,
    );
  if (!takes && positionals.length > 0) throw new UsageError(`\`${command}\` takes no KEY argument.`);
  if (values.stdin === true && positionals.length > 0)
    throw new UsageError("Cannot use --stdin together with a KEY argument.");
  if (command === "identity" && (values["github-actions"] === true) === (values["token-file"] !== undefined))
    throw new UsageError("`identity` takes --github-actions or --token-file PATH.", help);
  if (values.audience !== undefined && values["github-actions"] !== true)
    throw new UsageError("--audience goes with --github-actions.", "wandb-login identity --help");
}

/** Splits the arguments into positionals and options, each option checked against the table. */
function tokenize(argv: string[]) {
  const positionals: string[] = [];
  const given: ReturnType<typeof readOption>[] = [];
  let help = false;
  let version = false;
  let rest: string[] | undefined; // what follows `--`: positionals, or `exec`'s command
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg === "-h" || arg === "--help") help = true;
    else if (arg === "-v" || arg === "--version") version = true;
    else if (arg === "-" || !arg.startsWith("-")) positionals.push(arg);
    else {
      const option = readOption(arg, argv[i + 1]);
      if (option.consumed) i++;
      given.push(option);
    }
  }
  return { positionals, rest, given, help, version };
}

/** One `--name`, `--name=value`, `--name value` or `--no-name`, as typed: its table entry, how it was
 * spelled ("--base-url", "--no-verify") and its value; `consumed` when it took `next`. */
function readOption(arg: string, next: string | undefined) {
  const eq = arg.indexOf("=");
  const spelled = eq < 0 ? arg : arg.slice(0, eq);
  const inline = eq < 0 ? undefined : arg.slice(eq + 1);
  const bare = spelled.slice(2);
  const negated = bare.startsWith("no-") ? bare.slice(3) : undefined;
  const found = arg.startsWith("--")
    ? (lookUpOption(bare) ?? (negated ? lookUpOption(negated) : undefined))
    : undefined;
  if (!found || (found !== lookUpOption(bare) && !OPTIONS[found].negatable))
    throw new UsageError(`Unknown option ${spelled}.`);
  const def: OptionDef = OPTIONS[found];
  if (def.type === "boolean") {
    if (inline !== undefined) throw new UsageError(`Option ${spelled} does not take a value.`);
    return { name: found, spelled, value: found === lookUpOption(bare), consumed: false };
  }
  if (inline === "" || (inline === undefined && (next === undefined || next.startsWith("-"))))
    throw new UsageError(`Option ${spelled} needs a value.`);
  return { name: found, spelled, value: inline ?? next!, consumed: inline === undefined };
}

/** The table's name for an option's spelling (its name or an alias). */
function lookUpOption(spelling: string): OptionName | undefined {
  for (const [name, def] of optionList()) if (name === spelling || def.alias?.includes(spelling)) return name;
  return undefined;
}

/** The command a first word names; "login" for a key or nothing; a usage error for a typo. */
function commandWord(word: string | undefined): Command {
  if (word === undefined || word === "help" || word === "version") return "login";
  if ((COMMAND_NAMES as string[]).includes(word)) return word as Command;
  if (/^[a-z]{1,20}$/.test(word)) throw unknownCommand(word);
  return "login";
}

// --- lookup: the host, and every source of a key for it ---

/** Checks a server URL and drops trailing slashes; the wandb.ai rules are upstream's. */
export function normalizeHost(raw: string): string {
  if (raw === CLOUD_URL) return raw; // the default, and most runs: nothing to check
  const url = raw.replace(/\/+$/, "");
  // a password never reaches the terminal, nor a key written where a URL belongs
  const shown = checkApiKey(raw) === null ? maskKey(raw) : raw.replace(/(\/\/)[^/?#]*@/, "$1…@");
  const refuse = (why: string) => new LoginError(`Invalid host URL ${shown}: ${why}.`);
  if (/[\s\x00-\x1f\x7f-\x9f]/.test(raw)) throw refuse("it contains whitespace or control characters");
  // fetch reads `\` as `/`: https://evil\wandb.example.com is shown as one host and sent to another
  if (raw.includes("\\")) throw refuse("a backslash does not belong in it");
  const parts = /^https?:\/\/([^/?#]+)([^?#]*)(.*)$/i.exec(url);
  if (!parts) throw refuse("use an absolute http:// or https:// URL, e.g. https://wandb.example.com");
  if (parts[1].includes("@")) throw refuse("a user name or password does not belong in it");
  if (parts[3]) throw refuse("a query or fragment does not belong in it");
  const hostname = requestHost(url, parts[1]);
  if (hostname === null) throw refuse("a request would go to another host than the one it names");
  if (!hostname) throw refuse("it has no valid host name");
  if (hostname.endsWith("wandb.ai") && !hostname.startsWith("api.")) {
    throw new LoginError(`${url} is not a valid server address, did you mean ${CLOUD_URL}?`);
  }
  if (/^http:/i.test(url) && hostname === "api.wandb.ai")
    throw new LoginError(`http is not secure, please use ${CLOUD_URL}`);
  return url;
}

/**
 * The host name a request to `url` goes to (lower case, no trailing dot): "" when it has none, null
 * when it is not the host its `authority` names as written (the netrc machine name), as where fetch
 * decodes `%2E` or reads `0x7f.1` as 127.0.0.1. Non-ASCII names are sent as punycode, as Python does.
 */
function requestHost(url: string, authority: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "";
  }
  const [, host, port = ""] = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority) ?? [];
  const standard = parsed.protocol === "https:" ? 443 : 80;
  const samePort = /^\d*$/.test(port) && Number(port || standard) === Number(parsed.port || standard);
  if (!samePort || (isAscii(host) && host.toLowerCase() !== parsed.hostname)) return null;
  return parsed.hostname.replace(/\.+$/, ""); // a trailing dot is the same host
}

/** True for a host on this machine, where plain http never leaves it. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host and where it came from: flag, WANDB_BASE_URL, a settings file, or the default. */
export function resolveHost(opts: Pick<Options, "cloud" | "host">, env: Env, settings: Settings[]) {
  const fromSettings = settings.findLast((s) => s.values.base_url);
  const [raw, origin] = opts.cloud
    ? [CLOUD_URL, "--cloud"]
    : opts.host !== undefined
      ? [opts.host, "--host"]
      : env.WANDB_BASE_URL
        ? [env.WANDB_BASE_URL, "WANDB_BASE_URL"]
        : fromSettings
          ? [fromSettings.values.base_url, `settings file ${fromSettings.path}`]
          : [CLOUD_URL, "default"];
  return { url: normalizeHost(raw), origin };
}

/** The settings files whose api_key belongs to `host`: a file's base_url, else the system file's. */
export function settingsFor(host: string, settings: Settings[]): Settings[] {
  const system = settings.find((s) => s.scope === "system")?.values.base_url;
  return settings.filter((s) => sameHost(s.values.base_url || system || CLOUD_URL, host));
}

/** The netrc machine name: the URL's authority exactly as written, like Python's urlsplit().netloc. */
export function machineName(url: string): string {
  return /^[a-z]+:\/\/([^/?#]*)/i.exec(url)?.[1] ?? "";
}

/** Where users create a key: WANDB_APP_URL, else the API URL with `api.` rewritten as upstream does. */
export function appUrl(apiUrl: string, env: Env): string {
  if (env.WANDB_APP_URL) return env.WANDB_APP_URL.replace(/\/+$/, "");
  if (apiUrl.includes("://api.wandb.")) return apiUrl.replace("://api.wandb.", "://wandb.");
  if (apiUrl.includes("://api.")) return apiUrl.replace("://api.", "://app.");
  return apiUrl;
}

/** `text` as a sentence: a capital first letter and a full stop. */
const sentence = (text: string) =>
  `${text[0].toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;

/** A complete sentence describing what is wrong with the key, or null when its format is valid. */
export function checkApiKey(key: string): string | null {
  if (!key) return "API key is empty.";
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(key)) return null; // JWT-shaped token
  const prefix = key.slice(0, key.indexOf("-") + 1); // on-prem keys carry a `prefix-`
  const secret = key.slice(prefix.length);
  if (!/^[\w-]+$/.test(secret))
    return "API key may only contain letters (A-Z, a-z), digits, underscores and hyphens.";
  if (secret.length >= 40) return null;
  const after = prefix ? ` after its prefix "${prefix}"` : "";
  return `API key must have 40+ characters${after}, has ${secret.length}.`;
}

/**
 * Every source that holds a key for the host, in login's order: WANDB_API_KEY, the identity token,
 * the settings files for this host (workspace first), the netrc entry, else the netrc `default`
 * entry when its password is key-shaped. Lazy: login stops at the first, so later files are not read.
 */
function* keySources(ctx: Context): Generator<Credential> {
  const fromEnv = envCredential(ctx);
  if (fromEnv) yield fromEnv;
  const identity = identityCredential(ctx);
  if (identity) yield identity;
  for (const { path, values } of settingsFor(ctx.host, ctx.settings).reverse()) {
    if (values.api_key) yield settingsCredential(ctx, path, values.api_key);
  }
  const fromNetrc = netrcCredential(ctx);
  if (fromNetrc) yield fromNetrc;
}

/** The netrc's key for the machine, as Python's netrc finds it, falling back to a key-shaped `default`. */
function netrcCredential(ctx: Context): Credential | null {
  const { netrc } = ctx;
  const { entry, fallback } = netrcFor(ctx);
  const key = fromBytes((entry ?? fallback)?.password ?? "");
  // `default` often holds something else than a W&B key
  if (!key || (!entry && checkApiKey(key))) return null;
  const source = entry ? netrc : `${netrc} (default entry)`;
  return found(ctx, { key, source, label: `netrc file ${source}`, kind: entry ? "netrc" : "default" });
}

/** A source of a key, its key a secret from the moment it is found: a source cannot forget to mask it. */
function found(ctx: Context, credential: Credential): Credential {
  if (credential.key) ctx.secrets.add(credential.key);
  return credential;
}

const settingsCredential = (ctx: Context, path: string, key: string) =>
  found(ctx, { key, source: path, label: `settings file ${path}`, kind: "settings" });

/** The netrc's entries for the machine, read once a run, with what Python would warn about. */
function netrcFor(ctx: Context, strict = false): { entry?: NetrcEntry; fallback?: NetrcEntry } {
  if (ctx.netrcFound) return ctx.netrcFound;
  const { world, netrc, machine, log } = ctx;
  const text = strict ? readText(world, netrc) : readOrWarn(world, netrc, log);
  const { entry, fallback, error } = netrcLookup(text ?? "", machine);
  if (error) log.warn(`Failed to read netrc file at ${netrc}: ${error}. Ignoring it.`);
  else if (entry && !entry.password)
    log.warn(`Found entry for machine ${JSON.stringify(machine)} with no API key at ${netrc}.`);
  ctx.netrcFound = error ? {} : { entry, fallback };
  return ctx.netrcFound;
}

/**
 * What the W&B Python SDK (wandb 0.30) sends for the host, in its own order (spec §9): both
 * variables set → it refuses; WANDB_API_KEY; the identity token; the netrc machine entry, else its
 * `default` whatever it holds; the settings' api_key, merged, for the merged base_url; SageMaker's.
 * `fails` says why the SDK would stop, with or without a source it stopped on.
 */
function sdkVerdict(ctx: Context): { sent?: Credential; fails?: string } {
  const { env } = ctx.world;
  if (env.WANDB_API_KEY && env.WANDB_IDENTITY_TOKEN_FILE) return { fails: BOTH_SET };
  const sent =
    envCredential(ctx) ?? identityCredential(ctx) ?? sdkNetrcCredential(ctx) ?? sdkSettingsCredential(ctx);
  if (!sent) return {};
  if (sent.problem) return { sent, fails: sent.problem };
  const problem = sent.kind === "identity" ? undefined : checkApiKey(sent.key);
  if (!problem) return { sent };
  if (sent.kind === "env") return { sent, fails: `WANDB_API_KEY invalid: ${problem}` }; // the SDK's words
  return { sent, fails: `the ${sent.label} is not a valid API key (${problem.replace(/\.$/, "")})` };
}

const bothSet = ({ env }: World) => !!env.WANDB_API_KEY && !!env.WANDB_IDENTITY_TOKEN_FILE;
const BOTH_SET =
  "Both WANDB_API_KEY and WANDB_IDENTITY_TOKEN_FILE are set; the W&B SDK refuses to run that way. Unset one.";

function envCredential(ctx: Context): Credential | undefined {
  const key = ctx.world.env.WANDB_API_KEY;
  return key ? found(ctx, { key, source: "WANDB_API_KEY", label: "WANDB_API_KEY", kind: "env" }) : undefined;
}

/** The token WANDB_IDENTITY_TOKEN_FILE names, with what would stop the SDK from using it. */
function identityCredential(ctx: Context): Credential | undefined {
  const file = ctx.world.env.WANDB_IDENTITY_TOKEN_FILE;
  if (!file) return undefined;
  if (ctx.identityFound) return ctx.identityFound; // status asks twice: login's order and the SDK's
  const path = resolve(ctx.world.cwd, file);
  const token = identityToken(path, readIdentityToken(ctx, path));
  const accessToken = cachedAccessToken(ctx);
  ctx.identityFound = accessToken ? { ...token, accessToken, problem: undefined } : token;
  return ctx.identityFound;
}

/** The identity token read from `file` as a source. */
function identityToken(file: string, { jwt = "", expires, problem }: IdentityRead): Credential {
  const label = `identity token in ${file}`;
  return { key: jwt, source: "WANDB_IDENTITY_TOKEN_FILE", label, kind: "identity", file, expires, problem };
}

/**
 * The JWT in a token file: a regular file, at most 64 KiB, holding three base64url parts whose
 * payload's `exp` (read without checking the signature) has not passed.
 */
function readIdentityToken(ctx: Context, path: string): IdentityRead {
  let text: string | null;
  try {
    text = readText(ctx.world, path, MAX_TOKEN_BYTES);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  if (text === null) return { problem: `the identity token file ${path} does not exist` };
  return inspectIdentityToken(ctx, text, `the identity token in ${path}`);
}

type IdentityRead = { jwt?: string; expires?: number; problem?: string };

/** The checks a token must pass, from a file or not yet written (`what` names it): within the size
 * this tool reads back, a JWT, its `exp` (read without checking the signature) a time not passed. */
function inspectIdentityToken(ctx: Context, text: string, what: string): IdentityRead {
  if (text.length > MAX_TOKEN_BYTES) return { problem: `${what} is larger than ${MAX_TOKEN_BYTES} bytes` };
  const jwt = text.trim();
  if (!jwt) return { problem: `${what} is empty` };
  ctx.secrets.add(jwt);
  const { expires, problem } = jwtExpiry(jwt);
  if (problem) return { jwt, problem: `${what} ${problem}` };
  if (expires !== undefined && expires <= ctx.world.now()) {
    return { jwt, expires, problem: `${what} expired at ${isoTime(expires)}` };
  }
  return { jwt, expires };
}

/** A JWT's `exp` claim in milliseconds (undefined when it has none), or why it has none we can use. */
export function jwtExpiry(jwt: string): { expires?: number; problem?: string } {
  const parts = /^([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(jwt);
  const notJwt = { problem: "does not hold a JWT (three base64url parts, the middle one a JSON object)" };
  if (!parts) return notJwt;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[2], "base64url").toString("utf8"));
  } catch {
    return notJwt;
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return notJwt;
  const { exp } = payload as { exp?: unknown };
  if (exp === undefined) return {};
  // a date holds ±8.64e15 ms: an `exp` past that, or no number at all, says nothing we can trust
  if (typeof exp !== "number" || !(Math.abs(exp * 1000) <= 8.64e15))
    return { problem: `has an exp claim (${JSON.stringify(exp)}) that is not a time in seconds` };
  return { expires: exp * 1000 };
}

const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** The SDK's cache of exchanged tokens: WANDB_CREDENTIALS_FILE, else ~/.config/wandb/credentials.json. */
function credentialsFile({ env, home }: World): string | null {
  if (env.WANDB_CREDENTIALS_FILE) return env.WANDB_CREDENTIALS_FILE;
  return home && join(home, ".config", "wandb", "credentials.json");
}

/** An access token the SDK cached for this host, reused while more than 5 minutes remain. */
function cachedAccessToken({ world, host, secrets }: Context): string | undefined {
  const path = credentialsFile(world);
  let entry: { access_token?: unknown; expires_at?: unknown } | undefined;
  try {
    entry = path
      ? JSON.parse(readText(world, path, MAX_RESPONSE_BYTES) ?? "{}").credentials?.[host]
      : undefined;
  } catch {
    return undefined; // the SDK ignores a cache it cannot parse
  }
  if (typeof entry?.access_token !== "string" || typeof entry.expires_at !== "string") return undefined;
  const expires = Date.parse(`${entry.expires_at.replace(" ", "T")}Z`); // UTC, as wandb-core writes it
  if (!(expires - world.now() > 5 * 60_000)) return undefined;
  secrets.add(entry.access_token);
  return entry.access_token;
}

/** The SDK's netrc rule: the machine entry, else `default` whatever its password; an entry
 * without a password, or a file it cannot parse, falls through to the settings. */
function sdkNetrcCredential(ctx: Context): Credential | undefined {
  const { entry, fallback } = netrcFor(ctx);
  const password = (entry ?? fallback)?.password;
  if (!password) return undefined;
  const source = entry ? ctx.netrc : `${ctx.netrc} (default entry)`;
  const label = entry ? `netrc entry for ${ctx.machine} password` : "netrc default entry password";
  return found(ctx, { key: fromBytes(password), source, label, kind: entry ? "netrc" : "default" });
}

/**
 * The SDK's settings rule: system and workspace files merged (workspace wins), then SageMaker's
 * secrets.env and hyperparameters over them; the key counts for the host the merged base_url names
 * (WANDB_BASE_URL over the files). A setting the SDK does not know makes it ignore both files.
 */
function sdkSettingsCredential(ctx: Context): Credential | undefined {
  const { settings, world, host } = ctx;
  const usable = !settingsRejectedBySdk(settings);
  const merged = usable ? Object.assign({}, ...settings.map((s) => s.values)) : {};
  const sagemaker = sagemakerValues(ctx);
  const baseUrl = sagemaker.baseUrl ?? world.env.WANDB_BASE_URL ?? merged.base_url ?? CLOUD_URL;
  if (!sameHost(baseUrl, host)) return undefined;
  if (sagemaker.key) return sagemaker.key;
  const file = usable ? settings.findLast((s) => s.values.api_key) : undefined;
  return file && settingsCredential(ctx, file.path, file.values.api_key);
}

/** The first setting of either file that wandb does not know, which makes it ignore both files. */
function settingsRejectedBySdk(settings: Settings[]): { path: string; key: string } | undefined {
  for (const { path, values } of settings) {
    for (const key in values) if (!SDK_SETTINGS.has(key.replace(/^_/, "x_"))) return { path, key };
  }
  const mode = settings.findLast((s) => s.values.mode !== undefined);
  if (mode && !SDK_MODES.includes(mode.values.mode))
    return { path: mode.path, key: `mode = ${mode.values.mode}` };
  return undefined;
}

/** `url` names `host` once normalised; an invalid URL names nothing. */
function sameHost(url: string, host: string): boolean {
  try {
    return normalizeHost(url) === host;
  } catch {
    return false;
  }
}

/**
 * On SageMaker (SM_TRAINING_ENV set, even empty, or the hyperparameters file there), the SDK applies
 * ./secrets.env's WANDB_* lines after the environment (values as written: quotes stay), and a
 * top-level `wandb_api_key` of the hyperparameters or SM_TRAINING_ENV over them.
 */
function sagemakerValues(ctx: Context): { key?: Credential; baseUrl?: string } {
  const { world } = ctx;
  const { env } = world;
  const on = env.SM_TRAINING_ENV !== undefined || exists(world.fs, world.sagemakerConfig);
  if (!on || /^true$/i.test(env.WANDB_SAGEMAKER_DISABLE ?? "")) return {};
  const sagemaker = (key: string, source: string, problem?: string) =>
    found(ctx, { key, source, label: `SageMaker ${source}`, kind: "sagemaker", problem });
  const secretsFile = join(world.cwd, "secrets.env");
  const lines = readOrWarn(world, secretsFile, ctx.log)?.split(/\r?\n/) ?? [];
  if (lines.at(-1) === "") lines.pop();
  const broken = lines.findIndex((l) => !l.trim().includes("="));
  const values = Object.fromEntries(lines.map((l) => l.trim().split(/=(.*)/s).slice(0, 2)));
  const crash =
    broken >= 0 ? `the W&B SDK will fail on ${secretsFile}: line ${broken + 1} has no \`=\`` : undefined;
  const hyper = sagemakerHyperparameters(world);
  if (typeof hyper.wandb_api_key === "string" && hyper.wandb_api_key) {
    return { key: sagemaker(hyper.wandb_api_key, "hyperparameter wandb_api_key", crash ?? hyper.problem) };
  }
  const key = values.WANDB_API_KEY;
  const fromFile = key || crash ? sagemaker(key ?? "", `${secretsFile} (WANDB_API_KEY)`, crash) : undefined;
  return { key: fromFile, baseUrl: values.WANDB_BASE_URL };
}

/** The hyperparameters file, with SM_TRAINING_ENV's JSON over it; `problem` where the SDK crashes. */
function sagemakerHyperparameters(world: World): Record<string, unknown> & { problem?: string } {
  let merged: Record<string, unknown> = {};
  let problem: string | undefined;
  try {
    const text = readText(world, world.sagemakerConfig, MAX_RESPONSE_BYTES);
    if (text !== null) merged = JSON.parse(text);
    const bad = Object.keys(merged).find((k) => typeof merged[k] !== "string");
    if (bad)
      problem = `the W&B SDK will fail on ${world.sagemakerConfig}: the hyperparameter ${bad} is no string`;
  } catch {
    problem = `the W&B SDK will fail on ${world.sagemakerConfig}: it is no JSON object`;
  }
  try {
    if (world.env.SM_TRAINING_ENV) merged = { ...merged, ...JSON.parse(world.env.SM_TRAINING_ENV) };
  } catch {
    /* the SDK only warns about it */
  }
  return { ...merged, problem };
}

// --- accounts and the OS keychain (spec §12) ---
// An account is a host, a name and a key; the active one is the one whose key the host's netrc entry
// holds (where the W&B SDK reads it). The index, accounts.json, says which accounts there are and
// where each key lives; keys live in the OS keychain (Bun.secrets) where one answers, else in the
// index itself (0600, written like the netrc). A machine without the index pays one stat for it.

interface Account {
  host: string;
  name: string;
  store: "keychain" | "file";
  key?: string; // only when kept in the file
  keychainOnly?: boolean; // never in the netrc (login --keychain-only)
}
interface Accounts {
  path: string;
  list: Account[];
}
/** An account as `accounts` lists it; `name` null for a netrc key that belongs to no account. */
interface AccountRow {
  host: string;
  name: string | null;
  active: boolean;
  store: string;
  key: string | null;
  problem?: string;
}

const ACCOUNT_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

function checkAccountName(name: string): void {
  if (!ACCOUNT_NAME.test(name))
    throw new LoginError(
      `Invalid account name ${JSON.stringify(name)}: use letters, digits, ".", "_", "-" and "@", at most 64.`,
    );
}

/** $XDG_CONFIG_HOME/wandb-login/accounts.json (default ~/.config/…; %APPDATA%\wandb-login\ on Windows). */
function accountsPath({ env, home, platform }: World): string | null {
  const base = platform === "win32" ? env.APPDATA : env.XDG_CONFIG_HOME || (home && join(home, ".config"));
  return base ? join(base, "wandb-login", "accounts.json") : null;
}

/** One stat: whether there are accounts to read at all. */
function accountsExist({ world }: Context): boolean {
  const path = accountsPath(world);
  return path !== null && exists(world.fs, path);
}

/** The index, read once a run. A file that is not what we write is an error: never overwritten. */
function readAccounts(ctx: Context): Accounts {
  if (ctx.accounts) return ctx.accounts;
  const path = accountsPath(ctx.world);
  if (!path) throw new LoginError("Cannot find your home folder for the accounts file: set HOME.");
  const text = readText(ctx.world, path, MAX_RESPONSE_BYTES);
  let list: unknown;
  try {
    list = text === null ? [] : JSON.parse(fromBytes(text)).accounts;
  } catch {}
  if (!Array.isArray(list) || !list.every(isAccount))
    throw new LoginError(
      `The accounts file ${path} is not what wandb-login writes: fix it, or move it away (it is not overwritten).`,
    );
  for (const { key } of list) if (key) ctx.secrets.add(key);
  ctx.accounts = { path, list };
  return ctx.accounts;
}

function isAccount(a: Account): boolean {
  const stored = a?.store === "keychain" || (a?.store === "file" && typeof a.key === "string");
  return stored && typeof a.host === "string" && ACCOUNT_NAME.test(a.name);
}

function writeAccounts(ctx: Context, accounts: Accounts, rollback: Rollback): void {
  const text = toBytes(`${JSON.stringify({ version: 1, accounts: accounts.list }, null, 2)}\n`);
  const change = (old: string | null) => (old === text ? null : text);
  writeCarefully(ctx.world, accounts.path, change, ctx.log, { folders: true, rollback });
}

/** `login --account NAME`: the key becomes that account of the host, and the key the netrc entry held
 * before is kept too (keepNetrcKey). `--keychain-only`: the key goes into the OS keychain and nowhere
 * else (the index names the account, not its key), and the netrc is not touched. */
async function rememberAccount(ctx: Context, key: string, rollback: Rollback): Promise<void> {
  const { account, keychainOnly } = ctx.opts;
  const accounts = readAccounts(ctx);
  if (!keychainOnly) await keepNetrcKey(ctx, accounts, rollback);
  await putAccount(ctx, accounts, account ?? "keychain", key, rollback);
  writeAccounts(ctx, accounts, rollback);
}

/** The key the host's netrc entry holds, kept as an account (`default`, `default-2`, …) when it
 * belongs to none: no named login or switch ever loses a key. Returns the account that holds it. */
async function keepNetrcKey(ctx: Context, accounts: Accounts, rollback: Rollback) {
  const key = netrcKey(ctx);
  const held = await netrcAccount(ctx, accounts);
  if (held || !key) return held;
  const taken = new Set(accounts.list.filter((a) => a.host === ctx.host).map((a) => a.name));
  let name = "default";
  for (let n = 2; taken.has(name); n++) name = `default-${n}`;
  ctx.log.info(`Keeping the key that was in ${ctx.netrc} for ${ctx.machine} as account ${name}.`);
  return putAccount(ctx, accounts, name, key, rollback);
}

/**
 * Keeps `key` as account `name` of the host: in the OS keychain when it answers, else in the index
 * file, said once (it is plain text there); with --keychain-only, in the keychain or nowhere. The
 * caller writes the index; a rollback puts the keychain entry back as it was.
 */
async function putAccount(ctx: Context, accounts: Accounts, name: string, key: string, rollback: Rollback) {
  const { host, log, world } = ctx;
  const { keychainOnly } = ctx.opts; // never for the netrc's key: keepNetrcKey runs without it
  const account: Account = { host, name, store: "keychain", ...(keychainOnly ? { keychainOnly } : {}) };
  const entry = keychainName(account);
  const known = ctx.keychainDown;
  try {
    const before = await keychain(ctx, (k) => k.get(entry));
    await keychain(ctx, (k) => k.set(entry, key));
    rollback.add(() => (before ? world.keychain.set(entry, before) : world.keychain.delete(entry)));
  } catch (e) {
    const why = (e as Error).message;
    if (keychainOnly)
      throw new LoginError(
        `Cannot keep the key in the OS keychain: ${why}. Nothing was written: --keychain-only never ` +
          "falls back to a file.",
      );
    Object.assign(account, { store: "file", key });
    if (!known)
      log.info(
        `The OS keychain is not usable (${why}): the key of account ${name} is kept in plain text in ` +
          `${accounts.path} (mode 0600).`,
      );
  }
  accounts.list = [...accounts.list.filter((a) => a.host !== host || a.name !== name), account];
  return account;
}

/** An account leaves the index (its keychain entry goes once every file is written: dropFromKeychain). */
function forgetAccount(ctx: Context, accounts: Accounts, account: Account, rollback: Rollback): void {
  accounts.list = accounts.list.filter((a) => a !== account);
  writeAccounts(ctx, accounts, rollback);
}

async function dropFromKeychain(ctx: Context, account: Account): Promise<void> {
  if (account.store !== "keychain") return;
  try {
    await keychain(ctx, (k) => k.delete(keychainName(account)));
  } catch (e) {
    ctx.log.warn(`The OS keychain entry of account ${account.name} stays: ${(e as Error).message}.`);
  }
}

/** The host's account of that name; exit 1 listing the host's names when there is none. */
function findAccount(ctx: Context, accounts: Accounts, name: string): Account {
  checkAccountName(name);
  const mine = accounts.list.filter((a) => a.host === ctx.host);
  const found = mine.find((a) => a.name === name);
  if (found) return found;
  if (!mine.length)
    throw new LoginError(`${ctx.host} has no accounts: add one with \`wandb-login --account ${name} KEY\`.`);
  throw new LoginError(`${ctx.host} has no account ${name}; it has: ${mine.map((a) => a.name).join(", ")}.`);
}

/** An account's key, from the keychain or the file. A keychain cannot tell a locked entry from a
 * deleted one: both read as missing. */
async function accountKey(ctx: Context, account: Account): Promise<string> {
  const { name, host } = account;
  let key = account.key ?? null;
  try {
    if (account.store === "keychain") key = await keychain(ctx, (k) => k.get(keychainName(account)));
  } catch (e) {
    throw new LoginError(
      `Cannot read the key of account ${name} from the OS keychain: ${(e as Error).message}.`,
    );
  }
  if (!key)
    throw new LoginError(
      `The OS keychain holds no key for account ${name} of ${host}: it was deleted, or the keychain is ` +
        `locked. Unlock it, or log in again with --account ${name}.`,
    );
  ctx.secrets.add(key);
  return key;
}

/** The account --account or WANDB_LOGIN_ACCOUNT names, as a source of its key; none when neither does. */
async function chosenAccountKey(ctx: Context): Promise<Credential | undefined> {
  const name = ctx.opts.account ?? ctx.world.env.WANDB_LOGIN_ACCOUNT;
  if (!name) return undefined;
  const account = findAccount(ctx, readAccounts(ctx), name);
  return accountCredential(account, await accountKey(ctx, account));
}

const accountCredential = (account: Account, key: string): Credential => {
  const source = `account ${account.name}`;
  return { key, source, label: source, kind: "account" }; // accountKey made the key a secret
};

/** The host's netrc entry's key (not `default`'s): the one the active account holds. */
function netrcKey(ctx: Context): string | undefined {
  const password = netrcFor(ctx, true).entry?.password; // unreadable is an error: that key must not be lost
  return password ? fromBytes(password) : undefined;
}

/** The account whose key the host's netrc entry holds: the active one. */
async function netrcAccount(ctx: Context, accounts: Accounts): Promise<Account | undefined> {
  const key = netrcKey(ctx);
  for (const account of accounts.list) {
    if (!key || account.host !== ctx.host || account.keychainOnly) continue;
    if ((await accountKey(ctx, account).catch(() => null)) === key) return account;
  }
  return undefined;
}

/** The host's accounts as `accounts` and `status` show them, and a netrc key that is no account's. */
async function accountRows(ctx: Context, accounts: Accounts): Promise<AccountRow[]> {
  const inNetrc = netrcKey(ctx);
  const rows: AccountRow[] = [];
  for (const account of accounts.list.filter((a) => a.host === ctx.host)) {
    const key = await accountKey(ctx, account).catch((e: Error) => e);
    const store = account.keychainOnly
      ? "keychain only"
      : { keychain: "OS keychain", file: "accounts file" }[account.store];
    const active = key === inNetrc && !account.keychainOnly;
    const shown = typeof key === "string" ? { key: maskKey(key) } : { key: null, problem: key.message };
    rows.push({ host: ctx.host, name: account.name, active, store, ...shown });
  }
  if (inNetrc && !rows.some((r) => r.active))
    rows.push({ host: ctx.host, name: null, active: true, store: "netrc only", key: maskKey(inNetrc) });
  return rows;
}

/** `* work  OS keychain  wandb_v1_…abcd`: one account, `*` when active. */
const accountLine = (r: AccountRow) =>
  `  ${r.active ? "*" : " "} ${(r.name ?? "(no account)").padEnd(16)} ${r.store.padEnd(14)} ${r.key ?? r.problem}`;

/** The same run for another host (accounts lists every host's). */
const hostContext = (ctx: Context, host: string): Context => ({
  ...ctx,
  host,
  machine: machineName(host),
  netrcFound: undefined,
});

const keychainName = (account: Account) => `${account.host} ${account.name}`;

/** A call to the OS keychain. Its first failure (none here, locked, silent) is remembered for the run:
 * a silent one is waited for once, not once per account. */
async function keychain<T>(ctx: Context, call: (keychain: Keychain) => Promise<T>): Promise<T> {
  if (ctx.world.env.WANDB_LOGIN_KEYCHAIN === "0") ctx.keychainDown ??= "turned off by WANDB_LOGIN_KEYCHAIN=0";
  if (ctx.keychainDown) throw new Error(ctx.keychainDown);
  try {
    return await call(ctx.world.keychain);
  } catch (e) {
    ctx.keychainDown = (e as Error).message || String(e);
    throw e;
  }
}

// --- secrets and output ---

/** Enough of a key to recognise it, never the whole secret. */
export function maskKey(key: string): string {
  const prefix = /^wandb_v1_/.test(key) ? "wandb_v1_" : "";
  return key.length - prefix.length >= 20 ? `${prefix}…${key.slice(-4)}` : `${prefix}…`;
}

/** Key-shaped values among arguments (also after `--` or `=`) and variables: they are masked too.
 * A plain loop: the first flatMap of a run costs ≈0.2 ms, and every run pays this. */
export function keyShaped(values: (string | undefined)[]): string[] {
  const found = new Set<string>();
  for (const v of values) {
    if (!v) continue;
    for (const candidate of [v, v.replace(/^-+/, ""), v.slice(v.indexOf("=") + 1)])
      if (!candidate.startsWith("-") && checkApiKey(candidate) === null) found.add(candidate);
  }
  return [...found];
}

/** UTF-8 text as a byte string (one char per byte), and back; ASCII, the usual case, is both already. */
const isAscii = (s: string) => !/[^\x00-\x7f]/.test(s);
export const toBytes = (s: string) => (isAscii(s) ? s : String.fromCharCode(...new TextEncoder().encode(s)));
export const fromBytes = (b: string) =>
  isAscii(b) ? b : new TextDecoder().decode(Uint8Array.from(b, (c) => c.charCodeAt(0)));

/** The HTTP Basic credentials W&B expects: user `api`, the key as password. */
export const basicAuth = (key: string) => `Basic ${btoa(toBytes(`api:${key}`))}`;

/** Text with every known key (and its Basic-auth form) masked: the last guard before output. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  for (const key of secrets) {
    if (key.length < 8) continue; // not a key; masking `e` would garble every word
    text = text.replaceAll(key, maskKey(key));
    if (text.includes("Basic ")) text = text.replaceAll(basicAuth(key), "Basic …");
  }
  return text;
}

/** Every known secret masked, and any key-shaped word a message quotes from a file (a netrc parse
 * error quoting a stray key line): the last guard before output. */
export function maskAll(text: string, secrets: Iterable<string>): string {
  return maskSecrets(text, secrets).replace(/"((?:[\w-]+-)?[\w-]{40,})"/g, (_, key) => `"${maskKey(key)}"`);
}

/** Control characters (C0, DEL, C1: ESC and OSC sequences among them) as visible `\xNN`. */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** JSON with C1 controls escaped too (JSON.stringify leaves them raw): no CSI reaches a terminal. */
const toJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\x80-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);

type Log = ReturnType<typeof createLog>;

/**
 * Human messages on stderr, `wandb:`-prefixed as upstream prints them; any secret is masked and
 * control characters from outside (server answers, paths, settings) are shown, not obeyed.
 */
function createLog(color: boolean, secrets: Set<string>, write: (text: string) => void) {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const labels: Record<string, string> = { warn: paint("33", "WARNING "), error: paint("31", "ERROR ") };
  const line = (type: string, text: string) =>
    `${paint("34;1", "wandb")}: ${labels[type] ?? ""}${escapeControls(maskAll(text, secrets))}`;
  const reporter = {
    log: (entry: LogObject) => write(`${line(entry.type, entry.args.map(String).join(" "))}\n`),
  };
  // only the types we log with (consola wraps two functions per type as it starts); throttle 0:
  // consola would serialise every line to spot repeats, and hold a repeated warning back
  const { info, success, warn, error } = LogTypes;
  const types = { info, success, warn, error } as typeof LogTypes;
  const consola = createConsola({ reporters: [reporter], level: 3, throttle: 0, types });
  return Object.assign(consola, {
    ask: (text: string) => write(line("info", text)),
  });
}

// --- settings files (INI, as Python's configparser reads them) ---

/**
 * The settings wandb's `Settings` accepts in a settings file (its pydantic fields, `extra="forbid"`):
 * any other key in either file makes the SDK ignore both. Read from wandb v0.28.2 (wandb_settings.py),
 * the newest source at hand; 0.30 may know a few more, never fewer of these. `x_primary_node` is an
 * alias, and `_x` is read as `x_x`.
 */
const SDK_SETTINGS = new Set(
  (
    "allow_media_symlink allow_offline_artifacts allow_val_change anonymous api_key " +
    "azure_account_url_to_access_key app_url_override base_url code_dir config_paths console " +
    "console_multipart console_chunk_max_bytes console_chunk_max_seconds capture_loggers " +
    "credentials_file disable_code disable_git disable_git_fork_point disable_job_creation docker " +
    "email entity organization force fork_from git_commit git_remote git_remote_url git_root " +
    "heartbeat_seconds host http_proxy https_proxy identity_token_file ignore_globs init_timeout " +
    "finish_timeout finish_timeout_raises insecure_disable_ssl job_name job_source label_disable " +
    "launch launch_config_path login_timeout mode notebook_name program program_abspath " +
    "program_relpath project quiet reinit relogin resume resume_from resumed root_dir run_group " +
    "run_id run_job_type run_name run_notes run_tags sagemaker_disable save_code settings_system " +
    "stop_fn max_end_of_run_history_metrics max_end_of_run_summary_metrics show_colors show_emoji " +
    "show_errors show_info show_warnings silent start_method stop_on_fatal_error strict " +
    "summary_timeout summary_warnings sweep_id sweep_param_path symlink sync_tensorboard " +
    "table_raise_on_max_row_limit_exceeded use_dot_wandb username x_cli_only_mode x_disable_meta " +
    "x_disable_stats x_disable_viewer x_disable_machine_info x_executable x_extra_http_headers " +
    "x_file_stream_max_bytes x_file_stream_max_line_bytes x_file_stream_transmit_interval " +
    "x_file_stream_no_gzip x_file_stream_retry_max x_file_stream_retry_wait_min_seconds " +
    "x_file_stream_retry_wait_max_seconds x_file_stream_timeout_seconds x_file_transfer_retry_max " +
    "x_file_transfer_retry_wait_min_seconds x_file_transfer_retry_wait_max_seconds " +
    "x_file_transfer_timeout_seconds x_files_dir x_flow_control_custom x_flow_control_disabled " +
    "x_graphql_retry_max x_graphql_retry_wait_min_seconds x_graphql_retry_wait_max_seconds " +
    "x_graphql_timeout_seconds x_internal_check_process x_jupyter_name x_jupyter_path x_jupyter_root " +
    "x_label x_live_policy_rate_limit x_live_policy_wait_time x_log_level x_network_buffer x_primary " +
    "x_proxies x_runqueue_item_id x_save_requirements x_server_side_derived_summary " +
    "x_server_side_expand_glob_metrics x_service_transport x_service_wait x_skip_transaction_log " +
    "x_start_time x_stats_pid x_stats_sampling_interval x_stats_neuron_monitor_config_path " +
    "x_stats_dcgm_exporter x_stats_open_metrics_endpoints x_stats_open_metrics_filters " +
    "x_stats_open_metrics_http_headers x_stats_disk_paths x_stats_cpu_count x_stats_cpu_logical_count " +
    "x_stats_gpu_count x_stats_gpu_type x_stats_gpu_device_ids x_stats_buffer_size " +
    "x_stats_coreweave_metadata_base_url x_stats_coreweave_metadata_endpoint " +
    "x_stats_track_process_tree x_stats_no_cgroup x_sync x_sync_dir_suffix x_update_finish_state x_primary_node"
  ).split(" "),
);
/** The values wandb accepts for `mode` (case-sensitive). */
const SDK_MODES = ["online", "offline", "shared", "disabled", "dryrun", "run"];

interface IniLine {
  section: string | null;
  key?: string;
  first?: boolean;
}

/** Classifies each line: its section and, for an option's first line or its continuations, the option. */
function iniLines(text: string): { lines: string[]; info: IniLine[]; error?: string } {
  const lines = text.split(/\r?\n/);
  const info: IniLine[] = [];
  let section: string | null = null,
    key: string | undefined,
    indent = 0,
    error: string | undefined;
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const stripped = line.trim();
    const lineIndent = line.length - line.trimStart().length;
    if (!stripped || /^[#;]/.test(stripped)) {
      info.push({ section });
      return;
    }
    if (key !== undefined && lineIndent > indent) {
      info.push({ section, key });
      return;
    }
    const header = /^\[(.+)\]$/.exec(stripped);
    key = undefined;
    if (header) {
      section = header[1];
      if (seen.has(section)) error ??= `section ${JSON.stringify(section)} appears twice (line ${i + 1})`;
      seen.add(section);
      info.push({ section });
      return;
    }
    const option = /^(.*?)\s*[=:]/.exec(stripped);
    if (section === null || !option) error ??= `cannot parse line ${i + 1}`;
    else if (seen.has(`${section}\0${option[1].toLowerCase()}`))
      error ??= `option ${JSON.stringify(option[1])} appears twice (line ${i + 1})`;
    if (option && section !== null) {
      key = option[1].toLowerCase();
      indent = lineIndent;
      seen.add(`${section}\0${key}`);
    }
    info.push({ section, key, first: true });
  });
  return { lines, info, error };
}

/** The `[default]` section's values (with `[DEFAULT]` beneath them), or the parse error. */
export function parseSettings(text: string): { values: Record<string, string>; error?: string } {
  const { lines, info, error } = iniLines(text);
  if (error) return { values: {}, error };
  const sections: Record<string, Record<string, string>> = {};
  info.forEach(({ section, key, first }, i) => {
    if (section === null || key === undefined) return;
    sections[section] ??= {};
    const values = sections[section];
    const line = lines[i].trim();
    values[key] = first ? line.replace(/^.*?\s*[=:]\s*/, "") : `${values[key]}\n${line}`;
  });
  const values = { ...sections.DEFAULT, ...sections.default };
  for (const k in values) values[k] = values[k].replaceAll("%%", "%");
  return { values };
}

/** Sets (string) or removes (null) options of `[default]`, keeping every other line as it was. */
export function updateSettings(text: string, changes: Record<string, string | null>): string {
  const { lines, info } = iniLines(text);
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const out: string[] = [];
  const pending = new Map(Object.entries(changes));
  // configparser interpolates %
  const option = (key: string, value: string) => `${key} = ${value.replaceAll("%", "%%")}`;
  let lastInDefault = -1;
  lines.forEach((line, i) => {
    const { section, key, first } = info[i];
    if (section === "default" && key !== undefined && changes[key] !== undefined) {
      const value = pending.get(key);
      pending.delete(key);
      if (first && typeof value === "string") out.push(option(key, value));
      if (first) lastInDefault = out.length - 1;
      return; // continuation lines of a changed option go with it
    }
    out.push(line);
    if (section === "default" && line.trim()) lastInDefault = out.length - 1;
  });
  const added = [...pending].filter(([, v]) => v !== null).map(([k, v]) => option(k, v!));
  if (added.length === 0) return out.join(eol);
  if (lastInDefault >= 0) {
    out.splice(lastInDefault + 1, 0, ...added);
    return out.join(eol);
  }
  const body = out.join(eol).replace(/[\r\n]*$/, "");
  return [...(body ? [body, ""] : []), "[default]", ...added, ""].join(eol);
}

function settingsPaths(world: World): { system: string | null; workspace: string } {
  const { env, home, cwd } = world;
  const configDir = env.WANDB_CONFIG_DIR
    ? expandHome(env.WANDB_CONFIG_DIR, home)
    : home !== null && join(home || "/", ".config", "wandb");
  // the SDK reads the workspace file before it applies WANDB_DIR: the one in the current folder
  const workspaceDir = exists(world.fs, join(cwd, ".wandb")) ? ".wandb" : "wandb";
  return {
    system: configDir ? join(configDir, "settings") : null,
    workspace: join(cwd, workspaceDir, "settings"),
  };
}

/** Both settings files as read; a malformed one is warned about and read as empty. */
function readSettings(world: World, log: Log): Settings[] {
  const { system, workspace } = settingsPaths(world);
  const read = (path: string, scope: Settings["scope"]): Settings => {
    const text = readOrWarn(world, path, log);
    const parsed = text ? parseSettings(text) : { values: {} }; // usually there is none
    if (parsed.error) log.warn(`Ignoring the settings file ${path}: ${parsed.error}.`);
    const values = Object.fromEntries(Object.entries(parsed.values).map(([k, v]) => [k, fromBytes(v)]));
    return { path, scope, exists: text !== null, values };
  };
  return system ? [read(system, "system"), read(workspace, "workspace")] : [read(workspace, "workspace")];
}

// --- netrc reading ---
// The contract: read a netrc exactly as Python's `netrc` module does (the W&B SDK reads it so),
// and go on past its errors, so that the writer keeps every byte it does not own. Files are
// latin1 strings (one char per byte), so every byte is kept exactly. Two readers give one answer:
// `parseTokens`, the lexer that reads every file, and `parsePlainFile`, one native regex match
// per entry for files of plain entries (almost all). Property tests prove them equal
// (tests: "the slicing lexer and the plain reference parse agree on every file", "focused and
// plain parses agree with the full parse"), and prove the writer's fast placement equal to
// trying every placement ("the fast placement gives the same bytes as trying every placement").

export interface NetrcEntry {
  kind: "machine" | "default";
  name: string;
  login: string;
  account: string;
  password: string;
  start: number; // offset of the `machine`/`default` token
  end: number; // offset just past the entry's last login/account/password value
}
/** How a file ends: "open" when a quote, escape or macdef body runs into it (what is appended joins
 * it); "dangling" when a keyword waits for its value or a token would continue; else "closed". */
type NetrcEnd = "closed" | "open" | "dangling";
export interface NetrcParse {
  entries: NetrcEntry[];
  visible: number; // how many entries Python's `netrc` sees before it stops or raises
  stopAt: number; // the offset where Python stops reading (the file's length when it reads it all)
  error?: string; // what Python's `netrc` would raise, if anything
  end: NetrcEnd;
}

/** NETRC, else ~/.netrc or ~/_netrc if one exists, else the platform's default. */
function netrcPath(world: World): string {
  const { env, home } = world;
  if (env.NETRC) return expandHome(env.NETRC, home);
  if (home === "") return "/.netrc"; // what the SDK reads; storing a key there is refused
  if (!home)
    throw new LoginError("Cannot find your home folder: set NETRC to the netrc file's path, or set HOME.");
  const candidates = [join(home, ".netrc"), join(home, "_netrc")];
  return candidates.find((p) => exists(world.fs, p)) ?? candidates[world.platform === "win32" ? 1 : 0];
}

/** What Python's `netrc(path).authenticators(machine)` sees: the machine's entry, and `default`. */
export function netrcLookup(text: string, machine: string) {
  const parsed = parseNetrc(text, toBytes(machine));
  if (parsed.error) return { error: parsed.error };
  const visible = parsed.entries.slice(0, parsed.visible);
  // later entries overwrite earlier ones in Python's dict
  return {
    entry: visible.filter(entryFor(machine)).at(-1),
    fallback: visible.findLast((e) => e.kind === "default"),
  };
}

function entryFor(machine: string): (e: NetrcEntry) => boolean {
  const name = toBytes(machine);
  return (e) => e.kind === "machine" && e.name === name;
}

/**
 * Parses netrc text the way Python's `netrc` module does, but goes on past its errors. With a
 * `focus` (a machine name as bytes) it keeps only that machine's entries and `default` ones: a
 * 50 MB file then costs little more memory than its text.
 */
export function parseNetrc(text: string, focus?: string, tally?: Tally): NetrcParse {
  return (focus !== undefined && parsePlainFile(text, focus)) || parseTokens(text, focus, tally);
}

// One whole entry of a plain file: keywords where keywords belong, values without quotes or escapes.
const BLANK = "[ \\t\\r\\n]";
const WORD = "[!#-\\[\\]-~][!-\\[\\]-~]*"; // printable ASCII: so a plain file is ASCII throughout
const PAIRS = `(?:${BLANK}+(?:login|user|account|password)${BLANK}+${WORD})*`;
const PLAIN_ENTRY = new RegExp(
  // its leading blanks, or the blanks that end the file
  `${BLANK}*(?:(?:machine${BLANK}+${WORD}|default)${PAIRS}(?=${BLANK}|$)|$)`,
  "y",
);

/**
 * The fast path of a focused parse, for a file of nothing but plain entries (no comments, macros,
 * quotes or escapes: almost every netrc): one native regex match per entry, and only our machine's
 * and `default` entries are taken apart. Null for any other file, which the lexer then reads.
 */
function parsePlainFile(text: string, focus: string): NetrcParse | null {
  // a comment, quote or escape is found in one scan (50 MB: 8 ms), before the entries' regex walks
  // half a file to fail on it
  if (/[#"\\]/.test(text)) return null;
  const entries: NetrcEntry[] = [];
  const kept = keptEntry(focus);
  for (let at = 0; at < text.length; at = PLAIN_ENTRY.lastIndex) {
    PLAIN_ENTRY.lastIndex = kept.lastIndex = at;
    if (!PLAIN_ENTRY.test(text)) return null;
    if (!kept.test(text)) continue; // another machine's: nothing of it is needed
    const [, blanks, words] = /^([ \t\r\n]*)([\s\S]*)$/.exec(text.slice(at, PLAIN_ENTRY.lastIndex))!;
    if (!words) break; // blanks at the end of the file
    const [kind, ...rest] = words.split(/[ \t\r\n]+/);
    const entry: NetrcEntry = {
      kind: kind as NetrcEntry["kind"],
      name: kind === "default" ? "default" : rest.shift()!,
      login: "",
      account: "",
      password: "",
      start: at + blanks.length,
      end: PLAIN_ENTRY.lastIndex,
    };
    for (let i = 0; i < rest.length; i += 2) entry[FIELDS[rest[i]]] = rest[i + 1];
    entries.push(entry);
  }
  return { entries, visible: entries.length, stopAt: text.length, end: "closed" };
}

/** At an entry's start: it is `default` or the focus machine's, which a focused parse takes apart. */
const keptEntry = (focus: string) =>
  new RegExp(`${BLANK}*(?:default|machine${BLANK}+${regexQuote(focus)})(?=${BLANK}|$)`, "y");

/** `s` matched literally inside a RegExp. */
const regexQuote = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/** Python's parse, token by token: every file, with its errors and where Python stops. */
function parseTokens(text: string, focus?: string, tally?: Tally): NetrcParse {
  if (tally) tally.read = true;
  const lex = new NetrcLexer(text);
  const result: NetrcParse = { entries: [], visible: -1, stopAt: text.length, end: "closed" };
  const stop = (error?: string, at = lex.start) => {
    if (result.visible >= 0) return;
    result.visible = result.entries.length;
    result.stopAt = at;
    result.error = error && `${error} (line ${lex.line})`;
  };
  let pending = false; // the entry before read this token: it is the next top-level one
  let danglingAtEof = false;
  const kept = focus === undefined ? null : keptEntry(focus);
  const count = (start: number, end: number) => tally && countEntry(tally, { start, end, ours: false });
  for (;;) {
    const lineBefore = lex.line;
    if (!pending) lex.next();
    pending = false;
    if (lex.atEnd() && lex.isEmpty()) break;
    if (lex.isEmpty()) {
      stop(); // Python stops at an empty token such as ""
      continue;
    }
    if (lex.first() === "#") {
      if (lex.line === lineBefore && lex.end - lex.start === 1) lex.readLine();
      continue;
    }
    if (lex.is("macdef")) {
      lex.next();
      skipMacro(lex, stop);
      continue;
    }
    const kind = lex.is("machine") ? "machine" : lex.is("default") ? "default" : null;
    if (!kind) {
      stop(`bad toplevel token ${JSON.stringify(lex.value())}`);
      continue;
    }
    if (kept && kind === "machine" && lex.skipPlainEntries(kept, count)) {
      pending = true;
      danglingAtEof = false;
      continue;
    }
    const entry = readEntry(lex, kind, focus, stop);
    if (entry === null) break;
    pending = entry.pending;
    danglingAtEof = entry.danglingAtEof;
    if (entry.kept) result.entries.push(entry.kept);
    if (tally) countEntry(tally, entry);
    if (entry.endsHere) stop();
    if (lex.atEnd() && !pending) break;
  }
  stop(undefined, text.length);
  // a last token that ran into the end past an escaped line end would swallow what follows
  const dangling = danglingAtEof || (lex.ranIntoEof && /[\r\n]$/.test(text));
  result.end = lex.openAtEof ? "open" : dangling ? "dangling" : "closed";
  return result;
}

type Stop = (error?: string) => void;

/** One `machine NAME …` or `default …` entry, kept when it is the focus (or there is none); null
 * when the file ends where the machine's name belongs. */
function readEntry(lex: NetrcLexer, kind: NetrcEntry["kind"], focus: string | undefined, stop: Stop) {
  const start = lex.start;
  if (kind === "machine") lex.next();
  if (kind === "machine" && lex.isEmpty()) {
    stop('missing "machine" name');
    return null;
  }
  const ours = kind === "machine" && focus !== undefined && lex.is(focus);
  const name = kind === "default" ? "default" : focus === undefined || ours ? lex.value() : "";
  const kept: NetrcEntry | undefined =
    focus === undefined || kind === "default" || ours
      ? { kind, name, login: "", account: "", password: "", start, end: lex.end }
      : undefined;
  return { kept, ours, start, ...readFollowers(lex, kept, stop) };
}

/**
 * What a focused parse can still say of every entry, for a placement to be checked against without
 * holding a million of them: how many others there are and a hash of their lengths in order, and the
 * last starts. A placement inserts whole lines before a token read at the top level, so the others'
 * bytes stay the same; what could change is how they are read, and that moves their boundaries.
 */
interface Tally {
  others: number;
  count: number;
  starts: number[];
  read: boolean; // a parse filled it
}
const newTally = (): Tally => ({ others: 0, count: 0, starts: [], read: false });

function countEntry(tally: Tally, e: { start: number; end: number; ours: boolean }): void {
  tally.starts.push(e.start);
  if (tally.starts.length > 20) tally.starts.shift();
  if (e.ours) return;
  tally.others = (Math.imul(tally.others, 31) + e.end - e.start) | 0; // a hash of the lengths, in order
  tally.count++;
}

/** An entry's login/account/password pairs, up to the token that ends it (left in the lexer). */
function readFollowers(lex: NetrcLexer, entry: NetrcEntry | undefined, stop: Stop) {
  let danglingAtEof = false;
  let end = lex.end; // just past the entry's last value
  for (;;) {
    const lineBefore = lex.line;
    lex.next();
    if (lex.first() === "#") {
      if (lex.line === lineBefore) lex.readLine();
      continue;
    }
    const empty = lex.isEmpty();
    if (empty || lex.is("machine") || lex.is("default") || lex.is("macdef")) {
      // a quoted "" where a keyword belongs ends Python's parse, silently
      return { pending: !empty, endsHere: empty && !lex.atEnd(), danglingAtEof, end };
    }
    const field = followerField(lex);
    if (!field) {
      stop(`bad follower token ${JSON.stringify(lex.value())}`);
      continue; // not ours to remove
    }
    lex.next();
    danglingAtEof = lex.isEmpty() && lex.atEnd(); // a keyword without its value: what follows would be it
    end = lex.end;
    if (entry) {
      entry[field] = lex.value();
      entry.end = end;
    }
  }
}

/** The entry field each follower keyword sets ("user" is another name for "login"). */
const FIELDS: Record<string, "login" | "account" | "password"> = {
  login: "login",
  user: "login",
  account: "account",
  password: "password",
};

/** The field the current token sets, compared in place (no slice per token). */
function followerField(lex: NetrcLexer): "login" | "account" | "password" | null {
  for (const word in FIELDS) if (lex.is(word)) return FIELDS[word];
  return null;
}

/** A macdef body runs to its blank line; one that runs into the end of the file stops Python. */
function skipMacro(lex: NetrcLexer, stop: Stop): void {
  for (;;) {
    const body = lex.readLine();
    if (!body) {
      stop("Macro definition missing null line terminator.");
      lex.openAtEof = true;
      return;
    }
    if (body === "\n") return;
  }
}

const BLANKS = /[ \t\r\n]*/y;
const PLAIN_RUN = /[^ \t\r\n\\]*/y; // an unquoted token up to whitespace or an escape
const QUOTED_RUN = /[^"\\\r]*/y; // a quoted token up to its quote, an escape or a \r to translate
const LINE = /[^\r\n]*(\r\n|\r|\n)?/y;
const NEXT_ENTRY = /[ \t\r\n]+(?=(?:machine|default)[ \t\r\n])/y; // the blanks before the next entry

/**
 * Python's `_netrclex` over a byte string. A token is its offsets: its text is sliced only when
 * asked for (`value`), and compared in place (`is`), so a 50 MB file allocates next to nothing
 * per token. Escaped and quoted tokens, rare, are built as they are read.
 */
class NetrcLexer {
  pos = 0;
  line = 1;
  start = 0; // the current token is text[start, end) when `sliced`
  end = 0;
  openAtEof = false; // a quote, escape or macdef body runs into the end of the file
  ranIntoEof = false; // the last plain token ends at the end of the file
  private sliced = true;
  private built = "";
  private readonly hasCR: boolean; // else lines are counted by their \n alone

  constructor(private readonly text: string) {
    this.hasCR = text.includes("\r");
  }

  /** Reads the next token. */
  next(): void {
    const from = this.pos;
    this.skip(BLANKS);
    if (this.pos > from + 1 || this.text[from] !== " ") this.line += lineBreaks(this.text, from, this.pos);
    this.start = this.end = this.pos;
    this.sliced = true;
    if (this.pos < this.text.length) {
      if (this.text[this.pos] === '"') this.quoted();
      else this.plain();
    }
  }

  value(): string {
    return this.sliced ? this.text.slice(this.start, this.end) : this.built;
  }

  is(word: string): boolean {
    if (!this.sliced) return this.built === word;
    return this.end - this.start === word.length && this.text.startsWith(word, this.start);
  }

  isEmpty(): boolean {
    return this.sliced ? this.end === this.start : !this.built;
  }

  first(): string | undefined {
    return this.sliced ? this.text[this.start] : this.built[0];
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /**
   * At a `machine` token: the plain entries of other machines (see parsePlainFile) from here on,
   * each ended by the next `machine` or `default`, are skipped with a regex match each and passed
   * to `skipped`; the lexer is left on the keyword after them, as reading them token by token would
   * leave it. False when there was none to skip (the lexer has not moved).
   */
  skipPlainEntries(kept: RegExp, skipped: (start: number, end: number) => void): boolean {
    if (!this.sliced) return false;
    let at = this.start;
    for (;;) {
      PLAIN_ENTRY.lastIndex = kept.lastIndex = at;
      if (!PLAIN_ENTRY.test(this.text) || kept.test(this.text)) break;
      const end = PLAIN_ENTRY.lastIndex;
      NEXT_ENTRY.lastIndex = end;
      if (!NEXT_ENTRY.test(this.text)) break;
      skipped(at, end);
      at = NEXT_ENTRY.lastIndex;
    }
    if (at === this.start) return false;
    this.line += this.hasCR ? lineBreaks(this.text, this.pos, at) : newlines(this.text, this.pos, at);
    this.pos = at;
    this.next();
    return true;
  }

  /** The rest of the line, its line end as "\n" ("" at the end of the file). */
  readLine(): string {
    LINE.lastIndex = this.pos;
    const [s, eol] = LINE.exec(this.text)!;
    this.pos += s.length;
    if (eol) this.line++;
    return eol ? `${s.slice(0, -eol.length)}\n` : s;
  }

  private skip(re: RegExp): void {
    re.lastIndex = this.pos;
    re.test(this.text);
    this.pos = re.lastIndex;
  }

  private take(re: RegExp): string {
    const from = this.pos;
    this.skip(re);
    return this.text.slice(from, this.pos);
  }

  private readChar(): string {
    if (this.pos >= this.text.length) return "";
    let ch = this.text[this.pos++];
    if (ch === "\r") {
      if (this.text[this.pos] === "\n") this.pos++;
      ch = "\n"; // universal newlines, as Python reads the file
    }
    if (ch === "\n") this.line++;
    return ch;
  }

  private escaped(): string {
    this.pos++; // the backslash
    const ch = this.readChar();
    this.openAtEof ||= !ch;
    return ch;
  }

  private plain(): void {
    this.skip(PLAIN_RUN);
    this.sliced = this.text[this.pos] !== "\\";
    if (!this.sliced) {
      this.built = this.text.slice(this.start, this.pos);
      while (this.text[this.pos] === "\\") this.built += this.escaped() + this.take(PLAIN_RUN);
    }
    this.end = this.pos;
    this.ranIntoEof = this.pos >= this.text.length; // what is appended would continue it
    this.readChar(); // the whitespace that ends it is read too (and counts as a line)
  }

  private quoted(): void {
    this.pos++; // the opening quote
    this.sliced = false;
    this.built = "";
    for (;;) {
      const from = this.pos;
      this.built += this.take(QUOTED_RUN);
      this.line += lineBreaks(this.text, from, this.pos);
      const ch = this.text[this.pos];
      if (ch === undefined) {
        this.openAtEof = true;
        break;
      }
      if (ch === '"') {
        this.pos++;
        break;
      }
      this.built += ch === "\\" ? this.escaped() : this.readChar();
    }
    this.end = this.pos;
  }
}

/** Lines that text[from, to) ends, as universal newlines count them (\r\n is one). */
function lineBreaks(text: string, from = 0, to = text.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

/** The \n in text[from, to), found natively: far faster than lineBreaks over a long stretch. */
function newlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** What Python's UTF-8 decoding of the file raises, if anything: it reads netrc files as UTF-8. A
 * lenient decoding's first U+FFFD that the file does not hold itself marks the first bad byte. */
export function utf8Problem(bytes: string): string | undefined {
  if (Buffer.byteLength(bytes, "utf8") === bytes.length) return undefined; // all ASCII, counted natively
  const text = Buffer.from(bytes, "latin1").toString("utf8");
  for (let i = text.indexOf("\ufffd"); i >= 0; i = text.indexOf("\ufffd", i + 1)) {
    const at = Buffer.byteLength(text.slice(0, i));
    if (bytes.startsWith("\xef\xbf\xbd", at)) continue;
    const byte = bytes.charCodeAt(at).toString(16).padStart(2, "0");
    return `'utf-8' codec can't decode byte 0x${byte} in position ${at} (line ${lineBreaks(bytes, 0, at) + 1})`;
  }
  return undefined;
}

// --- netrc writing ---
// Our entry replaces the old one and goes last, but before `default` (curl and others take the
// first match). Every byte we do not own is kept; every placement is checked by parsing it again.

/**
 * Removes every entry for `machine`, and the lines they stood on; every other byte stays. Also
 * returns the parse of what is left, the others' offsets shifted: no second parse of the file
 * (the placement that follows checks what it relies on by parsing the text it changed).
 */
export function removeNetrcEntry(
  text: string,
  machine: string,
  parsed = parseNetrc(text, toBytes(machine)),
): { text: string; removed: number; rest: NetrcParse } {
  const isOurs = entryFor(machine);
  const spans: [number, number][] = [];
  for (const e of parsed.entries.filter(isOurs)) {
    const after = /[ \t]*(\r?\n|\r)?/y; // the blanks and line end after it go too
    after.lastIndex = e.end;
    spans.push([lineStartBefore(text, e.start), e.end + after.exec(text)![0].length]);
  }
  if (!spans.length) return { text, removed: 0, rest: parsed };
  const pieces = spans.map(([, end], i) => text.slice(end, spans[i + 1]?.[0] ?? text.length));
  const shift = (at: number) => at - spans.reduce((n, [from, to]) => n + (to <= at ? to - from : 0), 0);
  const others = parsed.entries.filter((e) => !isOurs(e));
  const rest: NetrcParse = {
    ...parsed,
    entries: others.map((e) => ({ ...e, start: shift(e.start), end: shift(e.end) })),
    visible: parsed.visible - parsed.entries.slice(0, parsed.visible).filter(isOurs).length,
    stopAt: shift(parsed.stopAt),
  };
  return { text: text.slice(0, spans[0][0]) + pieces.join(""), removed: spans.length, rest };
}

/**
 * Replaces the entry for `machine` with a fresh three-line one. A file Python reads cleanly is
 * parsed once more only where the entry went; any other is placed by trying: where the end of a
 * broken file would swallow the entry (an unclosed quote, a dangling `machine`), it goes before
 * another entry. Every placement is checked: ours reads back, all others are unchanged. Returns the
 * new text, whether it replaced an entry, and what Python's netrc says of the file.
 */
export function updateNetrc(text: string, machine: string, key: string, fastPath = true) {
  const focus = toBytes(machine);
  const tally = newTally(); // filled when the lexer reads the file: a broken file is not read twice
  const plain = parsePlainFile(text, focus);
  const original = plain ?? parseTokens(text, focus, tally);
  const { text: base, removed, rest } = removeNetrcEntry(text, machine, original);
  const placement = placementOf(base, machine, key);
  const clean = fastPath ? placeCleanly(placement, rest) : null;
  const placed =
    clean ?? placeByTrying(placement, !removed && tally.read ? { parsed: original, tally } : undefined);
  // a plain file is ASCII, and our entry valid UTF-8: only another file needs the (linear) check
  const problem = plain ? placed.error : (utf8Problem(placed.text) ?? placed.error);
  return { text: placed.text, replaced: removed > 0, problem };
}

/** Our fresh entry, the file it goes into, and how to tell that it reads back as written. */
type Placement = ReturnType<typeof placementOf>;
function placementOf(base: string, machine: string, key: string) {
  const eol = /\r\n/.test(base) ? "\r\n" : "\n";
  const entry = toBytes(
    [`machine ${netrcToken(machine)}`, "  login user", `  password ${netrcToken(key)}`, ""].join(eol),
  );
  const focus = toBytes(machine);
  const password = toBytes(key);
  const isOurs = entryFor(machine); // its kind and name are ours: fresh compares the other fields
  const fresh = (text: string, entries: NetrcEntry[]) => {
    const ours = entries.filter(isOurs);
    return (
      ours.length === 1 &&
      text.slice(ours[0].start, ours[0].end) === entry.trimEnd() && // nothing after it joined it
      netrcFields(ours[0]) === netrcFields({ ...ours[0], login: "user", account: "", password })
    );
  };
  // what a last line without its line end needs before our entry
  const lineEnd = base && !/[\r\n]$/.test(base) ? eol : "";
  return { base, entry, eol, lineEnd, focus, isOurs, fresh };
}

/** A netrc token, quoted the way the format allows when it has to be. */
function netrcToken(value: string): string {
  return /^[^\s"\\#]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

const netrcFields = (e: NetrcEntry) => [e.kind, e.name, e.login, e.account, e.password].join("\0");

/**
 * The fast path, for a file Python reads to its end with nothing left open: the entry goes before
 * `default` or at the end, and only the text from there on is parsed again, since what comes
 * before it reads the same. Null when the file is not that clean.
 */
function placeCleanly({ base, entry, lineEnd, focus, fresh }: Placement, parsed: NetrcParse) {
  if (parsed.error || parsed.stopAt < base.length || parsed.end !== "closed") return null;
  const at = parsed.entries.findIndex((e) => e.kind === "default");
  const cut = at < 0 ? base.length : lineStartBefore(base, parsed.entries[at].start);
  const sep = cut === base.length ? lineEnd : "";
  const tail = entry + base.slice(cut);
  const after = parseNetrc(tail, focus);
  const rest = parsed.entries.slice(at < 0 ? parsed.entries.length : at);
  const same =
    !after.error &&
    after.visible === rest.length + 1 &&
    after.entries.slice(1).every((e, i) => netrcFields(e) === netrcFields(rest[i])) &&
    fresh(tail, after.entries.slice(0, 1));
  return same ? { text: base.slice(0, cut) + sep + tail, error: undefined } : null;
}

/**
 * Tries each placement in turn and keeps the first that reads back right and changes no other
 * entry. Broken files come here, large ones too: each parse keeps only our machine and `default`
 * and compares the others by their digest (Tally).
 */
function placeByTrying(
  { base, entry, eol, lineEnd, focus, isOurs, fresh }: Placement,
  known?: { parsed: NetrcParse; tally: Tally },
) {
  const before = known?.tally ?? newTally();
  const parsed = known?.parsed ?? parseTokens(base, focus, before);
  const insertAt = (at: number) =>
    base.slice(0, lineStartBefore(base, at)) + entry + base.slice(lineStartBefore(base, at));
  const defaultEntry = parsed.entries.find((e) => e.kind === "default");
  const sep = lineEnd + (parsed.end === "open" ? eol : ""); // a macdef body ends at a blank line
  const candidates = [
    () => (defaultEntry ? insertAt(defaultEntry.start) : base + sep + entry),
    () => insertAt(parsed.stopAt), // before the token where Python stops reading
    ...before.starts.toReversed().map((start) => () => insertAt(start)),
    () => entry + base,
  ];
  for (const candidate of candidates) {
    const text = candidate();
    const tally = newTally();
    const after = parseTokens(text, focus, tally);
    const ours = after.entries.find(isOurs)!;
    const same = tally.count === before.count && tally.others === before.others;
    // Python stops at a bare ""
    const readable = parsed.error || (!after.error && after.entries.indexOf(ours) < after.visible);
    if (fresh(text, after.entries) && same && readable) return { text, error: after.error };
  }
  const why = parsed.error ?? `Python's netrc stops reading at offset ${parsed.stopAt}`;
  throw new LoginError(
    `Cannot add an entry to this netrc file without changing its others (${why}). ` +
      "Fix that line, or set NETRC to another file.",
  );
}

/** Where an insertion or removal at `at` begins: the line's start, when only blanks come before it. */
function lineStartBefore(text: string, at: number): number {
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  return /^[ \t]*$/.test(text.slice(lineStart, at)) ? lineStart : at;
}

// --- files and locks ---
// Paths are resolved as the kernel resolves them: each link relative to the folder that holds it.
// As root, a link another user owns is followed only to that user's own files, root's key never
// goes into a file another user owns in a world-writable folder, and what root creates in another
// user's folder belongs to that user. Nothing but a regular file is ever opened.

const NOT_REGULAR = "not a regular file";

/** node:path.posix's functions, for the ways we call them; tests hold them to node:path's answers. */
function normalizePath(path: string): string {
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else if (!absolute) parts.push("..");
  }
  return absolute ? `/${parts.join("/")}` : parts.join("/") || ".";
}
/** Joined and normalized; a trailing slash is kept, as Node keeps it. */
function joinPaths(...paths: string[]): string {
  const joined = paths.filter(Boolean).join("/");
  const path = normalizePath(joined);
  return joined.endsWith("/") && path !== "/" ? `${path}/` : path;
}
function resolvePaths(from: string, to: string): string {
  return normalizePath(to.startsWith("/") ? to : `${from}/${to}`);
}
/** Up to the slash before the last name (trailing slashes aside); "//" for "//name", as Node has it. */
function dirName(path: string): string {
  const end = path.replace(/(?<=.)\/+$/, "");
  const cut = end.lastIndexOf("/");
  if (cut <= 0) return cut === 0 ? "/" : ".";
  return cut === 1 && end[0] === "/" && end[1] === "/" ? "//" : end.slice(0, cut);
}
function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop()!;
}
/** The four, as the rest of the file calls them on POSIX systems. */
export function posixPaths() {
  return { basename: baseName, dirname: dirName, join: joinPaths, resolve: resolvePaths };
}

const errorText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  const causes: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOTDIR: "a parent is not a directory",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EDQUOT: "disk quota exceeded",
    EIO: "input/output error",
    EISDIR: "it is a directory",
  };
  return err.code ? `${causes[err.code] ?? err.message} (${err.code})` : String(err.message ?? e);
};

/** The variables (and options) that name files or folders. */
const PATH_VARIABLES = [
  "NETRC",
  "HOME",
  "USERPROFILE",
  "HOMEDRIVE",
  "HOMEPATH",
  "WANDB_CONFIG_DIR",
  "WANDB_DIR",
  "WANDB_IDENTITY_TOKEN_FILE",
  "WANDB_CREDENTIALS_FILE",
  "REQUESTS_CA_BUNDLE",
  "RUNNER_TEMP",
  "GITHUB_ENV",
  "XDG_CONFIG_HOME",
  "APPDATA",
];

/** Paths are bytes, but the environment reaches us as text: bytes that are not UTF-8 arrive as
 * U+FFFD, the name of another file. Such a path is refused, never used as that other name. */
function checkPathBytes({ env, cwd }: World, opts: Pick<Options, "tokenFile">): void {
  const given: [string, string | undefined][] = [
    ...PATH_VARIABLES.map((name): [string, string | undefined] => [name, env[name]]),
    ["--token-file", opts.tokenFile],
    ["The current folder", cwd],
  ];
  for (const [name, value] of given) {
    if (!value?.includes("\ufffd")) continue;
    throw new LoginError(
      `${name} is not valid UTF-8 (${escapeControls(value)}): wandb-login would use another file than the one ` +
        "it names. Use a path whose name is UTF-8.",
    );
  }
}

const isAbsolutePath = ({ platform }: World, path: string) =>
  (platform === "win32" ? /^(?:[a-z]:)?[\\/]/i : /^\//).test(path);
const octal = (mode: number) => mode.toString(8).padStart(4, "0");
const expandHome = (p: string, home: string | null) => (home && /^~(\/|$)/.test(p) ? home + p.slice(1) : p);
const isRoot = (world: FileWorld) => world.uid === 0;
/** What reading a file needs of the world. */
type FileWorld = Pick<World, "fs" | "cwd" | "uid">;

/**
 * `path` with every link resolved, dangling ones too (the file a write would create), as the
 * kernel resolves them. As root, another user's link is refused unless that user owns its target.
 */
function resolvePath(world: FileWorld, path: string, hops = { left: 40 }): string {
  const { fs } = world;
  const absolute = resolve(world.cwd, path);
  // no link on the way, the common case: three native calls, none of which throws
  const real = lstatOrNull(fs, absolute, path) ? absolute : dirname(absolute);
  if (exists(fs, real, path) && realOrNull(fs, real, path) === real) return absolute;
  const parts = absolute.split(/[\\/]+/).filter(Boolean);
  let done = absolute.startsWith("/") ? "/" : `${parts.shift()}\\`; // a Windows drive
  for (const name of parts) {
    const next = join(done, name);
    const st = lstatOrNull(fs, next, path);
    if (!st?.isSymbolicLink()) {
      done = next;
      continue;
    }
    if (--hops.left < 0) throw new LoginError(`Cannot resolve ${path}: too many symbolic links.`);
    if (isRoot(world) && st.uid !== 0) checkStickyLink(world, next, st.uid, done);
    const target = resolvePath(world, resolve(done, fs.readlinkSync(next)), hops);
    if (isRoot(world) && st.uid !== 0) checkForeignLink(world, next, st.uid, target);
    done = target;
  }
  return done;
}

/** What `look` finds at `path`, or null when nothing is there: no entry, or a parent that is no
 * folder (the read or write reports that). Any other failure (EIO, EACCES) is an error naming the
 * path, never "missing": a disk that fails must not read as a file that is not there. */
function orNull<T>(path: string, look: () => T | undefined, missing = NOT_THERE): T | null {
  try {
    return look() ?? null;
  } catch (e) {
    if (missing.includes((e as NodeJS.ErrnoException).code ?? "")) return null;
    throw new LoginError(`Cannot read ${path}: ${errorText(e)}.`);
  }
}
const NOT_THERE = ["ENOENT", "ENOTDIR"];
// `shown`: the file an error names, when `path` is a step on the way to it
const lstatOrNull = (fs: Fs, path: string, shown = path) =>
  orNull(shown, () => fs.lstatSync(path, { throwIfNoEntry: false }));
const statOrNull = (fs: Fs, path: string, shown = path) =>
  orNull(shown, () => fs.statSync(path, { throwIfNoEntry: false }));
// a loop of links is left to resolvePath's walk, which names it
const realOrNull = (fs: Fs, path: string, shown = path) =>
  orNull(shown, () => fs.realpathSync.native(path), [...NOT_THERE, "ELOOP"]);
/** Whether something is at `path` (through links); cheaper than existsSync, which throws inside. */
const exists = (fs: Fs, path: string, shown = path) => statOrNull(fs, path, shown) !== null;

/** The kernel's protected_symlinks rule, applied by us (it is often off): in a world-writable sticky
 * folder (/tmp, a shared RUNNER_TEMP) root follows a link only when root or the folder's owner made
 * it, whatever it points to: anyone can plant one there, pointing into a folder of their own. */
function checkStickyLink(world: FileWorld, link: string, owner: number, folder: string): void {
  const st = statOrNull(world.fs, folder);
  if (!st || (st.mode & 0o1002) !== 0o1002 || st.uid === owner) return;
  throw new LoginError(
    `Refusing to follow ${link} as root: that link belongs to uid ${owner}, in the world-writable sticky ` +
      `folder ${folder}, which anyone can plant links in. Remove the link, or use a path of your own.`,
  );
}

/** Root follows a link that user `owner` made only to a file (or, dangling, a folder) `owner` owns. */
function checkForeignLink(world: FileWorld, link: string, owner: number, target: string): void {
  let existing = target;
  while (!exists(world.fs, existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (statOrNull(world.fs, existing)?.uid === owner) return;
  throw new LoginError(
    `Refusing to follow ${link} as root: that link belongs to uid ${owner}, and what it points to ` +
      `(${existing}) does not. Remove the link, or run wandb-login as that user.`,
  );
}

/** True when `path` (through its links) is a regular file or does not exist: devices, FIFOs,
 * sockets and folders are never opened for reading nor replaced. */
function regularOrMissing(world: World, path: string): boolean {
  // no parent folder: the write says why
  return statOrNull(world.fs, resolvePath(world, path))?.isFile() ?? true;
}

/** A regular file's bytes as a latin1 string (at most `limit`), or null when it does not exist.
 * Anything else is refused before it is opened: a FIFO must not hang a run. */
function readText(world: FileWorld, path: string, limit = Number.POSITIVE_INFINITY): string | null {
  const { fs } = world;
  let fd: number | undefined;
  try {
    // lstat follows every link but the last: no entry there, no file (the common case, and cheap)
    if (!fs.lstatSync(resolve(world.cwd, path), { throwIfNoEntry: false })) return null;
    const real = resolvePath(world, path);
    const found = fs.statSync(real, { throwIfNoEntry: false });
    if (!found) return null; // a dangling link
    if (!found.isFile()) throw new LoginError(`Cannot read ${path}: ${NOT_REGULAR}.`);
    const { O_RDONLY, O_NONBLOCK, O_NOCTTY, O_NOFOLLOW } = fs.constants;
    fd = fs.openSync(real, O_RDONLY | O_NONBLOCK | O_NOCTTY | (O_NOFOLLOW ?? 0));
    const st = fs.fstatSync(fd); // what was opened, should it have been swapped since
    if (!st.isFile()) throw new LoginError(`Cannot read ${path}: ${NOT_REGULAR}.`);
    if (st.size > limit) throw new LoginError(`Cannot read ${path}: it is larger than ${limit} bytes.`);
    return fs.readFileSync(fd, "latin1");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e instanceof LoginError ? e : new LoginError(`Cannot read ${path}: ${errorText(e)}.`);
  } finally {
    if (fd !== undefined) cleanUp(() => fs.closeSync(fd!)); // only read: nothing to lose
  }
}

/** A file we only read for what it offers: unreadable is warned about and treated as missing. */
function readOrWarn(world: World, path: string, log: Log): string | null {
  try {
    return readText(world, path);
  } catch (e) {
    log.warn(`${(e as Error).message} Ignoring it.`);
    return null;
  }
}

/** A file we will append to must be a regular file (or not exist yet) in a folder we can write. */
function checkAppendable(world: World, path: string): void {
  const { fs } = world;
  if (!regularOrMissing(world, path)) throw new LoginError(`Cannot write ${path}: ${NOT_REGULAR}.`);
  try {
    fs.accessSync(exists(fs, path) ? path : dirname(path), fs.constants.W_OK);
  } catch (e) {
    throw asWriteError(path, e);
  }
}

/**
 * Appends `line` to the file unless it holds it already (running twice adds nothing), through the
 * same checks as every write: every byte written and fsynced, or the file put back as it was. The
 * undo goes into `rollback` before the append.
 */
function appendLine(world: World, path: string, line: string, rollback?: Rollback): void {
  const { fs } = world;
  const target = resolvePath(world, path);
  const old = readText(world, target);
  if (old?.split(/\r?\n/).includes(line)) return;
  const putBack = () =>
    old === null ? fs.rmSync(target, { force: true }) : fs.truncateSync(target, old.length);
  let fd: number | undefined;
  try {
    fd = fs.openSync(target, "a", 0o600);
    rollback?.add(putBack);
    const text = `${old && !old.endsWith("\n") ? "\n" : ""}${line}\n`;
    writeAll(fs, fd, toBytes(text));
    fs.fsyncSync(fd);
  } catch (e) {
    cleanUp(putBack);
    throw asWriteError(path, e);
  } finally {
    if (fd !== undefined) cleanUp(() => fs.closeSync(fd!)); // fsynced, or failed already
  }
}

/** Creates the missing folders above `file`, private (0700), each owned like the folder it is
 * created in when that is another user's; each one made goes into `rollback` at once. */
function makeFolderFor(world: World, file: string, rollback?: Rollback): void {
  const { fs } = world;
  const missing: string[] = [];
  let at = dirname(resolvePath(world, file));
  while (!exists(fs, at) && dirname(at) !== at) {
    missing.unshift(at);
    at = dirname(at);
  }
  const owner = ownerFor(world, at);
  for (const folder of missing) {
    if (!makeFolder(fs, folder)) continue; // another run made it meanwhile: it is not ours to undo
    rollback?.add(() => fs.rmdirSync(folder));
    if (owner) fs.chownSync(folder, owner.uid, owner.gid);
  }
}

/** Makes one folder (0700); false when a folder is there already. */
function makeFolder(fs: Fs, folder: string): boolean {
  try {
    fs.mkdirSync(folder, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST" && statOrNull(fs, folder)?.isDirectory()) return false;
    throw e;
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** Where a write says what it noticed: the log, or nowhere. */
type Notes = { info: (message: string) => void; warn: (message: string) => void };
const QUIET: Notes = { info: () => {}, warn: () => {} };

/** A clean-up step, which cannot change a run's outcome: a failure is told in `notes` (what it
 * left, the next run clears), or dropped where an earlier error is the one to report. */
function cleanUp<T>(step: () => T, notes = QUIET, what = "clean up"): T | undefined {
  try {
    return step();
  } catch (e) {
    notes.warn(`Could not ${what}: ${errorText(e)}. The next run clears it.`);
  }
}

/** What a run changed, and how to put each back: a step is added before its change is made, and
 * they run newest first when a later change fails (the error that made us undo is the one reported). */
class Rollback {
  private readonly steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.steps.unshift(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0)) {
      try {
        await step(); // a keychain entry is put back asynchronously
      } catch {
        /* the error that made us undo is the one to report */
      }
    }
  }
}

/** Whom a new file in `folder` must belong to: as root, the folder's owner when that is another
 * user (`sudo wandb-login` over /home/app leaves app's files app's); otherwise nobody else. */
function ownerFor(world: World, folder: string): Owner | undefined {
  if (!isRoot(world)) return undefined;
  const st = statOrNull(world.fs, folder);
  return st && st.uid !== 0 ? { uid: st.uid, gid: st.gid } : undefined;
}

/** Root's key must not go into a file another user owns in a world-writable folder: they planted it. */
function checkPlanted(world: World, target: string): void {
  if (!isRoot(world)) return;
  const st = statOrNull(world.fs, target);
  const folder = statOrNull(world.fs, dirname(target));
  if (!st || st.uid === 0 || !folder || !(folder.mode & 0o002)) return;
  throw new LoginError(
    `Refusing to store a key in ${target} as root: it belongs to uid ${st.uid}, in the world-writable ` +
      `folder ${dirname(target)}, so that user could read it. Remove it, or set NETRC to a file of your own.`,
  );
}

/** How one file is written: see writeCarefully. */
interface WriteOptions {
  secret?: boolean; // mode 0600 (a looser one is tightened, with a note), never a file another user planted
  folders?: boolean; // the missing folders above it are made (0700)
  rollback?: Rollback; // where the undo of this write goes, added before it is committed
}

/**
 * The one careful writer: every file this tool changes goes through it. `change` gets the current
 * text (null: no file) and returns the new text, or null to leave the file alone. Its steps:
 *  1. resolve the path (links checked, as root) and check that it is a regular file or missing;
 *  2. take the lock beside it, and finish or clear what dead runs left there (clearLeftovers);
 *  3. read the file and compute its new text;
 *  4. write a temp file in the same folder: every byte, its mode and owner, fsynced (writeTemp);
 *  5. commit, its undo registered just before: a rename over the file, or a mount point rewritten
 *     in place, its old bytes put back if that fails part-way (commitTemp);
 *  6. release the lock. After the commit, clean-up is best-effort and told: it never fails the run.
 * A failure before the commit leaves the file as it was, removes the temp file and the lock, and is
 * a LoginError naming the file and the cause. A run killed anywhere leaves the old file or the new;
 * what it left beside it goes with the next run.
 */
function writeCarefully(
  world: World,
  path: string,
  change: (old: string | null) => string | null,
  notes: Notes,
  { secret = true, folders = false, rollback }: WriteOptions = {},
): boolean {
  const target = resolvePath(world, path);
  // reused below while the file is still missing
  const forNoFile = exists(world.fs, target) ? undefined : change(null);
  if (forNoFile === null) return false; // nothing to remove: no lock
  if (!regularOrMissing(world, target)) throw new LoginError(`Cannot write ${path}: ${NOT_REGULAR}.`);
  if (secret) checkPlanted(world, target);
  const job: WriteJob = { world, path, target, change, forNoFile, notes, secret, rollback };
  try {
    if (forNoFile !== undefined && folders) makeFolderFor(world, target, rollback);
    for (;;) {
      const written = writeUnderLock(job);
      if (written !== undefined) return written;
    }
  } catch (e) {
    throw asWriteError(path, e);
  }
}

interface WriteJob extends Required<Omit<WriteOptions, "folders" | "rollback">> {
  world: World;
  path: string;
  target: string;
  change: (old: string | null) => string | null;
  forNoFile?: string;
  notes: Notes;
  rollback?: Rollback;
}

const asWriteError = (path: string, e: unknown) =>
  e instanceof LoginError ? e : new LoginError(`Cannot write ${path}: ${errorText(e)}.`);

/** Steps 2 to 6: true when written, false when there was nothing to write, undefined when the lock
 * was taken from us as stale meanwhile (the caller starts over). */
function writeUnderLock(job: WriteJob): boolean | undefined {
  const { world, target, notes } = job;
  const lock = acquireLock(world, `${target}.lock`);
  const temp = `${target}.tmp-${world.pid}-${world.now().toString(36)}`;
  let committed = false;
  try {
    clearLeftovers(world, target);
    const old = readText(world, target);
    const next = old === null && job.forNoFile !== undefined ? job.forNoFile : job.change(old);
    if (next === null) return false;
    const before = old === null ? undefined : world.fs.statSync(target);
    const mode = job.secret || !before ? 0o600 : before.mode & 0o777;
    writeTemp(world, temp, next, mode, before ?? ownerFor(world, dirname(target)));
    if (!isLock(world, lock.path, lock)) return undefined;
    job.rollback?.add(() => restoreFile(world, job.path, old, job.secret));
    commitTemp(job, temp, next, old);
    committed = true;
    if (job.secret && before && before.mode & 0o077 && world.platform !== "win32") {
      notes.info(`Tightened the permissions of ${job.path} from ${octal(before.mode & 0o777)} to 0600.`);
    }
    return true;
  } finally {
    if (!committed) cleanUp(() => world.fs.rmSync(temp, { force: true }), notes, `remove ${temp}`);
    releaseLock(world, lock, notes);
  }
}

/** Puts a file back as it was: its old text, or no file. */
function restoreFile(world: World, path: string, old: string | null, secret: boolean): void {
  if (old !== null) writeCarefully(world, path, () => old, QUIET, { secret });
  else world.fs.rmSync(resolvePath(world, path), { force: true });
}

/** Step 4: the new content, complete and on disk, in a 0600 temp file owned like the file it replaces. */
function writeTemp(world: World, temp: string, text: string, mode: number, owner?: Owner): void {
  const { fs } = world;
  const fd = fs.openSync(temp, "wx", 0o600);
  let written = false;
  try {
    writeText(fs, fd, text);
    fs.fchmodSync(fd, mode);
    if (owner && (owner.uid !== world.uid || owner.gid !== world.gid)) {
      try {
        fs.fchownSync(fd, owner.uid, owner.gid); // root over a user's home: the user keeps the file
      } catch (e) {
        // not root: the file becomes ours, as any rewrite by us would
        if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
      }
    }
    fs.fsyncSync(fd);
    written = true;
  } finally {
    if (written) fs.closeSync(fd);
    else cleanUp(() => fs.closeSync(fd)); // the error that stopped us is the one to report
  }
}

/** A byte string's bytes, all of them. Bun writes a large latin1 string at half a Buffer's speed
 * (50 MB: 104 ms against 55), so a large one goes through one reused 1 MiB Buffer (no second copy
 * of the file); a small one is written as it is (a Buffer's first use costs ≈0.2 ms). */
function writeText(fs: Fs, fd: number, text: string): void {
  const size = 1 << 20;
  if (text.length <= size) {
    writeAll(fs, fd, text);
    return;
  }
  const chunk = Buffer.allocUnsafe(size);
  for (let at = 0; at < text.length; at += size) {
    writeAll(fs, fd, chunk.subarray(0, chunk.write(text.slice(at, at + size), "latin1")));
  }
}

/** Writes all of `data` (a byte string, or bytes) at the file's offset, or from `position` on: a
 * short write is continued, and one that writes nothing is a full disk. */
function writeAll(fs: Fs, fd: number, data: string | Uint8Array, position?: number): void {
  for (let at = 0; at < data.length; ) {
    const where = position === undefined ? null : position + at;
    const written =
      typeof data === "string"
        ? fs.writeSync(fd, at ? data.slice(at) : data, where, "latin1")
        : fs.writeSync(fd, data, at, data.length - at, where);
    if (!(written > 0)) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    at += written;
  }
}

/**
 * Step 5: the temp file replaces the target. A bind-mounted target (EBUSY, EXDEV) is rewritten in
 * place instead, from a copy of the complete new content named `.pending-<pid>-<length>-<checksum>`:
 * a run that dies mid-rewrite leaves it, and the next run finishes the rewrite from it when it is
 * whole (clearLeftovers). A rewrite that fails puts the old bytes back, and the copy goes with it.
 */
function commitTemp({ world, target, notes }: WriteJob, temp: string, next: string, old: string | null) {
  const { fs } = world;
  try {
    fs.renameSync(temp, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EBUSY" && code !== "EXDEV") throw e;
  }
  const bytes = Buffer.from(next, "latin1");
  const pending = pendingCopy(target, world.pid, bytes);
  fs.renameSync(temp, pending);
  try {
    rewriteInPlace(fs, target, bytes, old === null ? null : Buffer.from(old, "latin1"));
  } catch (e) {
    if (!(e instanceof TornFile)) cleanUp(() => fs.rmSync(pending, { force: true }));
    throw e instanceof TornFile
      ? new LoginError(`${e.message} ${pending} holds the complete new content.`)
      : e;
  }
  cleanUp(() => fs.rmSync(pending, { force: true }), notes, `remove ${pending}`);
  notes.info(`${target} is a mount point: rewrote it in place (the complete new content was saved first).`);
}

/** An in-place rewrite that failed, and whose old bytes could not be put back either. */
class TornFile extends LoginError {}

const checksum = (bytes: Uint8Array) => Bun.hash(bytes).toString(36);
/** The name of an in-place rewrite's copy of `bytes`: whose it is, and how to tell that it is whole. */
export const pendingCopy = (target: string, pid: number, bytes: Uint8Array) =>
  `${target}.pending-${pid}-${bytes.length}-${checksum(bytes)}`;

/** Writes `bytes` over the file's content; when that fails part-way, `old` goes back (truncating to
 * the old length always fits). Closing after the fsync cannot lose what is on disk. */
function rewriteInPlace(fs: Fs, target: string, bytes: Uint8Array, old: Uint8Array | null): void {
  const fd = fs.openSync(target, "r+");
  const overwrite = (content: Uint8Array) => {
    writeAll(fs, fd, content, 0);
    fs.ftruncateSync(fd, content.length);
    fs.fsyncSync(fd);
  };
  try {
    overwrite(bytes);
  } catch (e) {
    try {
      if (old) overwrite(old);
    } catch (again) {
      throw new TornFile(
        `Cannot write ${target}: ${errorText(e)}; putting its old bytes back failed too (${errorText(again)}).`,
      );
    }
    throw e;
  } finally {
    cleanUp(() => fs.closeSync(fd));
  }
}

/** A lock file is known by its inode and what is written in it: `<pid> <pid namespace>`. Ours is
 * held open while we work (`fd`): its inode cannot go to another file, so the inode alone says it. */
interface LockId {
  path: string;
  ino: number;
  owner: string;
  fd?: number;
}

/** What a lock holds ("" when empty or unreadable); a lock that is no regular file is refused. */
function lockOwner(world: World, path: string): string {
  const st = lstatOrNull(world.fs, path);
  if (st && !st.isFile())
    throw new LoginError(`Cannot take the lock ${path}: it is ${NOT_REGULAR}. Remove it, then try again.`);
  try {
    return readText(world, path, 256) ?? "";
  } catch {
    return "";
  }
}

function isLock(world: World, path: string, id: LockId): boolean {
  const st = world.fs.statSync(path, { throwIfNoEntry: false });
  return st?.ino === id.ino && (id.fd !== undefined || lockOwner(world, path) === id.owner);
}

/** Step 2: takes the lock file; breaks it when its owner is gone or it is older than LOCK_STALE_MS. */
function acquireLock(world: World, lock: string): LockId {
  const { fs } = world;
  const started = world.now();
  const owner = `${world.pid} ${world.pidNamespace}`.trim();
  for (;;) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(lock, "wx", 0o600);
      writeAll(fs, fd, owner);
      return { path: lock, ino: fs.fstatSync(fd).ino, owner, fd };
    } catch (e) {
      if (fd !== undefined) {
        cleanUp(() => fs.closeSync(fd!));
        cleanUp(() => fs.rmSync(lock, { force: true })); // a full disk must not leave an empty lock
      }
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (breakStaleLock(world, lock)) continue;
    if (world.now() - started > LOCK_GIVE_UP_MS)
      throw new LoginError(`Timed out waiting for the lock ${lock}; remove it if no wandb-login is running.`);
    world.sleep(5 + Math.random() * 10);
  }
}

/** Step 6: our lock goes, when it is still ours. This cannot fail the run: a lock left behind
 * names our pid, and the next run sees that we are gone. */
function releaseLock(world: World, lock: LockId, notes: Notes): void {
  const ours = cleanUp(() => isLock(world, lock.path, lock), notes, `check the lock ${lock.path}`);
  cleanUp(() => world.fs.closeSync(lock.fd!));
  if (ours) cleanUp(() => world.fs.unlinkSync(lock.path), notes, `remove the lock ${lock.path}`);
}

/**
 * A lock is stale when its run is gone or it is old. One without a pid is stale after 2 s; one
 * naming our own pid at once (pid 1 again, in a restarted container); one from another pid
 * namespace (containers sharing a volume) only by its age, as its pid means nothing here.
 */
function isStale(world: World, owner: string, ageMs: number): boolean {
  const [pid, namespace = ""] = owner.split(" ");
  if (!/^\d+$/.test(pid)) return ageMs > LOCK_EMPTY_STALE_MS;
  if (namespace && namespace !== world.pidNamespace) return ageMs > LOCK_STALE_MS;
  return ageMs > LOCK_STALE_MS || isGone(world, Number(pid));
}

/** A run named by its pid is gone; our own pid in a leftover names an earlier run (a new container). */
const isGone = (world: World, pid: number) => pid === world.pid || !world.isRunning(pid);

/**
 * Removes a dead run's lock (what else it left goes with clearLeftovers). The lock is moved aside
 * first and checked: when a live run took the lock since we looked, it is put back.
 */
function breakStaleLock(world: World, lock: string): boolean {
  const { fs } = world;
  let id: LockId;
  try {
    const st = fs.statSync(lock);
    id = { path: lock, ino: st.ino, owner: lockOwner(world, lock) };
    if (!isStale(world, id.owner, world.now() - st.mtimeMs)) return false;
    const aside = `${lock}.stale-${world.pid}`;
    fs.renameSync(lock, aside);
    if (!isLock(world, aside, id)) {
      try {
        fs.linkSync(aside, lock);
      } finally {
        fs.rmSync(aside, { force: true });
      }
      return false;
    }
    fs.rmSync(aside, { force: true });
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (e instanceof LoginError || !["ENOENT", "EEXIST"].includes(code)) throw e;
    return false; // gone already, or put back: try to take it again
  }
}

/**
 * What dead runs left beside the file, cleared by the lock's holder before it reads: temp files,
 * locks set aside mid-break, and the copy of an in-place rewrite, which is written in place when it
 * is whole (its length and checksum are in its name; an older copy without them is only removed).
 * The run that left them may have died without its lock (killed while breaking a stale one), so
 * one look at the folder on every write, not only when a stale lock is broken.
 */
function clearLeftovers(world: World, target: string): void {
  const { fs } = world;
  const folder = dirname(target);
  const left = new RegExp(
    `^${regexQuote(basename(target))}\\.(?:tmp-(\\d+)-.*|lock\\.stale-(\\d+)|pending-(\\d+)(?:-(\\d+)-(\\w+))?)$`,
  );
  for (const f of orNull(folder, () => fs.readdirSync(folder)) ?? []) {
    const [, temp, aside, pending, length, sum] = left.exec(f) ?? [];
    const pid = Number(temp ?? aside ?? pending);
    if (!pid || !isGone(world, pid)) continue;
    const copy = sum ? Buffer.from(readText(world, join(folder, f)) ?? "", "latin1") : undefined;
    if (copy?.length === Number(length) && checksum(copy) === sum) rewriteInPlace(fs, target, copy, null);
    fs.rmSync(join(folder, f), { force: true });
  }
}

// --- world and terminal ---

export type Fs = typeof import("node:fs");

/** Everything the program takes from the world (env, home, cwd, files, streams, fetch, clock, pid). */
export interface World {
  env: Env;
  cwd: string;
  home: string | null;
  platform: NodeJS.Platform;
  pid: number;
  uid?: number;
  gid?: number;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  fs: Fs;
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => void;
  isRunning: (pid: number) => boolean;
  pidNamespace: string; // this process's pid namespace ("" where there are none): locks record it
  sagemakerConfig: string; // SageMaker's hyperparameters file
  /** Reads from standard input into `buffer` as `readSync(0, …)` does: 0 at its end. */
  readStdin: (buffer: Buffer) => number;
  /** Puts the terminal on standard input into raw mode (no echo, one byte at a time), and back. */
  rawMode: (on: boolean) => void;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  keychain: Keychain; // the OS credential store
  /** Runs `exec`'s command with this environment; its exit status. */
  spawn: (argv: string[], env: Env) => Promise<number>;
}

/** The OS credential store, under service `wandb-login`: a missing entry reads as null. */
export interface Keychain {
  get: (name: string) => Promise<string | null>;
  set: (name: string, value: string) => Promise<void>;
  delete: (name: string) => Promise<boolean>;
}

/** This process's world. */
export function realWorld(): World {
  const fs = require("node:fs") as Fs;
  const env = process.env;
  let terminal: import("node:tty").ReadStream | undefined;
  let namespace: string | undefined;
  return {
    env,
    cwd: process.cwd(),
    home: homeFolder(env, process.platform),
    platform: process.platform,
    pid: process.pid,
    uid: process.geteuid?.(),
    gid: process.getgid?.(),
    stdinIsTTY: isTerminal(fs, 0),
    stderrIsTTY: isTerminal(fs, 2),
    fs,
    fetch,
    now: Date.now,
    sleep: Bun.sleepSync,
    isRunning,
    get pidNamespace() {
      namespace ??= pidNamespace(fs); // only locks need it
      return namespace;
    },
    sagemakerConfig: "/opt/ml/input/config/hyperparameters.json",
    readStdin: (buffer) => fs.readSync(0, buffer, 0, buffer.length, null),
    rawMode: (on) => {
      // Windows consoles (wine's among them) turn Ctrl-C into a CTRL_C_EVENT even in raw mode, and
      // Bun crashes on it unless a listener takes it: with one, the prompt reads on (Ctrl-Z ends it)
      if (process.platform === "win32") process[on ? "on" : "off"]("SIGINT", ignoreSignal);
      if (on) {
        terminal = new (tty().ReadStream)(0);
        terminal.setRawMode(true);
      } else {
        terminal?.setRawMode(false);
        terminal?.destroy();
      }
    },
    stdout: (text) => writeFully(fs, 1, text),
    stderr: (text) => writeFully(fs, 2, text),
    keychain: osKeychain(),
    spawn: runChild,
  };
}

/**
 * Bun.secrets (macOS Keychain, Windows Credential Manager, the Secret Service), every call under
 * KEYCHAIN_TIMEOUT_MS: a locked keyring may wait for ever on an unlock prompt, a silent Secret
 * Service holds a call for 50 s. The process exits when main returns, so a call given up on cannot
 * keep it alive. Nothing is loaded until the first call.
 */
function osKeychain(): Keychain {
  const timed = <T>(call: () => Promise<T>): Promise<T> => {
    let timer: Timer | undefined;
    const late = new Promise<never>((_, reject) => {
      const why = `it did not answer within ${KEYCHAIN_TIMEOUT_MS / 1000} s`;
      timer = setTimeout(() => reject(new Error(why)), KEYCHAIN_TIMEOUT_MS);
    });
    return Promise.race([call(), late]).finally(() => clearTimeout(timer));
  };
  const entry = (name: string) => ({ service: KEYCHAIN_SERVICE, name });
  return {
    get: (name) => timed(() => Bun.secrets.get(entry(name))),
    set: (name, value) => timed(() => Bun.secrets.set({ ...entry(name), value })),
    delete: (name) => timed(() => Bun.secrets.delete(entry(name))),
  };
}

/** The signals a wrapper passes on to the command it runs. */
const PASSED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/** Runs `exec`'s command, its standard streams its own and the four signals passed on; its exit
 * status as a shell gives it (128+N for signal N), 127 when it is not found, 126 when it cannot run. */
async function runChild(argv: string[], env: Env): Promise<number> {
  let child: ReturnType<typeof Bun.spawn> | undefined;
  // listening before the child starts: a signal that comes at once must not kill us and orphan it
  const passOn = PASSED_SIGNALS.map((signal) => [signal, () => child?.kill(signal)] as const);
  for (const [signal, pass] of passOn) process.on(signal, pass);
  try {
    const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
    child = Bun.spawn(argv, {
      env: defined as Record<string, string>,
      stdio: ["inherit", "inherit", "inherit"],
    });
    return await child.exited;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    const why = missing ? "command not found" : errorText(e);
    throw new LoginError(`Cannot run ${argv[0]}: ${why}.`, missing ? 127 : 126);
  } finally {
    for (const [signal, pass] of passOn) process.off(signal, pass);
  }
}

/** Linux's pid namespace id, as /proc names it: a lock from another namespace names another pid. */
function pidNamespace(fs: Fs): string {
  try {
    return fs.readlinkSync("/proc/self/ns/pid").replace(/\s/g, "");
  } catch {
    return "";
  }
}

/** The home folder as Python's expanduser (and so the W&B SDK) finds it: USERPROFILE (else
 * HOMEDRIVE+HOMEPATH) on Windows; HOME elsewhere ("" stays "": the SDK then looks under `/`),
 * else the passwd entry's. */
function homeFolder(env: Env, platform: NodeJS.Platform): string | null {
  if (platform === "win32") return env.USERPROFILE || (env.HOMEDRIVE ?? "") + (env.HOMEPATH ?? "") || null;
  return env.HOME === "" ? "" : env.HOME || passwdHome();
}

const ignoreSignal = () => {};

/** The passwd entry's home, when HOME is unset; none without an entry (docker -u). */
function passwdHome(): string | null {
  try {
    return (require("node:os") as typeof import("node:os")).userInfo().homedir || null;
  } catch {
    return null;
  }
}

/** node:tty costs milliseconds to load (process.stdin starts a stream): ask only about likely terminals. */
const tty = (): typeof import("node:tty") => require("node:tty");
let devNull: number | undefined; // there is no /dev/null on Windows: -1 matches nothing
function isTerminal(fs: Fs, fd: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    devNull ??= fs.statSync("/dev/null", { throwIfNoEntry: false })?.rdev ?? -1;
    return st.isCharacterDevice() && st.rdev !== devNull && tty().isatty(fd);
  } catch {
    return false; // a closed descriptor
  }
}

function isRunning(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Writes all of `text` to `fd` directly: streams cost start-up time, and Bun's console.error paints
 * TTY output red. A closed pipe (`| head`) is no error: its reader has what it wanted. Any other
 * failure (a full disk, `> /dev/full`) throws, for stdout: the output is lost, so the run failed. */
function writeFully(fs: Fs, fd: number, text: string): void {
  const bytes = new TextEncoder().encode(text); // a Buffer's first use costs ≈0.2 ms more
  for (let at = 0; at < bytes.length; ) {
    try {
      at += fs.writeSync(fd, bytes, at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || (fd === 2 && code !== "EAGAIN")) return; // a broken stderr leaves nobody to tell
      if (code !== "EAGAIN") throw new LoginError(`Cannot write to standard output: ${errorText(e)}.`);
      Bun.sleepSync(1); // a non-blocking pipe that is full: wait for its reader
    }
  }
}

/**
 * Reads one line from standard input. On a terminal the input is hidden (raw mode, no echo);
 * backspace and Ctrl-U edit, Ctrl-C restores the terminal and exits 130, Ctrl-D cancels. From a
 * pipe it reads up to the first non-blank line, at most 64 KiB; the caller asked for stdin, so
 * waiting is wanted.
 */
function readSecretLine(world: World, isTTY: boolean, prompt?: () => void): string {
  const buf = Buffer.alloc(256);
  if (isTTY) world.rawMode(true);
  prompt?.(); // only now: keys typed at once after it must not be echoed
  let line = "";
  let total = 0;
  try {
    for (;;) {
      const n = readChunk(world, buf);
      if (n === 0) return line;
      total += n;
      const chunk = buf.toString("utf8", 0, n).replace(/\x1b\[20[01]~/g, ""); // bracketed paste markers
      for (const ch of chunk) {
        if (ch === "\x03" && isTTY) throw new LoginError("Interrupted.", 130);
        if ((ch === "\x04" || ch === "\x1a") && isTTY) throw new LoginError("No key entered.");
        if (ch === "\r" || ch === "\n") {
          if (isTTY || line.trim()) return line;
          continue;
        }
        if (ch === "\x7f" || ch === "\b") line = [...line].slice(0, -1).join("");
        else if (ch === "\x15") line = "";
        else if (ch >= " ") line += ch;
      }
      if (total > MAX_STDIN_BYTES) {
        throw new LoginError("No key line found in the first 64 KiB of standard input.");
      }
    }
  } finally {
    if (isTTY) {
      world.rawMode(false);
      world.stderr("\n");
    }
  }
}

/** One read of standard input: 0 at its end (Windows says EOF), waiting out a non-blocking one. */
function readChunk(world: World, buf: Buffer): number {
  for (;;) {
    try {
      return world.readStdin(buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EOF") return 0;
      if (code !== "EAGAIN") throw e;
      world.sleep(10);
    }
  }
}

// --- network: verification ---

/** The proxy that a request to `url` goes through, as Bun's fetch picks it from the environment. */
export function proxyFor(url: string, env: Env): string | undefined {
  const host = new URL(url).hostname.toLowerCase();
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? "").toLowerCase().split(",");
  const bypassed = noProxy.some((entry) => {
    const p = entry.trim().replace(/^\*?\./, "");
    const name = p.split(":")[0]; // a port in NO_PROXY is ignored
    return p === "*" || (p !== "" && (host === name || host.endsWith(`.${name}`)));
  });
  if (bypassed) return undefined;
  const https = url.startsWith("https:");
  const proxy = https ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  return proxy || undefined;
}

/** A 407 is the proxy's answer, not the W&B server's. */
const proxyWantsCredentials = (proxy: string) =>
  `The proxy ${withoutUserInfo(proxy)} refused the request: it wants credentials (HTTP 407). ` +
  "Check the user and password in HTTPS_PROXY or HTTP_PROXY.";

/** A URL (a proxy's, the Actions token endpoint's) without its user info: everything up to the last
 * `@` (passwords may hold `@`). */
const withoutUserInfo = (url: string) => url.replace(/\/\/.*@/, "//");

/** One line naming the host and the cause, for each way a request can fail. */
export function describeFetchError(err: unknown, host: string, env: Env, timeoutSeconds: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  const proxy = proxyFor(host, env);
  const via = proxy ? ` via proxy ${withoutUserInfo(proxy)}` : "";
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    const hint = "set WANDB_HTTP_TIMEOUT to wait longer";
    const seconds = `${timeoutSeconds} second${timeoutSeconds === 1 ? "" : "s"}`;
    return `${host} did not answer within ${seconds}${via} (${hint}).`;
  }
  const code = e.code ?? "";
  if (code === "ECONNREFUSED")
    return `Could not connect to ${host}${via}: connection refused. Is the server running?`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /DNS/i.test(code)) {
    const name = new URL(host).hostname;
    return `Could not connect to ${host}${via}: DNS lookup of ${name} failed. Check the host name.`;
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/i.test(code)) {
    const privateCa =
      "If the server uses a private CA, set SSL_CERT_FILE, NODE_EXTRA_CA_CERTS or REQUESTS_CA_BUNDLE " +
      "to its certificate file.";
    return `Could not connect to ${host}${via}: TLS certificate not trusted (${code}). ${privateCa}`;
  }
  if (code === "ERR_PROXY_TUNNEL" && /\b407\b/.test(e.message ?? "")) return proxyWantsCredentials(proxy!);
  if (code === "ERR_PROXY_TUNNEL")
    return `Could not connect to ${host}${via}: the proxy refused to open a tunnel (${code}).`;
  return `Could not connect to ${host}${via}: ${code || e.message || String(err)}.`;
}

/** WANDB_HTTP_TIMEOUT in seconds, and a warning when it is not a positive number up to 3600. */
export function httpTimeout(env: Env): { seconds: number; warning?: string } {
  const raw = env.WANDB_HTTP_TIMEOUT;
  if (raw === undefined || raw === "") return { seconds: DEFAULT_TIMEOUT_S };
  const seconds = Number(raw);
  if (seconds > 0 && seconds <= 3600) return { seconds };
  const range = "a number of seconds above 0 and up to 3600";
  const warning = `WANDB_HTTP_TIMEOUT=${raw} is not ${range}; using ${DEFAULT_TIMEOUT_S}.`;
  return { seconds: DEFAULT_TIMEOUT_S, warning };
}

/** The identity in a Viewer answer; anything but an object with a string username or entity is no W&B. */
export function parseViewer(body: string, host: string, type = "no content type"): Viewer | null {
  const notWandb = new LoginError(`${host} did not answer like a W&B server (no viewer in its answer).`);
  let viewer: unknown;
  try {
    viewer = JSON.parse(body)?.data?.viewer;
  } catch {
    throw new LoginError(
      `${host} did not answer with JSON (got ${type}). Is a proxy or captive portal in the way?`,
    );
  }
  if (viewer === null) return null;
  if (typeof viewer !== "object" || viewer === undefined || Array.isArray(viewer)) throw notWandb;
  const { username, entity, teams } = viewer as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  if (!text(username) && !text(entity)) throw notWandb;
  const edges = (teams as { edges?: unknown } | null)?.edges;
  const names = (Array.isArray(edges) ? edges : []).map((e) => text(e?.node?.name));
  const name = text(entity) ?? (username as string);
  return { username: text(username) ?? name, entity: name, teams: names.filter((n): n is string => !!n) };
}

/** The response body as text, or null past `limit` bytes (after decompression: a gzip bomb stops too). */
async function readLimited(response: Response, limit: number): Promise<string | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > limit) return null; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Asks the W&B GraphQL API who the key belongs to; a LoginError says why not. */
export function verifyKey(host: string, key: string, world: NetWorld): Promise<Viewer> {
  const createKey = `Create a new key at ${appUrl(host, world.env)}/authorize?ref=models`;
  const refused = () => new InvalidKeyError(`Invalid API key for ${host}. ${createKey}`);
  return askViewer(host, basicAuth(key), world, refused);
}

type NetWorld = Pick<World, "env" | "fetch" | "fs" | "now" | "cwd" | "uid">;

/** The viewer query with these credentials; `refused` is the error for a 401/403 or a null viewer. */
async function askViewer(host: string, authorization: string, world: NetWorld, refused: () => LoginError) {
  const body = JSON.stringify({ query: VIEWER_QUERY });
  const headers = { "Content-Type": "application/json", Authorization: authorization };
  const answer = await send(`${host}/graphql`, host, { method: "POST", headers, body }, world, refused);
  const viewer = parseViewer(answer.body, host, answer.type);
  if (!viewer) throw refused();
  return viewer;
}

/**
 * Exchanges an identity token for an access token as wandb-core does: `POST <host>/oidc/token`,
 * form-encoded, a JWT bearer grant. A refusal names the server's `error_description`.
 */
export async function exchangeIdentityToken(host: string, jwt: string, file: string, world: NetWorld) {
  const body = `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=${encodeURIComponent(jwt)}`;
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  const refused = (why = "no reason given") =>
    new InvalidKeyError(`The identity token in ${file} was refused by ${host}: ${why}`);
  const answer = await send(`${host}/oidc/token`, host, { method: "POST", headers, body }, world, refused);
  const token = jsonField(answer.body, "access_token");
  if (!token) throw new LoginError(`${host} answered the token exchange without an access_token.`);
  return token;
}

/** The job's OIDC token from GitHub Actions, for `audience`. */
export async function requestActionsToken(url: string, bearer: string, audience: string, world: NetWorld) {
  const where = `${url}${url.includes("?") ? "&" : "?"}audience=${encodeURIComponent(audience)}`;
  const origin = withoutUserInfo(/^[a-z]+:\/\/[^/?#]*/i.exec(url)?.[0] ?? url);
  const refused = (why?: string) =>
    new LoginError(
      `GitHub Actions refused the OIDC token request${why ? ` (${why})` : ""}. ` +
        "Does the job have `permissions: id-token: write`?",
    );
  const headers = { Authorization: `Bearer ${bearer}`, Accept: "application/json" };
  const answer = await send(where, origin, { method: "GET", headers }, world, refused);
  const jwt = jsonField(answer.body, "value");
  if (!jwt) throw new LoginError(`${origin} answered without an OIDC token (a JWT).`);
  return jwt;
}

/** A string field of a JSON object, or undefined. */
function jsonField(body: string, name: string): string | undefined {
  try {
    const value = JSON.parse(body)?.[name];
    return typeof value === "string" && value ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One request: the timeout covers all of it, redirects are not followed (what is shown must come
 * from the server that saw the secret), the body is capped, and every failure is one line naming
 * `host`. `refused` makes the error for a 401/403, given the server's error_description if any.
 */
async function send(
  url: string,
  host: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  world: NetWorld,
  refused: (why?: string) => LoginError,
): Promise<{ body: string; type?: string }> {
  const { env, fetch, now } = world;
  const { seconds } = httpTimeout(env);
  const ca = caBundle(url, world);
  let response: Response;
  let body: string | null;
  try {
    response = await fetch(url, {
      ...init,
      headers: { ...init.headers, "User-Agent": `wandb-login/${VERSION}` },
      signal: AbortSignal.timeout(seconds * 1000),
      redirect: "manual",
      verbose: false, // BUN_CONFIG_VERBOSE_FETCH would print the Authorization header
      ...(ca ? { tls: { ca } } : {}),
    } as RequestInit);
    body = await readLimited(response, MAX_RESPONSE_BYTES);
  } catch (err) {
    throw new LoginError(describeFetchError(err, host, env, seconds));
  }
  const { status } = response;
  // a token endpoint refuses a grant with 400 (RFC 6749); elsewhere 400 is no refusal of the secret
  if (status === 401 || status === 403 || (status === 400 && url.endsWith("/oidc/token")))
    throw refused(jsonField(body ?? "", "error_description") ?? jsonField(body ?? "", "error"));
  const proxy = proxyFor(url, env);
  if (status === 407 && proxy) throw new LoginError(proxyWantsCredentials(proxy));
  if (status === 429) throw new LoginError(rateLimited(host, response.headers.get("retry-after"), now()));
  checkStatus(response, host);
  if (body === null) throw new LoginError(`${host} answered with more than 1 MiB; a W&B server does not.`);
  return { body, type: response.headers.get("content-type") ?? undefined };
}

/** Python users' CA bundle, for TLS only: a file, or a folder of certificates as requests takes
 * (c_rehash'd links included). Bun reads SSL_CERT_FILE and NODE_EXTRA_CA_CERTS itself. */
function caBundle(url: string, world: NetWorld): string | undefined {
  const caFile = /^https:/i.test(url) ? world.env.REQUESTS_CA_BUNDLE : undefined;
  if (!caFile) return undefined;
  const files = statOrNull(world.fs, caFile)?.isDirectory()
    ? world.fs.readdirSync(caFile).map((name) => join(caFile, name))
    : [caFile];
  const certificates = files.filter((f) => files.length === 1 || statOrNull(world.fs, f)?.isFile());
  try {
    const texts = certificates.map((f) => readText(world, f, MAX_RESPONSE_BYTES));
    if (texts.includes(null)) throw new LoginError("no such file or directory");
    return [...new Set(texts)].join("\n");
  } catch (e) {
    const why = (e as Error).message.replace(/^Cannot read .*?: /, "").replace(/\.$/, "");
    throw new LoginError(`Cannot read REQUESTS_CA_BUNDLE ${caFile}: ${why}.`);
  }
}

/** 429: the server asks us to slow down, and Retry-After (seconds, or an HTTP date) says until when. */
function rateLimited(host: string, retryAfter: string | null, now: number): string {
  const at =
    retryAfter === null
      ? Number.NaN
      : /^\d+$/.test(retryAfter)
        ? now + Number(retryAfter) * 1000
        : Date.parse(retryAfter);
  const wait = Number.isNaN(at) ? "later" : `in ${Math.max(0, Math.ceil((at - now) / 1000))} seconds`;
  return `${host} is rate-limiting requests (HTTP 429 Too Many Requests). Try again ${wait}.`;
}

/** Every status but 200-299 is an error: 3xx a redirect we do not follow. */
function checkStatus(response: Response, host: string): void {
  const { status, statusText } = response;
  if (status >= 300 && status < 400) {
    const location = response.headers.get("location") ?? "";
    let target = location;
    try {
      target = new URL(location, `${host}/graphql`).href.replace(/\/graphql$/, "");
    } catch {}
    throw new LoginError(
      `${host} redirected to ${location || "nowhere"}. ` +
        `Log in with --host ${target || "<that address>"} if it is the W&B server.`,
    );
  }
  if (status < 200 || status >= 300) {
    const next = status >= 500 ? "Try again later." : "Is this the address of a W&B server?";
    throw new LoginError(`${`${host} answered HTTP ${status} ${statusText}`.trim()}. ${next}`);
  }
}

// --- main ---

/** Runs `argv` in `world`; every key this run has seen goes into `secrets`, so nothing printed shows one. */
export async function main(argv: string[], world: World, secrets = new Set<string>()): Promise<number> {
  for (const key of keyShaped([...argv, world.env.WANDB_BASE_URL, world.env.WANDB_API_KEY])) secrets.add(key);
  let json = argv.includes("--json"); // until the arguments parse, for usage errors
  const color = world.stderrIsTTY && !world.env.NO_COLOR && world.env.TERM !== "dumb";
  const log = createLog(color, secrets, world.stderr);
  const mask = (s: string) => maskAll(s, secrets);
  const fail = (e: unknown, report?: object) => {
    const code = e instanceof UsageError ? 2 : e instanceof LoginError ? e.code : 1;
    const message = mask(e instanceof Error ? e.message : String(e));
    log.error(e instanceof UsageError ? `${message} See \`${e.help}\`.` : message);
    if (json) writeOr(() => world.stdout(`${mask(toJson({ error: message, code, ...report }))}\n`));
    return code;
  };
  // output that cannot be written is a failure of its own (but not a second JSON object)
  const writeOr = (write: () => void): number => {
    try {
      write();
      return 0;
    } catch (e) {
      log.error(mask((e as Error).message));
      return 1;
    }
  };
  try {
    const request = parseCommandLine(argv);
    if (request === "version") return printData(world, VERSION);
    if ("help" in request) return printData(world, bakedText("help", request.help)!);
    if (request.command === "completion") return printData(world, completionText(request.word!));
    json = request.json;
    if (request.key !== undefined && request.key !== "-") secrets.add(request.key);
    const { report, failure, stdout, code } = await runCommand(request, world, log, secrets);
    if (failure) return fail(failure, report);
    if (code !== undefined) return code; // exec's command has said what it had to
    if (json) return writeOr(() => world.stdout(`${mask(toJson(report))}\n`));
    return stdout === undefined ? 0 : writeOr(() => world.stdout(`${stdout}\n`));
  } catch (e) {
    return fail(e);
  }
}

function completionText(shell: string): string {
  const script = bakedText("completion", shell);
  if (script === undefined)
    throw new UsageError(`No completion for ${JSON.stringify(shell)}: choose bash, zsh or fish.`);
  return script;
}

/** Prints `text` on stdout: help, version and completion scripts are data. */
function printData(world: World, text: string): number {
  world.stdout(`${text}\n`);
  return 0;
}

/**
 * Bun's crash report lists the process arguments and, where the environment asks (or on macOS),
 * uploads a trace. With a key among the arguments, or reporting asked for, the crash signals get
 * their default action back: the process dies quietly (exit 128+n) and sends nothing. Bun resets
 * a signal to SIG_DFL when its last listener goes (BunProcess.cpp, onDidChangeListeners), so one
 * listener added and removed does it, at no cost.
 */
function silenceCrashReports(argv: string[], env: Env): void {
  const reporting =
    env.BUN_CRASH_REPORT_URL || env.BUN_ENABLE_CRASH_REPORTING || process.platform === "darwin";
  if (process.platform === "win32" || (!reporting && keyShaped(argv).length === 0)) return;
  const none = () => {};
  for (const signal of ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP"] as const) {
    process.on(signal, none);
    process.off(signal, none);
  }
}

if (import.meta.main) {
  const secrets = new Set<string>();
  const world = realWorld();
  const crash = (e: unknown) => {
    world.stderr(`${escapeControls(maskSecrets(`wandb: ERROR ${(e as Error)?.message ?? e}`, secrets))}\n`);
    process.exit(1);
  };
  process.on("uncaughtException", crash);
  const argv = process.argv.slice(2);
  silenceCrashReports(argv, process.env);
  main(argv, world, secrets).then((code) => process.exit(code), crash);
}
