// Shared test helpers: run the compiled binary as a user would, and ask real clients to judge.
import { test } from "bun:test";
import { mkdtempSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BIN = join(import.meta.dir, "..", "dist", "wandb-login");
export const KEY40 = "0123456789abcdef0123456789abcdef01234567";
export const KEY_V1 = `wandb_v1_${"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-".repeat(2)}aBcDeFgHiJkLmN`;

export function tempDir(prefix = "wl-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
  const proc = Bun.spawnSync([BIN, ...args], {
    ...cliSetup(opts),
    stdout: "pipe",
    stderr: "pipe",
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
  });
  return { code: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** Same as runCli, without blocking the event loop (for tests that also serve HTTP). */
export async function runCliAsync(args: string[], opts: RunOptions = {}): Promise<Run> {
  const proc = Bun.spawn([BIN, ...args], {
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

export const has = (cmd: string) => Bun.which(cmd) !== null;
export const hasPython = has("python3");
export const hasCurl = has("curl");

/** Says out loud that a judge is missing, so a skip is never silent. */
export function noteSkip(what: string, why: string): void {
  console.warn(`SKIPPED ${what}: ${why}`);
}

/** `test` when `ready`; else a test the runner counts as skipped, announced with a SKIPPED line. */
export function testIf(ready: boolean, what: string, why: string): typeof test {
  if (!ready) noteSkip(what, why);
  return test.skipIf(!ready) as typeof test;
}

/** What Python's netrc module (as the W&B SDK uses it) returns for a machine: [login, account, password] or null. */
export function pythonNetrc(
  path: string,
  machine: string,
): [string, string, string] | null | { error: string } {
  const script =
    "import netrc,sys,json\ntry:\n  print(json.dumps(netrc.netrc(sys.argv[1]).authenticators(sys.argv[2])))\nexcept Exception as e:\n  print(json.dumps({'error': str(e)}))";
  const proc = Bun.spawnSync(["python3", "-c", script, path, machine], { stdout: "pipe", stderr: "pipe" });
  return JSON.parse(proc.stdout.toString());
}

/** What Python's configparser reads from the [default] section. */
export function pythonSettings(path: string): Record<string, string> | { error: string } {
  const script =
    "import configparser,sys,json\ntry:\n  c=configparser.ConfigParser();c.read(sys.argv[1]);print(json.dumps(dict(c.items('default')) if c.has_section('default') else {}))\nexcept Exception as e:\n  print(json.dumps({'error': str(e)}))";
  const proc = Bun.spawnSync(["python3", "-c", script, path], { stdout: "pipe", stderr: "pipe" });
  return JSON.parse(proc.stdout.toString());
}

export const read = (path: string) => readFileSync(path, "latin1");
export const modeOf = (path: string) => statSync(path).mode & 0o777;
export const exists = existsSync;

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
 * or whatever `answer` returns; records every request it received.
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
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`,
    port: server.port,
    seen,
    stop: () => server.stop(true),
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
