// wandb-login: store a W&B API key where the W&B SDKs find it, as one native binary.
// Read top to bottom: constants, types, pure functions, edges (files, env, network, TTY), command.
import type { ArgsDef } from "citty";
import { createConsola, type LogObject } from "consola/core";
import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs"; // named: a namespace import costs ≈0.3 ms of start-up
import { userInfo } from "node:os";
import { basename, dirname, join, resolve } from "node:path";

// --- constants ---

declare const WANDB_LOGIN_VERSION: string | undefined; // baked in by `bun build --define`
export const VERSION = typeof WANDB_LOGIN_VERSION === "string" ? WANDB_LOGIN_VERSION : "0.0.0-dev";
export const CLOUD_URL = "https://api.wandb.ai";
const VIEWER_QUERY =
  "query Viewer { viewer { id entity username email flags teams { edges { node { name } } } } }";
const PROMPT_TRIES = 3;
const LOCK_STALE_MS = 10_000;
const LOCK_GIVE_UP_MS = 30_000;
const RELOGIN_HINT = "Use `wandb-login --relogin` to force relogin.";

// --- types ---

export type Command = "login" | "status" | "logout";
export interface Options {
  command: Command;
  key?: string; // an explicit KEY argument; "-" means stdin
  host?: string;
  extraKeys: number;
  stdin: boolean;
  cloud: boolean;
  relogin: boolean;
  verify: boolean;
  json: boolean;
  anonymously: boolean;
}
export type Env = Record<string, string | undefined>;
/** Where a key came from: "argument", "stdin", "prompt", "WANDB_API_KEY", or a file's path. */
export interface Credential {
  key: string;
  source: string;
  label: string;
} // label: how errors name the source
export interface Viewer {
  username: string;
  entity: string;
  teams: string[];
}
/** A settings file as read: its `[default]` values (empty when missing or malformed). */
export interface Settings {
  path: string;
  exists: boolean;
  values: Record<string, string>;
}
/** What a login did, as `--json` prints it. */
export interface Outcome {
  host: string;
  machine: string;
  source: string | null;
  stored: boolean;
  netrc: string;
  verified: boolean;
  username: string | null;
  entity: string | null;
  teams: string[] | null;
}
export interface NetrcEntry {
  kind: "machine" | "default";
  name: string;
  login: string;
  account: string;
  password: string;
  start: number; // offset of the `machine`/`default` token
  end: number; // offset just past the entry's last login/account/password value
}
export interface NetrcParse {
  entries: NetrcEntry[];
  visible: number; // how many entries Python's `netrc` sees before it stops or raises
  stopAt: number; // the offset where Python stops reading (the file's length when it reads it all)
  error?: string; // what Python's `netrc` would raise, if anything
  openAtEof: boolean; // a quote, escape or macdef body runs into the end of the file
}

