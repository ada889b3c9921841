// Shared test helpers: run the program in-process through `main(argv, world)` (milliseconds) or as
// the compiled binary (what only the binary shows), drive the binary on a pseudo-terminal, serve a
// fake W&B API, and ask real clients (Python's netrc and configparser, curl) to judge.
import { test } from "bun:test";
import * as fs from "node:fs";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  linkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { main, type World } from "../login";
import { sha256 } from "../scripts/release";

export const BIN = join(import.meta.dir, "..", "dist", "wandb-login");
/** The version the build bakes into the binary; in-process runs say "0.0.0-dev". */
export const PACKAGE_VERSION: string = require("../package.json").version;
export const KEY40 = "0123456789abcdef0123456789abcdef01234567";
export const KEY_V1 = `wandb_v1_${"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-".repeat(2)}aBcDeFgHiJkLmN`;
export const MACHINE = "api.wandb.ai";

/** The entry the writer adds: upstream's three-line layout. */
export const entry = (machine: string, key: string) =>
  `machine ${machine}\n  login user\n  password ${key}\n`;

const madeFolders: string[] = [];
/** A fresh folder in the system's temp folder; every one goes when the run ends (tests/cleanup.ts). */
export function tempDir(prefix = "wl-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeFolders.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of madeFolders.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* one a test made unremovable stays: the run's result is what matters */
    }
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  home?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
}

/** A clean environment: only PATH, HOME and what the test adds (undefined removes). */
function cliSetup(opts: RunOptions): { cwd: string; env: Record<string, string> } {
  const home = opts.home ?? tempDir();
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home };
  for (const [k, v] of Object.entries(opts.env ?? {}))
    if (v === undefined) delete env[k];
    else env[k] = v;
  return { cwd: opts.cwd ?? home, env };
}

/** Runs dist/wandb-login as a user would, in a temp HOME unless given one. */
export function runCli(args: string[], opts: RunOptions = {}): Run {
  return runCommand([BIN, ...args], opts);
}