/** The user typed something wrong: exit 2. */
export class UsageError extends Error {}
/** The login failed: exit 1 (or `code`). */
export class LoginError extends Error {
  constructor(
    message: string,
    readonly code = 1,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
/** The key itself is wrong (format, or refused by the server): the prompt asks again. */
export class InvalidKeyError extends LoginError {}

// --- command line ---

const ARGS = {
  key: { type: "positional", required: false },
  host: { type: "string", alias: ["base-url"] },
  cloud: { type: "boolean" },
  relogin: { type: "boolean" },
  verify: { type: "boolean" },
  stdin: { type: "boolean" },
  json: { type: "boolean" },
  anonymously: { type: "boolean" },
} satisfies ArgsDef;

export const HELP = `wandb-login ${VERSION}: log in to Weights & Biases (stores an API key for the W&B SDKs)

Usage:
  wandb-login [login] [OPTIONS] [KEY]   store a key (KEY, or \`-\` to read it from stdin)
  wandb-login status [--host URL | --cloud] [--verify] [--json]
  wandb-login logout [--host URL | --cloud] [--json]

Options:
  --cloud                 log in to the public cloud (${CLOUD_URL})
  --host, --base-url URL  log in to this W&B server (self-hosted or dedicated)
  --relogin               ignore stored credentials and prompt for a new key
  --verify, --no-verify   check the key with the server first (default: off)
  --stdin                 read the key from standard input (keeps it out of shell history)
  --json                  print one JSON object describing the outcome on stdout
  -h, --help              show this help
  -v, --version           show the version

Without a KEY the key comes from the first of: WANDB_API_KEY; api_key in the settings
files; the netrc file (NETRC, ~/.netrc, ~/_netrc); a hidden prompt when a terminal is
attached. Keys go to the netrc file under the host's machine entry, mode 0600.

Exit codes: 0 success, 1 login failed, 2 usage error, 130 interrupted.`;

/** Checks the raw arguments strictly (citty accepts anything), then lets citty parse them. */
export async function parseCommandLine(argv: string[]): Promise<Options | "help" | "version"> {
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "-v" || arg === "--version") return "version";
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const [flag, value] =
      eq < 0 ? [arg.replace(/^--?/, ""), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
    const name = flag.replace(/^no-/, "");
    const def = (ARGS as ArgsDef)[name === "base-url" ? "host" : name];
    if (!arg.startsWith("--") || !def || def.type === "positional")
      throw new UsageError(`Unknown option ${arg.split("=")[0]}.`);
    if (def.type === "string") {
      if (flag !== name) throw new UsageError(`Unknown option --${flag}.`);
      const next = argv[i + 1];
      if (value === "" || (value === undefined && (next === undefined || next.startsWith("-")))) {
        throw new UsageError(`Option --${flag} needs a value.`);
      }
      if (value === undefined) i++;
    }
  }
  // citty costs ≈1 ms to load and ≈8 MB to run (scule, node:util): load it only when there are options.
  const hasOptions = argv.some((a) => a.startsWith("-") && a !== "-");
  const args: Record<string, unknown> = hasOptions ? (await import("citty")).parseArgs(argv, ARGS) : {};
  let command: Command = "login";
  if (positionals[0] === "login" || positionals[0] === "status" || positionals[0] === "logout") {
    command = positionals.shift() as Command;
  }
  if (args.cloud && args.host !== undefined) throw new UsageError("Cannot use --host and --cloud together.");
  if (command !== "login" && positionals.length > 0)
    throw new UsageError(`\`${command}\` takes no KEY argument.`);
  if (args.stdin && positionals.length > 0)
    throw new UsageError("Cannot use --stdin together with a KEY argument.");
  const flag = (name: keyof typeof ARGS) => Boolean(args[name]);
  return {
    command,
    key: positionals[0],
    host: args.host as string | undefined,
    extraKeys: Math.max(0, positionals.length - 1),
    stdin: flag("stdin") || positionals[0] === "-",
    cloud: flag("cloud"),
    relogin: flag("relogin"),
    verify: flag("verify"),
    json: flag("json"),
    anonymously: flag("anonymously"),
  };
}

// --- host ---

/** Checks a server URL and drops trailing slashes; the wandb.ai rules are upstream's. */
export function normalizeHost(raw: string): string {
  const url = raw.trim().replace(/\/+$/, "");
  const invalid = new LoginError(
    `Invalid host URL: ${JSON.stringify(raw)}. Use an absolute http:// or https:// URL, e.g. https://wandb.example.com.`,
  );
  if (!/^https?:\/\/[^/?#\s"\\]+([/?#]\S*)?$/i.test(url)) throw invalid;
  let hostname: string;
  try {
    hostname = new URL(url).hostname.toLowerCase();
  } catch {
    throw invalid;
  }
  if (!hostname) throw invalid;
  if (hostname.endsWith("wandb.ai") && !hostname.startsWith("api.")) {
    throw new LoginError(`${url} is not a valid server address, did you mean ${CLOUD_URL}?`);
  }
  if (/^http:/i.test(url) && hostname === "api.wandb.ai")
    throw new LoginError(`http is not secure, please use ${CLOUD_URL}`);
  return url;
}

/** The host and where it came from: flag, WANDB_BASE_URL, a settings file, or the default. */
export function resolveHost(
  opts: Pick<Options, "cloud" | "host">,
  env: Env,
  settings: Settings[],
): { url: string; origin: string } {
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

// --- API keys ---

/** A complete sentence describing what is wrong with the key, or null when its format is valid. */
export function checkApiKey(key: string): string | null {
  if (!key) return "API key is empty.";
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(key)) return null; // JWT-shaped token
  const secret = key.slice(key.indexOf("-") + 1); // on-prem keys carry a `prefix-`
  if (!/^[\w-]+$/.test(secret)) return "API key may only contain the letters A-Z, digits and underscores.";
  if (secret.length < 40) return `API key must have 40+ characters, has ${secret.length}.`;
  return null;
}

/** Enough of a key to recognise it, never the whole secret. */
export function maskKey(key: string): string {
  const prefix = /^wandb_v1_/.test(key) ? "wandb_v1_" : "";
  return key.length - prefix.length >= 20 ? `${prefix}…${key.slice(-4)}` : `${prefix}…`;
}

/** UTF-8 text as a byte string (one char per byte), and back; ASCII, the usual case, is both already. */
const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);
export const toBytes = (s: string) => (isAscii(s) ? s : String.fromCharCode(...new TextEncoder().encode(s)));
export const fromBytes = (b: string) =>
  isAscii(b) ? b : new TextDecoder().decode(Uint8Array.from(b, (c) => c.charCodeAt(0)));

/** The HTTP Basic credentials W&B expects: user `api`, the key as password. */
export const basicAuth = (key: string) => `Basic ${btoa(toBytes(`api:${key}`))}`;

/** Text with every known key (and its Basic-auth form) masked: the last guard before output. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  for (const key of secrets) {
    if (key) text = text.replaceAll(key, maskKey(key));
    if (key && text.includes("Basic ")) text = text.replaceAll(basicAuth(key), "Basic …");
  }
  return text;
}

/** The first source that holds a key wins; later sources are not even looked at. */
export function firstCredential(sources: (() => Credential | null | undefined)[]): Credential | null {
  for (const source of sources) {
    const found = source();
    if (found?.key) return found;
  }
  return null;
}

// --- netrc ---
// Files are handled as latin1 strings (one char per byte), so every byte we keep is kept exactly.

/** Parses netrc text the way Python's `netrc` module does, but goes on past its errors. */
export function parseNetrc(text: string): NetrcParse {
  let pos = 0,
    line = 1,
    openAtEof = false;
  const read = (): string => {
    // universal newlines, as Python reads the file
    if (pos >= text.length) return "";
    let ch = text[pos++];
    if (ch === "\r") {
      if (text[pos] === "\n") pos++;
      ch = "\n";
    }
    if (ch === "\n") line++;
    return ch;
  };
  const readLine = (): string => {
    let s = "";
    for (let ch = read(); ch; ch = read()) {
      s += ch;
      if (ch === "\n") break;
    }
    return s;
  };
  let tokStart = 0,
    tokEnd = 0;
  const token = (): string => {
    // Python's _netrclex.get_token, plus the token's offsets
    let tok = "";
    for (let ch = read(); ch; ch = read()) {
      if (" \t\n".includes(ch)) continue;
      tokStart = pos - 1;
      const quoted = ch === '"';
      if (!quoted) {
        if (ch === "\\") {
          ch = read();
          openAtEof ||= !ch;
        }
        tok += ch;
      }
      for (let before = pos, c = read(); ; before = pos, c = read()) {
        if (!c) {
          openAtEof ||= quoted;
          tokEnd = pos;
          return tok;
        }
        if (quoted ? c === '"' : " \t\n".includes(c)) {
          tokEnd = quoted ? pos : before;
          return tok;
        }
        if (c === "\\") {
          c = read();
          openAtEof ||= !c;
        }
        tok += c;
      }
    }
    tokStart = tokEnd = pos;
    return tok;
  };

  const result: NetrcParse = { entries: [], visible: -1, stopAt: text.length, openAtEof: false };
  const stop = (error?: string, at = tokStart) => {
    if (result.visible >= 0) return;
    Object.assign(result, {
      visible: result.entries.length,
      stopAt: at,
      error: error && `${error} (line ${line})`,
    });
  };
  let pushed: string | null = null;
  for (;;) {
    const lineBefore = line;
    const tt = pushed ?? token();
    pushed = null;
    if (pos >= text.length && !tt) break;
    if (!tt) {
      stop();
      continue;
    } // Python stops at an empty token such as ""
    if (tt[0] === "#") {
      if (line === lineBefore && tt.length === 1) readLine();
      continue;
    }
    if (tt === "macdef") {
      token();
      for (;;) {
        const body = readLine();
        if (!body) {
          stop("Macro definition missing null line terminator.");
          openAtEof = true;
          break;
        }
        if (body === "\n") break;
      }
      continue;
    }
    if (tt !== "machine" && tt !== "default") {
      stop(`bad toplevel token ${JSON.stringify(tt)}`);
      continue;
    }
    const start = tokStart;
    const name = tt === "default" ? "default" : token();
    if (!name) {
      stop(`missing ${JSON.stringify(tt)} name`);
      break;
    }
    const entry: NetrcEntry = { kind: tt, name, login: "", account: "", password: "", start, end: tokEnd };
    let endsHere = false; // a quoted "" where a keyword belongs ends Python's parse, silently
    for (;;) {
      const lineBefore = line;
      const ft = token();
      if (ft.startsWith("#")) {
        if (line === lineBefore) readLine();
        continue;
      }
      if (["", "machine", "default", "macdef"].includes(ft)) {
        endsHere = !ft && pos < text.length;
        pushed = ft || null;
        break;
      }
      if (ft === "login" || ft === "user") entry.login = token();
      else if (ft === "account") entry.account = token();
      else if (ft === "password") entry.password = token();
      else {
        stop(`bad follower token ${JSON.stringify(ft)}`);
        continue;
      } // not ours to remove
      entry.end = tokEnd;
    }
    result.entries.push(entry);
    if (endsHere) stop();
    if (pos >= text.length && !pushed) break;
  }
  stop(undefined, text.length);
  result.openAtEof = openAtEof;
  return result;
}

/** What Python's `netrc(path).authenticators(machine)` returns for an exact machine entry. */
export function netrcLookup(text: string, machine: string): { entry?: NetrcEntry; error?: string } {
  const parsed = parseNetrc(text);
  if (parsed.error) return { error: parsed.error };
  const hits = parsed.entries.slice(0, parsed.visible).filter(entryFor(machine));
  return { entry: hits.at(-1) }; // later entries overwrite earlier ones in Python's dict
}

function entryFor(machine: string): (e: NetrcEntry) => boolean {
  const name = toBytes(machine);
  return (e) => e.kind === "machine" && e.name === name;
}

/** Where an insertion or removal at `at` begins: the line's start, when only blanks come before it. */
function lineStartBefore(text: string, at: number): number {
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  return /^[ \t]*$/.test(text.slice(lineStart, at)) ? lineStart : at;
}

/** A netrc token, quoted the way the format allows when it has to be. */
function netrcToken(value: string): string {
  return /^[^\s"\\#]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** Removes every entry for `machine`, and the lines they stood on; every other byte stays. */
export function removeNetrcEntry(
  text: string,
  machine: string,
  parsed = parseNetrc(text),
): { text: string; removed: number } {
  const ours = parsed.entries.filter(entryFor(machine));
  for (const e of ours.reverse()) {
    const rest = /[ \t]*(\r?\n|\r)?/y; // the blanks and line end after it go too
    rest.lastIndex = e.end;
    const end = e.end + rest.exec(text)![0].length;
    text = text.slice(0, lineStartBefore(text, e.start)) + text.slice(end);
  }
  return { text, removed: ours.length };
}

/**
 * Replaces the entry for `machine` with a fresh three-line one. It goes last, as upstream puts it,
 * but before a `default` entry (curl and others take the first match). Where the end of a broken
 * file would swallow it (an unclosed quote, a dangling `machine`), it goes before another entry.
 * Every placement is checked by parsing the result: ours reads back, all others are unchanged.
 */
export function updateNetrc(text: string, machine: string, key: string): string {
  const original = parseNetrc(text);
  const { text: base, removed } = removeNetrcEntry(text, machine, original);
  const parsed = removed ? parseNetrc(base) : original;
  const eol = /\r\n/.test(base) ? "\r\n" : "\n";
  const entry = toBytes(
    [`machine ${netrcToken(machine)}`, "  login user", `  password ${netrcToken(key)}`, ""].join(eol),
  );
  const insertAt = (at: number) =>
    base.slice(0, lineStartBefore(base, at)) + entry + base.slice(lineStartBefore(base, at));
  const defaultEntry = parsed.entries.find((e) => e.kind === "default");
  const sep = (base && !/[\r\n]$/.test(base) ? eol : "") + (parsed.openAtEof ? eol : ""); // a macdef body ends at a blank line
  const candidates = [
    () => (defaultEntry ? insertAt(defaultEntry.start) : base + sep + entry),
    () => insertAt(parsed.stopAt), // before the token where Python stops reading
    ...parsed.entries
      .slice(-20)
      .reverse()
      .map((e) => () => insertAt(e.start)),
    () => entry + base,
  ];
  const fields = (e: NetrcEntry) => [e.kind, e.name, e.login, e.account, e.password].join("\0");
  const others = parsed.entries.map(fields).join("\n");
  for (const candidate of candidates) {
    const out = candidate();
    const after = parseNetrc(out);
    const isOurs = entryFor(machine);
    const ours = after.entries.filter(isOurs);
    const rest = after.entries
      .filter((e) => !isOurs(e))
      .map(fields)
      .join("\n");
    const fresh =
      ours.length === 1 &&
      out.slice(ours[0].start, ours[0].end) === entry.trimEnd() && // nothing after it joined it
      fields(ours[0]) === ["machine", toBytes(machine), "user", "", toBytes(key)].join("\0");
    const readable = parsed.error || (!after.error && after.entries.indexOf(ours[0]) < after.visible); // Python stops at a bare ""
    if (fresh && rest === others && readable) return out;
  }
  const why = parsed.error ?? `Python's netrc stops reading at offset ${parsed.stopAt}`;
  throw new LoginError(
    `Cannot add an entry to this netrc file without changing its others (${why}). Fix that line, or set NETRC to another file.`,
  );
}

// --- settings files (INI, as Python's configparser reads them) ---

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
  const option = (key: string, value: string) => `${key} = ${value.replaceAll("%", "%%")}`; // configparser interpolates %
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

// --- edges: files ---

const errorText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  const causes: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOTDIR: "a parent is not a directory",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EISDIR: "it is a directory",
  };
  return err.code ? `${causes[err.code] ?? err.message} (${err.code})` : String(err.message ?? e);
};

/** A file's bytes as a latin1 string, or null when it does not exist. */
export function readText(path: string): string | null {
  if (!existsSync(path)) return null; // cheaper than the exception, on the common path
  try {
    return readFileSync(path, "latin1");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new LoginError(`Cannot read ${path}: ${errorText(e)}.`);
  }
}

/** Follows symlinks, dangling ones too, so a dotfile manager's link stays a link. */
function realTarget(path: string): string {
  for (let hops = 0; hops < 40; hops++) {
    let isLink = false;
    try {
      isLink = lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
    } catch {
      /* the write says why */
    }
    if (!isLink) return path;
    path = resolve(dirname(path), readlinkSync(path));
  }
  throw new LoginError(`Cannot resolve ${path}: too many symbolic links.`);
}

/**
 * Read-modify-write under a lock beside the file: a temp file in the same folder, written, fsynced,
 * mode 0600, renamed over the target. `change` gets the current text (null: no file) and returns
 * the new text, or null to leave the file alone. Returns the old mode when it was looser than 0600.
 * A run killed mid-write leaves the old file whole; its lock and temp file go with the next run.
 */
export function updateFileLocked(
  path: string,
  change: (old: string | null) => string | null,
): { changed: boolean; loosened?: number } {
  const target = realTarget(path);
  const forNoFile = existsSync(target) ? undefined : change(null); // reused below while the file is still missing
  if (forNoFile === null) return { changed: false }; // nothing to remove: no folder, no lock
  const dir = dirname(target);
  const fail = (e: unknown): never => {
    throw e instanceof LoginError ? e : new LoginError(`Cannot write ${path}: ${errorText(e)}.`);
  };
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(e);
  }
  const lock = `${target}.lock`;
  for (;;) {
    const mine = acquireLock(lock, fail);
    let owned = true;
    const temp = `${target}.tmp-${process.pid}-${Date.now().toString(36)}`;
    try {
      const old = readText(target);
      const next = old === null && forNoFile !== undefined ? forNoFile : change(old);
      if (next === null) return { changed: false };
      const mode = old === null ? 0o600 : statSync(target).mode & 0o777;
      const fd = openSync(temp, "wx", 0o600);
      try {
        writeSync(fd, next, null, "latin1");
        fchmodSync(fd, 0o600);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      owned = isLock(lock, mine);
      if (!owned) {
        rmSync(temp, { force: true });
        continue;
      } // taken as stale meanwhile: start over
      renameSync(temp, target);
      return { changed: true, loosened: mode & 0o077 ? mode : undefined };
    } catch (e) {
      rmSync(temp, { force: true });
      return fail(e);
    } finally {
      if (owned && isLock(lock, mine)) unlinkSync(lock);
    }
  }
}

/** A lock file is known by its inode and the pid written in it. */
interface LockId {
  ino: number;
  pid: string;
}

function isLock(path: string, id: LockId): boolean {
  try {
    return statSync(path).ino === id.ino && readFileSync(path, "utf8") === id.pid;
  } catch {
    return false;
  }
}

/** Takes the lock file; breaks it when its owner is gone or it is older than LOCK_STALE_MS. */
function acquireLock(lock: string, fail: (e: unknown) => never): LockId {
  const started = Date.now();
  for (;;) {
    try {
      const fd = openSync(lock, "wx", 0o600);
      try {
        writeSync(fd, String(process.pid));
        return { ino: fstatSync(fd).ino, pid: String(process.pid) };
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") fail(e);
    }
    if (breakStaleLock(lock)) continue;
    if (Date.now() - started > LOCK_GIVE_UP_MS)
      fail(new LoginError(`Timed out waiting for the lock ${lock}; remove it if no wandb-login is running.`));
    Bun.sleepSync(5 + Math.random() * 10);
  }
}

/**
 * Removes a dead run's lock, and the temp file it may have left mid-write. The lock is moved aside
 * first and checked: when a live run took the lock since we looked, it is put back.
 */
function breakStaleLock(lock: string): boolean {
  let id: LockId;
  try {
    const st = statSync(lock);
    id = { ino: st.ino, pid: readFileSync(lock, "utf8") };
    if (!id.pid || (Date.now() - st.mtimeMs <= LOCK_STALE_MS && isAlive(Number(id.pid)))) return false;
    const aside = `${lock}.stale-${process.pid}`;
    renameSync(lock, aside);
    if (!isLock(aside, id)) {
      try {
        linkSync(aside, lock);
      } finally {
        rmSync(aside, { force: true });
      }
      return false;
    }
    rmSync(aside, { force: true });
  } catch {
    return false; // gone already, or put back: try to take it again
  }
  const temps = `${basename(lock.slice(0, -".lock".length))}.tmp-${id.pid}-`;
  for (const f of readdirSync(dirname(lock)))
    if (f.startsWith(temps)) rmSync(join(dirname(lock), f), { force: true });
  return true;
}

function isAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

// --- edges: environment and paths ---

/** Everything the program takes from the world, so tests can give their own. */
export interface World {
  env: Env;
  cwd: string;
  home: string | null;
  platform: NodeJS.Platform;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  fetch: typeof fetch;
}

/** node:tty costs milliseconds to load (and process.stdin starts a stream): ask it only about a likely terminal. */
const tty = (): typeof import("node:tty") => require("node:tty");
let devNull: number | undefined; // there is no /dev/null on Windows: -1 matches nothing
function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    devNull ??= statSync("/dev/null", { throwIfNoEntry: false })?.rdev ?? -1;
    return st.isCharacterDevice() && st.rdev !== devNull && tty().isatty(fd);
  } catch {
    return false; // a closed descriptor
  }
}

export function realWorld(): World {
  const env = process.env;
  let home = env.HOME || null;
  if (!home) {
    try {
      home = userInfo().homedir || null;
    } catch {
      home = null;
    }
  } // no passwd entry (docker -u)
  return {
    env,
    cwd: process.cwd(),
    home,
    platform: process.platform,
    stdinIsTTY: isTerminal(0),
    stderrIsTTY: isTerminal(2),
    fetch,
  };
}

const octal = (mode: number) => mode.toString(8).padStart(4, "0");
const expandHome = (p: string, home: string | null) => (home && /^~(\/|$)/.test(p) ? home + p.slice(1) : p);

/** NETRC, else ~/.netrc or ~/_netrc if one exists, else the platform's default. */
export function netrcPath(world: World): string {
  const { env, home } = world;
  if (env.NETRC) return expandHome(env.NETRC, home);
  if (!home)
    throw new LoginError("Cannot find your home folder: set NETRC to the netrc file's path, or set HOME.");
  const candidates = [join(home, ".netrc"), join(home, "_netrc")];
  return candidates.find((p) => existsSync(p)) ?? candidates[world.platform === "win32" ? 1 : 0];
}

export function settingsPaths(world: World): { system: string | null; workspace: string } {
  const { env, home, cwd } = world;
  const configDir = env.WANDB_CONFIG_DIR
    ? expandHome(env.WANDB_CONFIG_DIR, home)
    : home && join(home, ".config", "wandb");
  const root = env.WANDB_DIR ? resolve(cwd, expandHome(env.WANDB_DIR, home)) : cwd;
  const workspaceDir = existsSync(join(root, ".wandb")) ? ".wandb" : "wandb";
  return {
    system: configDir ? join(configDir, "settings") : null,
    workspace: join(root, workspaceDir, "settings"),
  };
}

/** A file we only read for what it offers: unreadable is warned about and treated as missing. */
function readOrWarn(path: string, log: Log): string | null {
  try {
    return readText(path);
  } catch (e) {
    log.warn(`${(e as Error).message} Ignoring it.`);
    return null;
  }
}

function readSettings(world: World, log: Log): Settings[] {
  const { system, workspace } = settingsPaths(world);
  return [system, workspace]
    .filter((p): p is string => !!p)
    .map((path) => {
      const text = readOrWarn(path, log);
      const parsed = parseSettings(text ?? "");
      if (parsed.error) log.warn(`Ignoring the settings file ${path}: ${parsed.error}.`);
      return { path, exists: text !== null, values: parsed.values };
    });
}

/** A stored key for the host, in login's order: WANDB_API_KEY, settings api_key, netrc. */
function storedCredential({ world, settings, netrc, machine, log, secrets }: Context): Credential | null {
  const fromNetrc = (): Credential | null => {
    const { entry, error } = netrcLookup(readOrWarn(netrc, log) ?? "", machine);
    if (error) log.warn(`Failed to read netrc file at ${netrc}: ${error}. Ignoring it.`);
    else if (entry && !entry.password)
      log.warn(`Found entry for machine ${JSON.stringify(machine)} with no API key at ${netrc}.`);
    return entry ? { key: fromBytes(entry.password), source: netrc, label: `netrc file ${netrc}` } : null;
  };
  const fromSettings = () => {
    const s = settings.findLast((f) => f.values.api_key);
    return s && { key: s.values.api_key, source: s.path, label: `settings file ${s.path}` };
  };
  const key = world.env.WANDB_API_KEY;
  const found = firstCredential([
    () => (key ? { key, source: "WANDB_API_KEY", label: "WANDB_API_KEY" } : null),
    fromSettings,
    fromNetrc,
  ]);
  if (found) secrets.add(found.key);
  return found;
}

// --- edges: network (verification) ---

/** The proxy that a request to `url` goes through, as Bun's fetch picks it from the environment. */
export function proxyFor(url: string, env: Env): string | undefined {
  const host = new URL(url).hostname.toLowerCase();
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? "").split(",").map((s) =>
    s
      .trim()
      .toLowerCase()
      .replace(/^\*?\./, ""),
  );
  if (
    noProxy.some(
      (p) => p === "*" || (p && (host === p.split(":")[0] || host.endsWith(`.${p.split(":")[0]}`))),
    )
  )
    return undefined;
  return (
    (url.startsWith("https:") ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy)) ||
    undefined
  );
}

/** One line naming the host and the cause, for each way a request can fail. */
export function describeFetchError(err: unknown, host: string, env: Env, timeoutSeconds: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  const proxy = proxyFor(host, env);
  const via = proxy ? ` via proxy ${proxy.replace(/\/\/[^@/]*@/, "//")}` : "";
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return `${host} did not answer within ${timeoutSeconds} seconds${via} (set WANDB_HTTP_TIMEOUT to wait longer).`;
  }
  const code = e.code ?? "";
  if (code === "ECONNREFUSED")
    return `Could not connect to ${host}${via}: connection refused. Is the server running?`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /DNS/i.test(code)) {
    return `Could not connect to ${host}${via}: DNS lookup of ${new URL(host).hostname} failed. Check the host name.`;
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/i.test(code)) {
    return `Could not connect to ${host}${via}: TLS certificate not trusted (${code}). If the server uses a private CA, set SSL_CERT_FILE, NODE_EXTRA_CA_CERTS or REQUESTS_CA_BUNDLE to its certificate file.`;
  }
  if (code === "ERR_PROXY_TUNNEL")
    return `Could not connect to ${host}${via}: the proxy refused to open a tunnel (${code}).`;
  return `Could not connect to ${host}${via}: ${code || e.message || String(err)}.`;
}