/** The same for any command line: wandb-login as a package installed it (npx, pipx, a venv's bin). */
export function runCommand(argv: string[], opts: RunOptions = {}): Run {
  const proc = Bun.spawnSync(argv, {
    ...cliSetup(opts),
    stdout: "pipe",
    stderr: "pipe",
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
  });
  return { code: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** Same as runCli, without blocking the event loop (for tests that also serve HTTP). */
export async function runCliAsync(args: string[], opts: RunOptions = {}): Promise<Run> {
  return runCommandAsync([BIN, ...args], opts);
}

/** runCommand without blocking the event loop. */
export async function runCommandAsync(argv: string[], opts: RunOptions = {}): Promise<Run> {
  const proc = Bun.spawn(argv, {
    ...cliSetup(opts),
    stdout: "pipe",
    stderr: "pipe",
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

export interface InProcessOptions extends RunOptions {
  /** Parts of the world to replace: a clock, a terminal, a stdin that never ends. */
  world?: Partial<World>;
}

/** This process's pid namespace, as the binary records it in its locks. */
const PID_NAMESPACE = (() => {
  try {
    return fs.readlinkSync("/proc/self/ns/pid").replace(/\s/g, "");
  } catch {
    return "";
  }
})();

const insideTemp = (dir: string) => !relative(tmpdir(), dir).startsWith("..");

function isRunning(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Runs `main(args, world)` in this process, as runCli runs the binary: a clean environment, a temp
 * HOME and cwd (anything outside the temp folder is refused), stdin from `opts.stdin` (then its end),
 * no terminal, stdout and stderr captured; real files, fetch, clock and pid.
 */
export async function runInProcess(args: string[], opts: InProcessOptions = {}): Promise<Run> {
  const { cwd, env } = cliSetup(opts);
  const home = env.HOME ?? null;
  for (const dir of [home, cwd]) {
    if (dir !== null && !insideTemp(dir)) throw new Error(`in-process runs stay in ${tmpdir()}: ${dir}`);
  }
  const input = Buffer.from(opts.stdin ?? "");
  let at = 0;
  let stdout = "";
  let stderr = "";
  const world: World = {
    env,
    cwd,
    home,
    platform: process.platform,
    pid: process.pid,
    uid: process.geteuid?.(),
    gid: process.getgid?.(),
    stdinIsTTY: false,
    stderrIsTTY: false,
    fs,
    fetch,
    now: Date.now,
    sleep: Bun.sleepSync,
    isRunning,
    pidNamespace: PID_NAMESPACE,
    sagemakerConfig: join(cwd, "no-sagemaker", "hyperparameters.json"), // none, unless a test puts it there
    readStdin: (buffer) => {
      const n = input.copy(buffer, 0, at);
      at += n;
      return n;
    },
    rawMode: () => {
      throw new Error("raw mode asked for without a terminal");
    },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    keychain: memoryKeychain(),
    spawn: () => {
      throw new Error("a command run without a spawn of the test's");
    },
    ...opts.world,
  };
  const code = await main(args, world);
  return { code, stdout, stderr };
}

/**
 * An OS keychain in memory (service wandb-login): `entries` is what it holds. `fails` makes every
 * call fail with that reason (no Secret Service, a timeout); `locked` reads as empty and refuses
 * writes, as a locked GNOME keyring does; `calls` counts every call.
 */
export function memoryKeychain(opts: { fails?: string; locked?: boolean } = {}) {
  const entries = new Map<string, string>();
  const keychain = {
    entries,
    calls: 0,
    fails: opts.fails,
    locked: opts.locked ?? false,
    async get(name: string) {
      keychain.check();
      return keychain.locked ? null : (entries.get(name) ?? null);
    },
    async set(name: string, value: string) {
      keychain.check();
      if (keychain.locked) throw new Error("Cannot create an item in a locked collection (code: 2)");
      entries.set(name, value);
    },
    async delete(name: string) {
      keychain.check();
      return !keychain.locked && entries.delete(name);
    },
    check() {
      keychain.calls++;
      if (keychain.fails) throw new Error(keychain.fails);
    },
  };
  return keychain;
}

/** A world with a terminal on stdin and stderr: each read gets the next of `keys`; raw mode is recorded. */
export function terminalWorld(keys: string[]): Partial<World> & { rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const pending = [...keys];
  return {
    stdinIsTTY: true,
    stderrIsTTY: true,
    rawModes,
    rawMode: (on) => {
      rawModes.push(on);
    },
    readStdin: (buffer) => buffer.write(pending.shift() ?? "", "latin1"),
  };
}

/** A clock that only moves when the program sleeps: waits of seconds take no time. */
export function sleepyClock(): Pick<World, "now" | "sleep"> & { slept: () => number } {
  const start = Date.now();
  let now = start;
  return {
    now: () => now,
    sleep: (ms) => {
      now += ms;
    },
    slept: () => now - start,
  };
}

export interface Screen {
  screen: string;
  code: number;
  echo: boolean | null; // whether the terminal echoes again after the program ended
}

/** Runs the binary with `args` on a pseudo-terminal (tests/terminal.py), typing each of `keys` when asked. */
export async function onTerminal(
  args: string[],
  keys: string[] = [],
  opts: { home?: string; env?: Record<string, string> } = {},
): Promise<Screen> {
  const proc = Bun.spawn(["python3", join(import.meta.dir, "terminal.py"), BIN, ...keys], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: opts.home ?? tempDir(),
      TERM: "xterm",
      PTY_ARGS: JSON.stringify(args),
      ...opts.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [report, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (!report) throw new Error(`terminal.py failed: ${stderr}`);
  return JSON.parse(report);
}

export const has = (cmd: string) => Bun.which(cmd) !== null;
export const hasPython = has("python3");
export const hasCurl = has("curl");
export const isRoot = process.getuid?.() === 0;

/** Says out loud that a judge is missing, so a skip is never silent. */
export function noteSkip(what: string, why: string): void {
  console.warn(`SKIPPED ${what}: ${why}`);
}

/** `test` when `ready`; else a test the runner counts as skipped, announced with a SKIPPED line. */
export function testIf(ready: boolean, what: string, why: string): typeof test {
  if (!ready) noteSkip(what, why);
  return test.skipIf(!ready) as typeof test;
}

type PythonNetrc = [string, string, string] | null | { error: string };

/** What Python's netrc module (as the W&B SDK uses it) returns for a machine: [login, account, password] or null. */
export function pythonNetrc(path: string, machine: string): PythonNetrc {
  return pythonNetrcAll(path, [machine])[0];
}

/** The same for several machines, with one Python start (about 0.3 s here). */
export function pythonNetrcAll(path: string, machines: string[]): PythonNetrc[] {
  const script =
    "import netrc,sys,json\ndef look(m):\n  try:\n    return netrc.netrc(sys.argv[1]).authenticators(m)\n  except Exception as e:\n    return {'error': str(e)}\nprint(json.dumps([look(m) for m in sys.argv[2:]]))";
  const proc = Bun.spawnSync(["python3", "-c", script, path, ...machines], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return JSON.parse(proc.stdout.toString());
}

/** What Python's configparser reads from the [default] section. */
export function pythonSettings(path: string): Record<string, string> | { error: string } {
  const script =
    "import configparser,sys,json\ntry:\n  c=configparser.ConfigParser();c.read(sys.argv[1]);print(json.dumps(dict(c.items('default')) if c.has_section('default') else {}))\nexcept Exception as e:\n  print(json.dumps({'error': str(e)}))";
  const proc = Bun.spawnSync(["python3", "-c", script, path], { stdout: "pipe", stderr: "pipe" });
  return JSON.parse(proc.stdout.toString());
}

/**
 * Writes each sample and its update, then lets Python read both with `readBody` (the body of
 * `def read(path):`); gives [before, after] per sample, each `{ error }` when Python raised.
 */
export function pythonBeforeAfter<T>(
  samples: string[],
  update: (text: string) => string,
  readBody: string,
): (T & { error?: string })[][] {
  const dir = tempDir();
  samples.forEach((text, i) => {
    writeFileSync(join(dir, `${i}.before`), text, "latin1");
    writeFileSync(join(dir, `${i}.after`), update(text), "latin1");
  });
  const script = `import configparser, json, netrc, os, sys
def read(path):${readBody}
out = []
for i in range(int(sys.argv[2])):
    res = []
    for name in ("before", "after"):
        try:
            res.append(read(os.path.join(sys.argv[1], f"{i}.{name}")))
        except Exception as e:
            res.append({"error": f"{type(e).__name__}: {e}"})
    out.append(res)
print(json.dumps(out))`;
  const proc = Bun.spawnSync(["python3", "-c", script, dir, String(samples.length)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return JSON.parse(proc.stdout.toString());
}

export const read = (path: string) => readFileSync(path, "latin1");
export const modeOf = (path: string) => statSync(path).mode & 0o777;
export const exists = existsSync;

/** Every file below `dir` with its bytes, mode and mtime, to prove a command changed nothing. */
export function snapshot(dir: string): string {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = join(d, e.name);
      return e.isDirectory()
        ? [p, ...walk(p)]
        : [`${p} ${statSync(p).mtimeMs} ${statSync(p).mode} ${read(p)}`];
    });
  return walk(dir).join("\n");
}

/** A home with a settings file (optionally naming a host) and a netrc. */
export function homeWith(opts: { settingsKey?: string; settingsHost?: string; netrc?: string }): string {
  const home = tempDir();
  const cfg = join(home, ".config", "wandb");
  mkdirSync(cfg, { recursive: true });
  const lines = ["[default]"];
  if (opts.settingsKey) lines.push(`api_key = ${opts.settingsKey}`);
  if (opts.settingsHost) lines.push(`base_url = ${opts.settingsHost}`);
  writeFileSync(join(cfg, "settings"), `${lines.join("\n")}\n`);
  if (opts.netrc !== undefined) writeFileSync(join(home, ".netrc"), opts.netrc);
  return home;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A JWT-shaped token (unsigned: nobody checks the signature here) expiring `inSeconds` from now. */
export const jwt = (inSeconds = 3600, claims: object = {}) =>
  `${b64({ alg: "RS256" })}.${b64({ sub: "repo:acme/app", exp: Math.floor(Date.now() / 1000) + inSeconds, ...claims })}.c2lnbmF0dXJl`;

/** Every way the key could show up in output: itself and its Basic-auth encoding. */
export function leaks(text: string, key: string): boolean {
  return text.includes(key) || text.includes(Buffer.from(`api:${key}`).toString("base64"));
}

export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A fake W&B API on 127.0.0.1: answers the Viewer query for `viewers[key]`, 401 for other keys,
 * or whatever `answer` returns; records every request it received. `using` stops it.
 */
export function fakeApi(
  opts: {
    viewers?: Record<string, unknown>;
    answer?: (req: Request) => Response | Promise<Response | undefined> | undefined;
    tls?: { cert: string; key: string };
  } = {},
) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: opts.tls,
    idleTimeout: 0,
    async fetch(req) {
      const body = await req.text();
      const headers: Record<string, string> = {};
      req.headers.forEach((value, name) => {
        headers[name] = value;
      });
      seen.push({ method: req.method, url: req.url, headers, body });
      const custom = await opts.answer?.(req);
      if (custom) return custom;
      const auth = req.headers.get("authorization") ?? "";
      const key = Buffer.from(auth.replace(/^Basic /, ""), "base64")
        .toString()
        .replace(/^api:/, "");
      const viewer = opts.viewers?.[key];
      return viewer
        ? Response.json({ data: { viewer } })
        : new Response('{"errors":[{"message":"unauthorized"}]}', { status: 401 });
    },
  });
  const stop = () => server.stop(true);
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`,
    port: server.port,
    seen,
    stop,
    [Symbol.dispose]: stop,
  };
}

export const VIEWER = {
  id: "VXNlcjox",
  entity: "acme",
  username: "alice",
  email: "a@example.com",
  flags: null,
  teams: { edges: [{ node: { name: "acme" } }, { node: { name: "ml-team" } }] },
};

/** A little-endian u32, and xz's variable-length integer. */
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const varint = (n: number) => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  return Buffer.from([...out, n]);
};
const withCrc = (bytes: Buffer) => Buffer.concat([bytes, u32(Bun.hash.crc32(bytes))]);
const padTo4 = (length: number) => Buffer.alloc((4 - (length % 4)) % 4);

/**
 * `data` as a valid .xz file (one stream, one block, CRC32 check) made of uncompressed LZMA2
 * chunks: what `xz -dc` unpacks, in milliseconds to write.
 */
function storedXz(data: Buffer): Buffer {
  const flags = Buffer.from([0x00, 0x01]); // check: CRC32
  const streamHeader = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), withCrc(flags)]);
  // size 12 bytes, one filter: LZMA2 (0x21) with a 64 KiB dictionary
  const blockHeader = withCrc(Buffer.from([0x02, 0x00, 0x21, 0x01, 0x08, 0x00, 0x00, 0x00]));
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += 0x10000) {
    const piece = data.subarray(at, at + 0x10000);
    const head = Buffer.from([at === 0 ? 0x01 : 0x02, 0, 0]); // uncompressed; the first resets the dictionary
    head.writeUInt16BE(piece.length - 1, 1);
    chunks.push(head, piece);
  }
  chunks.push(Buffer.from([0x00])); // end of the LZMA2 data
  const packed = chunks.reduce((n, c) => n + c.length, 0);
  const unpadded = blockHeader.length + packed + 4;
  const indexBody = Buffer.concat([Buffer.from([0x00]), varint(1), varint(unpadded), varint(data.length)]);
  const index = withCrc(Buffer.concat([indexBody, padTo4(indexBody.length)]));
  const footer = Buffer.concat([u32(index.length / 4 - 1), flags]);
  return Buffer.concat([
    streamHeader,
    blockHeader,
    ...chunks,
    padTo4(blockHeader.length + packed),
    u32(Bun.hash.crc32(data)),
    index,
    Buffer.concat([u32(Bun.hash.crc32(footer)), footer, Buffer.from("YZ")]), // the stream footer
  ]);
}

/**
 * A release folder with the real binary under both x64 names (install.sh picks one by the CPU), packed as
 * a stored .xz (compressing 100 MB twice took most of install.test.ts's time), and its SHA256SUMS.
 */
export function realRelease(dir: string): void {
  const binary = readFileSync(BIN);
  const xz = storedXz(binary);
  const [binarySum, xzSum] = [sha256(binary), sha256(xz)];
  const names = ["wandb-login-linux-x64", "wandb-login-linux-x64-baseline"];
  writeFileSync(join(dir, `${names[0]}.xz`), xz);
  linkSync(join(dir, `${names[0]}.xz`), join(dir, `${names[1]}.xz`));
  const sums = names.map((name) => `${binarySum}  ${name}\n${xzSum}  ${name}.xz\n`);
  writeFileSync(join(dir, "SHA256SUMS"), sums.join(""));
}