/** Asks the W&B GraphQL API who the key belongs to; a LoginError says why not. */
export async function verifyKey(
  host: string,
  key: string,
  env: Env,
  fetchImpl: typeof fetch = fetch,
): Promise<Viewer> {
  const seconds = Number(env.WANDB_HTTP_TIMEOUT) > 0 ? Number(env.WANDB_HTTP_TIMEOUT) : 10;
  const caFile = env.REQUESTS_CA_BUNDLE; // Python users' CA bundle; Bun reads SSL_CERT_FILE and NODE_EXTRA_CA_CERTS itself
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, "utf8") : undefined;
  } catch (e) {
    throw new LoginError(`Cannot read REQUESTS_CA_BUNDLE ${caFile}: ${errorText(e)}.`);
  }
  let response: Response, body: string;
  try {
    response = await fetchImpl(`${host}/graphql`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: basicAuth(key),
        "User-Agent": `wandb-login/${VERSION}`,
      },
      body: JSON.stringify({ query: VIEWER_QUERY }),
      signal: AbortSignal.timeout(seconds * 1000),
      verbose: false, // BUN_CONFIG_VERBOSE_FETCH would print the Authorization header
      ...(ca ? { tls: { ca } } : {}),
    } as RequestInit);
    body = await response.text();
  } catch (err) {
    throw new LoginError(describeFetchError(err, host, env, seconds));
  }
  const invalid = new InvalidKeyError(
    `Invalid API key for ${host}. Create a new key at ${appUrl(host, env)}/authorize?ref=models`,
  );
  if (response.status === 401 || response.status === 403) throw invalid;
  if (!response.ok) {
    const next = response.status >= 500 ? "Try again later." : "Is this the address of a W&B server?";
    throw new LoginError(
      `${`${host} answered HTTP ${response.status} ${response.statusText}`.trim()}. ${next}`,
    );
  }
  let viewer:
    | { username?: string; entity?: string; teams?: { edges?: { node?: { name?: string } }[] } }
    | null
    | undefined;
  try {
    viewer = JSON.parse(body)?.data?.viewer;
  } catch {
    const type = response.headers.get("content-type") ?? "no content type";
    throw new LoginError(
      `${host} did not answer with JSON (got ${type}). Is a proxy or captive portal in the way?`,
    );
  }
  if (!viewer) throw invalid;
  const entity = viewer.entity ?? viewer.username ?? "";
  const teams = (viewer.teams?.edges ?? []).map((e) => e.node?.name).filter((n): n is string => !!n);
  return { username: viewer.username ?? entity, entity, teams };
}

// --- edges: terminal and stdin ---

/**
 * Reads one line from fd 0. On a terminal the input is hidden (raw mode, no echo); backspace and
 * Ctrl-U edit, Ctrl-C restores the terminal and exits 130. From a pipe it reads up to the first
 * non-blank line; the caller asked for stdin, so waiting on it is what they want.
 */
export function readSecretLine(isTTY: boolean): string {
  const buf = Buffer.alloc(256);
  const terminal = isTTY ? new (tty().ReadStream)(0) : undefined;
  terminal?.setRawMode(true);
  let line = "";
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(0, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          Bun.sleepSync(10);
          continue;
        }
        if ((e as NodeJS.ErrnoException).code === "EOF") return line;
        throw e;
      }
      if (n === 0) return line;
      const chunk = buf.toString("utf8", 0, n).replace(/\x1b\[20[01]~/g, ""); // bracketed paste markers
      for (const ch of chunk) {
        if (ch === "\x03" && terminal) throw new LoginError("Interrupted.", 130);
        if (ch === "\r" || ch === "\n") {
          if (terminal || line.trim()) return line;
          continue;
        }
        if (ch === "\x04" && terminal) return line;
        if (ch === "\x7f" || ch === "\b") line = [...line].slice(0, -1).join("");
        else if (ch === "\x15") line = "";
        else if (ch >= " ") line += ch;
      }
    }
  } finally {
    if (terminal) {
      terminal.setRawMode(false);
      writeStderr("\n");
      terminal.destroy();
    }
  }
}

// --- output ---

type Log = ReturnType<typeof createLog>;

/** Writes to stderr directly: Bun's console.error paints TTY output red, and streams cost start-up time. */
function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    /* a closed stderr leaves nobody to tell */
  }
}

/** Human messages on stderr, `wandb:`-prefixed as upstream prints them; any secret is masked. */
export function createLog(color: boolean, secrets: Set<string>) {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const labels: Record<string, string> = { warn: paint("33", "WARNING "), error: paint("31", "ERROR ") };
  const line = (type: string, text: string) =>
    `${paint("34;1", "wandb")}: ${labels[type] ?? ""}${maskSecrets(text, secrets)}`;
  const reporter = {
    log: (entry: LogObject) => writeStderr(`${line(entry.type, entry.args.map(String).join(" "))}\n`),
  };
  return Object.assign(createConsola({ reporters: [reporter], level: 3 }), {
    ask: (text: string) => writeStderr(line("info", text)),
  });
}

// --- the command ---

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
}

/** Runs one command; returns the JSON outcome. Throws UsageError/LoginError on failure. */
export async function run(opts: Options, world: World, log: Log, secrets: Set<string>): Promise<object> {
  if (opts.anonymously) log.warn("--anonymously has no effect and is deprecated.");
  if (opts.extraKeys) log.warn(`Only the first API key is used; ignoring ${opts.extraKeys} more.`);
  const settings = readSettings(world, log);
  const { url: host, origin } = resolveHost(opts, world.env, settings);
  const ctx: Context = {
    opts,
    world,
    log,
    secrets,
    settings,
    host,
    origin,
    machine: machineName(host),
    netrc: netrcPath(world),
  };
  return opts.command === "logout" ? logout(ctx) : opts.command === "status" ? status(ctx) : login(ctx);
}

async function login(ctx: Context): Promise<Outcome> {
  const { opts, world, log, host, machine, netrc } = ctx;
  const outcome: Outcome = {
    host,
    machine,
    source: null,
    stored: false,
    netrc,
    verified: false,
    username: null,
    entity: null,
    teams: null,
  };
  const found = opts.relogin || opts.key !== undefined || opts.stdin ? null : storedCredential(ctx);
  if (found) {
    // checked, reported, never written again
    checkStored(found);
    outcome.source = found.source;
    if (opts.verify)
      return reportVerified(
        outcome,
        await verifyKey(host, found.key, world.env, world.fetch),
        found.source,
        log,
      );
    log.info(`W&B API key is configured (from ${found.source}). ${RELOGIN_HINT}`);
    return outcome;
  }
  const { key, source, viewer } = await obtainKey(ctx);
  Object.assign(outcome, { source, stored: true });
  // Settings first: they fail more often (a separate WANDB_CONFIG_DIR), and then the netrc is untouched.
  if (opts.host !== undefined || opts.cloud) writeHostSettings(world, host, log);
  writeNetrcKey(netrc, machine, key, log);
  if (world.env.WANDB_API_KEY && world.env.WANDB_API_KEY !== key)
    log.warn(`WANDB_API_KEY is set, and takes precedence over the key stored in ${netrc}.`);
  if (viewer) return reportVerified(outcome, viewer, source, log);
  log.success(`Stored the API key ${maskKey(key)} for ${host}.`);
  return outcome;
}

/** A stored key must have a valid format too; the error names where it came from. */
function checkStored(found: Credential, details?: Record<string, unknown>): void {
  const problem = checkApiKey(found.key);
  if (problem) throw new LoginError(`${found.label} invalid: ${problem}`, 1, details);
}

/** An explicit, piped or prompted key, format-checked and (with --verify) accepted by the server. */
async function obtainKey({
  opts,
  world,
  host,
  log,
  secrets,
}: Context): Promise<{ key: string; source: string; viewer?: Viewer }> {
  const check = async (key: string) => {
    secrets.add(key);
    const problem = checkApiKey(key);
    if (problem) throw new InvalidKeyError(problem);
    return opts.verify ? verifyKey(host, key, world.env, world.fetch) : undefined;
  };
  if (opts.stdin || opts.key !== undefined) {
    if (opts.stdin && world.stdinIsTTY) log.ask("Paste your API key and hit enter: "); // a terminal, not a pipe: say so
    const key = opts.stdin ? readSecretLine(world.stdinIsTTY).trim() : opts.key!;
    return { key, source: opts.stdin ? "stdin" : "argument", viewer: await check(key) };
  }
  if (!world.stdinIsTTY || !world.stderrIsTTY || world.env.TERM === "dumb") {
    throw new LoginError(
      `No API key configured${opts.relogin ? " and no terminal to prompt on" : ""}. Pass the key as an argument (wandb-login KEY), ` +
        "pipe it with `wandb-login --stdin`, or set WANDB_API_KEY. " +
        `Create a key at ${appUrl(host, world.env)}/authorize?ref=models`,
    );
  }
  if (host === CLOUD_URL) log.info(`Logging into ${host}.`);
  log.info(`Create a new API key at: ${appUrl(host, world.env)}/authorize?ref=models`);
  log.info("Store your API key securely and do not share it.");
  for (let attempt = 1; ; attempt++) {
    log.ask("Paste your API key and hit enter: ");
    const key = readSecretLine(true).trim();
    try {
      return { key, source: "prompt", viewer: await check(key) };
    } catch (e) {
      if (!(e instanceof InvalidKeyError) || attempt >= PROMPT_TRIES) throw e;
      log.error(e.message);
    }
  }
}

function writeNetrcKey(netrc: string, machine: string, key: string, log: Log): void {
  if (!existsSync(netrc)) log.info("No netrc file found, creating one.");
  log.info(`Appending key for ${machine} to your netrc file: ${netrc}`);
  const { loosened } = updateFileLocked(netrc, (old) => updateNetrc(old ?? "", machine, key));
  if (loosened) log.info(`Tightened the permissions of ${netrc} from ${octal(loosened)} to 0600.`);
}

/** After a login with --host/--cloud, the system settings name that host; the workspace's no longer overrides it. */
function writeHostSettings(world: World, host: string, log: Log): void {
  const { system, workspace } = settingsPaths(world);
  const edits: [string | null, Record<string, string | null>][] = [
    [system, { base_url: host === CLOUD_URL ? null : host, anonymous: null }],
    [workspace, { base_url: null, anonymous: null }],
  ];
  for (const [path, changes] of edits) {
    if (!path) continue;
    const { changed } = updateFileLocked(path, (old) => {
      const next = updateSettings(old ?? "", changes);
      return next === (old ?? "") ? null : next;
    });
    if (changed) log.info(`Updated settings file ${path}`);
  }
}

function reportVerified<T extends { host: string }>(outcome: T, viewer: Viewer, source: string, log: Log) {
  const who =
    viewer.entity && viewer.entity !== viewer.username
      ? `${viewer.username} (${viewer.entity})`
      : viewer.username;
  log.success(`Currently logged in as: ${who} to ${outcome.host}. ${RELOGIN_HINT}`);
  log.info(`Credentials from: ${source}`);
  const others = viewer.teams.filter((t) => t !== viewer.entity);
  log.info(`Default team: ${viewer.entity}${others.length ? ` (other teams: ${others.join(", ")})` : ""}`);
  return {
    ...outcome,
    verified: true,
    username: viewer.username,
    entity: viewer.entity,
    teams: viewer.teams,
  };
}

async function status(ctx: Context): Promise<Record<string, unknown>> {
  const { opts, world, settings, host, origin, machine, netrc, log } = ctx;
  const found = storedCredential(ctx);
  let mode: number | null = null;
  try {
    mode = statSync(netrc).mode & 0o777;
  } catch {
    /* no netrc file */
  }
  log.info(`Host: ${host} (from ${origin})`);
  for (const s of settings) log.info(`Settings file: ${s.path}${s.exists ? "" : " (not found)"}`);
  log.info(
    `Netrc file: ${netrc}${mode === null ? " (not found)" : ` (mode ${octal(mode)}${mode & 0o077 ? `, readable by others: run chmod 600 ${netrc}` : ""})`}`,
  );
  const result = {
    host,
    hostSource: origin,
    machine,
    settings: settings.map(({ path, exists }) => ({ path, exists })),
    netrc: {
      path: netrc,
      exists: mode !== null,
      mode: mode === null ? null : octal(mode),
      safe: mode === null || !(mode & 0o077),
    },
    source: found?.source ?? null,
    key: found ? maskKey(found.key) : null,
    configured: !!found,
    verified: false,
    username: null,
    entity: null,
    teams: null,
  };
  if (!found)
    throw new LoginError(`No API key configured for ${host}. Run wandb-login to store one.`, 1, result);
  checkStored(found, result);
  log.info(`API key: ${maskKey(found.key)} from ${found.source}`);
  if (!opts.verify) return result;
  const viewer = await verifyKey(host, found.key, world.env, world.fetch);
  return reportVerified(result, viewer, found.source, log);
}

function logout(ctx: Context): Record<string, unknown> {
  const { host, machine, netrc, log } = ctx;
  let removed = 0;
  updateFileLocked(netrc, (old) => {
    const result = removeNetrcEntry(old ?? "", machine);
    removed = result.removed;
    return removed ? result.text : null;
  });
  log.info(
    removed
      ? `Removed the key for ${machine} from ${netrc}.`
      : `No key for ${machine} in ${netrc}; nothing to remove.`,
  );
  const still = storedCredential(ctx);
  if (still) log.warn(`A key for ${host} is still supplied by ${still.source}.`);
  return { host, machine, netrc, removed: removed > 0, source: still?.source ?? null };
}

// --- main ---

/** Every key this run has seen goes into `secrets`, so that nothing printed can show one. */
export async function main(argv: string[], world: World, secrets = new Set<string>()): Promise<number> {
  let json = argv.includes("--json"); // until the arguments parse, for usage errors
  const log = createLog(world.stderrIsTTY && !world.env.NO_COLOR && world.env.TERM !== "dumb", secrets);
  const mask = (s: string) => maskSecrets(s, secrets);
  try {
    const parsed = await parseCommandLine(argv);
    if (parsed === "help") {
      console.log(HELP);
      return 0;
    }
    if (parsed === "version") {
      console.log(VERSION);
      return 0;
    }
    json = parsed.json;
    if (parsed.key !== undefined && parsed.key !== "-") secrets.add(parsed.key);
    const outcome = await run(parsed, world, log, secrets);
    if (json) console.log(mask(JSON.stringify(outcome)));
    return 0;
  } catch (e) {
    const code = e instanceof UsageError ? 2 : e instanceof LoginError ? e.code : 1;
    const message = mask(e instanceof Error ? e.message : String(e));
    log.error(e instanceof UsageError ? `${message} See \`wandb-login --help\`.` : message);
    if (json)
      console.log(
        mask(JSON.stringify({ error: message, code, ...(e instanceof LoginError ? e.details : {}) })),
      );
    return code;
  }
}

if (import.meta.main) {
  const secrets = new Set<string>();
  const crash = (e: unknown) => {
    writeStderr(maskSecrets(`wandb: ERROR ${(e as Error)?.message ?? e}\n`, secrets));
    process.exit(1);
  };
  process.on("uncaughtException", crash);
  main(process.argv.slice(2), realWorld(), secrets).then((code) => process.exit(code), crash);
}
