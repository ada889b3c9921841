// Proof by injected faults (spec §5 [r4]), as SQLite's I/O-error and crash tests do it: every writing
// command runs once cleanly to learn its file-system calls, then once per call and fault with that
// call failing — each error a disk can give, a short write, and a crash that stops every later call
// (followed by the next run). The invariant: every file holds its old bytes or its new bytes and
// nothing else; a failed run leaves every file as it was and nothing beside it, says which file and
// why, and exits 1; a run that exits 0 stored everything; after the next run nothing is left behind.
import { afterAll, describe, expect, test } from "bun:test";
import * as realFs from "node:fs";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Fs, World } from "../login";
import { entry, KEY_V1, KEY40, runInProcess, tempDir, terminalWorld } from "./helpers";

const ERRORS = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EROFS: "read-only file system",
  EACCES: "permission denied",
} as const;
type Fault = keyof typeof ERRORS | "short write" | "crash";
const FAULTS: Fault[] = [...(Object.keys(ERRORS) as Fault[]), "short write", "crash"];

/** Thrown by every call once the run has "crashed": nothing after that point reaches the disk. */
class Crash extends Error {}

/**
 * node:fs with the `at`-th call (counting every function call) failing with `fault`; a rename onto
 * `mounted` is refused with EBUSY, as on a bind-mounted file. fsync is counted but skipped (a
 * disk's fsync would make each of thousands of runs slow; what it promises cannot be seen in-process).
 */
function faultyFs(plan: { at?: number; fault?: Fault; mounted?: string }) {
  const calls: string[] = [];
  let crashed = false;
  const call = (name: string, fn: (...a: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (crashed) throw new Crash();
      calls.push(name);
      if (calls.length === plan.at && plan.fault) {
        if (plan.fault === "crash") {
          crashed = true;
          throw new Crash();
        }
        if (plan.fault === "short write") return shortWrite(args);
        throw Object.assign(new Error(`${plan.fault}: ${ERRORS[plan.fault]}, ${name} '${args[0]}'`), {
          code: plan.fault,
          syscall: name,
        });
      }
      if (name === "renameSync" && plan.mounted !== undefined && args[1] === plan.mounted)
        throw Object.assign(new Error("EBUSY: resource busy or locked, rename"), { code: "EBUSY" });
      if (name === "fsyncSync") return undefined;
      return fn.apply(realFs, args);
    };
  const fs = new Proxy(realFs, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      const wrapped = call(String(prop), value);
      if (prop === "realpathSync")
        Object.assign(wrapped, { native: call("realpathSync.native", value.native) });
      return wrapped;
    },
  }) as Fs;
  return { fs, calls };
}

/** A write that writes only half of what it was asked (at least one byte). */
function shortWrite([fd, data, ...rest]: unknown[]): number {
  if (typeof data === "string") {
    const [position, encoding] = rest as [number | null, BufferEncoding];
    return realFs.writeSync(fd as number, data.slice(0, Math.ceil(data.length / 2)), position, encoding);
  }
  const [offset = 0, length = (data as Uint8Array).length - offset, position = null] = rest as number[];
  return realFs.writeSync(fd as number, data as Uint8Array, offset, Math.ceil(length / 2), position);
}

/** Every file and folder below the roots: its bytes and mode, folders as "dir". */
function snapshot(roots: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const mode = (statSync(path).mode & 0o777).toString(8);
      if (e.isDirectory()) {
        files.set(path, `dir ${mode}`);
        walk(path);
      } else files.set(path, `${mode} ${readFileSync(path, "latin1")}`);
    }
  };
  for (const root of roots) walk(root);
  return files;
}

const LEFTOVER = /\.(?:lock|tmp-\d+-.*|pending-\d+.*|lock\.stale-\d+)$/;

/** One writing command on one kind of file: how to set it up, and what to run. */
interface Path {
  name: string;
  args: string[];
  setup: (dirs: Dirs) => void;
  env?: (dirs: Dirs) => Record<string, string>;
  world?: (dirs: Dirs) => Partial<World>;
  mounted?: (dirs: Dirs) => string; // the file that cannot be renamed over
  next?: string[]; // the next run, where running this one again would not write again (default: it)
}
interface Dirs {
  home: string;
  cwd: string;
  runner: string;
}

const OTHERS = entry("a.example", KEY_V1) + entry("b.example", "local-".padEnd(50, "x"));
const LARGE = Array.from({ length: 12_000 }, (_, i) => entry(`host-${i}.example.com`, KEY40)).join("");
const OLD_KEY = "wandb_v1_old".padEnd(60, "o");
const NETRCS: Record<string, { text: string; mounted: boolean; key: string }> = {
  ordinary: { text: OTHERS + entry("api.wandb.ai", OLD_KEY), mounted: false, key: OLD_KEY },
  "large (over the 1 MiB chunk)": {
    text: LARGE + entry("api.wandb.ai", KEY_V1),
    mounted: false,
    key: KEY_V1,
  },
  "bind-mounted (rename refused)": {
    text: OTHERS + entry("api.wandb.ai", KEY_V1),
    mounted: true,
    key: KEY_V1,
  },
};
const NEW_KEY = "wandb_v1_new".padEnd(70, "n");

function netrcPaths(): Path[] {
  return Object.entries(NETRCS).flatMap(([kind, { text, mounted }]) => {
    const base = {
      setup: ({ home }: Dirs) => writeFileSync(join(home, ".netrc"), text, { mode: 0o600 }),
      mounted: mounted ? ({ home }: Dirs) => join(home, ".netrc") : undefined,
    };
    return [
      { ...base, name: `store, ${kind} netrc`, args: [NEW_KEY] },
      {
        ...base,
        name: `store with --host (settings written), ${kind} netrc`,
        args: ["--host", "https://wandb.example.com", NEW_KEY],
        setup: (dirs: Dirs) => {
          base.setup(dirs);
          mkdirSync(join(dirs.cwd, "wandb"));
          writeFileSync(
            join(dirs.cwd, "wandb", "settings"),
            "[default]\nbase_url = https://old.example\nproject = p\n",
          );
        },
      },
      {
        ...base,
        name: `--relogin at the prompt, ${kind} netrc`,
        args: ["--relogin"],
        world: () => terminalWorld([`${NEW_KEY}\r`]),
      },
      { ...base, name: `logout, ${kind} netrc`, args: ["logout"] },
      ...(kind.startsWith("large") ? [] : accountPaths(kind, base)), // the netrc write is store's
    ];
  });
}

/** The account commands, their keys in the accounts file (no keychain: WANDB_LOGIN_KEYCHAIN=0). */
function accountPaths(kind: string, base: Pick<Path, "setup" | "mounted">): Path[] {
  const env = () => ({ WANDB_LOGIN_KEYCHAIN: "0" });
  const withAccounts = (dirs: Dirs) => {
    base.setup(dirs);
    const folder = join(dirs.home, ".config", "wandb-login");
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const account = (name: string, key: string) => ({
      host: "https://api.wandb.ai",
      name,
      store: "file",
      key,
    });
    const accounts = [account("active", NETRCS[kind].key), account("other", NEW_KEY)];
    writeFileSync(join(folder, "accounts.json"), JSON.stringify({ version: 1, accounts }), { mode: 0o600 });
  };
  return [
    {
      ...base,
      env,
      name: `login --account (the old key kept as default), ${kind} netrc`,
      args: ["--account", "work", NEW_KEY],
    },
    { ...base, env, setup: withAccounts, name: `switch, ${kind} netrc`, args: ["switch", "other"] },
    {
      ...base,
      env,
      setup: withAccounts,
      name: `logout --account (the active one), ${kind} netrc`,
      args: ["logout", "--account", "active"],
      next: ["--account", "active", NETRCS[kind].key], // the account is gone: it comes back
    },
  ];
}

const JWT = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp: 4102444800 })).toString("base64url")}.sig`;
function identityPaths(): Path[] {
  return [false, true].map((mounted) => ({
    name: `identity --github-actions${mounted ? ", token file bind-mounted" : ""}`,
    args: ["identity", "--github-actions"],
    setup: ({ runner }: Dirs) => {
      writeFileSync(join(runner, "env"), "EARLIER=1\n");
      if (mounted) writeFileSync(join(runner, "wandb-identity-token"), "old.token.file\n", { mode: 0o600 });
    },
    env: ({ runner }: Dirs) => ({
      ACTIONS_ID_TOKEN_REQUEST_URL: "http://127.0.0.1:9/token?api-version=2.0",
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token-12345678",
      RUNNER_TEMP: runner,
      GITHUB_ENV: join(runner, "env"),
    }),
    world: () => ({ fetch: (async () => Response.json({ value: JWT })) as unknown as typeof fetch }),
    mounted: mounted ? ({ runner }: Dirs) => join(runner, "wandb-identity-token") : undefined,
  }));
}

/** What one run did: its exit, its output, and the files afterwards. */
async function runPath(
  path: Path,
  dirs: Dirs,
  pid: number,
  plan: { at?: number; fault?: Fault },
  args = path.args,
) {
  const { fs, calls } = faultyFs({ ...plan, mounted: path.mounted?.(dirs) });
  const world: Partial<World> = {
    fs,
    pid,
    isRunning: (p) => p === pid, // every other run is over: a crashed one left what it left
    now: () => 1_800_000_000_000 + pid,
    sleep: () => {},
    ...path.world?.(dirs),
  };
  const r = await runInProcess(args, { home: dirs.home, cwd: dirs.cwd, env: path.env?.(dirs), world });
  return { ...r, calls, files: snapshot([dirs.home]) };
}

/** The path's folders as its setup leaves them: every run starts from the same place. */
function freshDirs(path: Path, home: string): Dirs {
  rmSync(home, { recursive: true, force: true });
  const dirs = { home, cwd: join(home, "project"), runner: join(home, "runner") };
  mkdirSync(dirs.cwd, { recursive: true });
  mkdirSync(dirs.runner, { mode: 0o700 });
  path.setup(dirs);
  return dirs;
}

const differences = (got: Map<string, string>, want: Map<string, string>) =>
  [...new Set([...got.keys(), ...want.keys()])].filter((p) => got.get(p) !== want.get(p));

const tally: string[] = [];
afterAll(() => console.log(`fault injection, runs per path:\n${tally.join("\n")}`));

describe("every writing command, with a fault at every file-system call along its path", () => {
  for (const path of [...netrcPaths(), ...identityPaths()]) {
    test(path.name, async () => {
      let pid = 700_000;
      const home = tempDir("wl-fault-");
      const clean = freshDirs(path, home);
      const old = snapshot([clean.home]);
      const reference = await runPath(path, clean, ++pid, {});
      expect(reference.code).toBe(0);
      const want = reference.files;
      expect(differences(want, old).length).toBeGreaterThan(0); // it writes something
      const problems: string[] = [];
      let runs = 0;
      let nextRuns = 0;
      let broken = 0;
      for (let at = 1; at <= reference.calls.length; at++) {
        for (const fault of FAULTS) {
          if (fault === "short write" && reference.calls[at - 1] !== "writeSync") continue;
          const dirs = freshDirs(path, home);
          const r = await runPath(path, dirs, ++pid, { at, fault });
          runs++;
          const where = `${fault} at call ${at} (${reference.calls[at - 1]})`;
          const found = checkRun(r, old, want, fault, dirs).map((p) => `${where}: ${p}`);
          problems.push(...found);
          if (found.length) broken++;
          // the next run, where this one left something behind (else it is the clean run again)
          if (!differences(r.files, old).length || !differences(r.files, want).length) continue;
          nextRuns++;
          const next = await runPath(path, dirs, ++pid, {}, path.next);
          // another command next: its result depends on what this run got to; it must leave nothing
          const left = path.next
            ? [...next.files.keys()].filter((p) => LEFTOVER.test(p))
            : differences(next.files, want);
          if (next.code === 0 && !left.length) continue;
          problems.push(`${where}: the next run (exit ${next.code}) left ${left}`);
          if (!found.length) broken++;
        }
      }
      tally.push(
        `  ${path.name}: ${reference.calls.length} calls, ${runs} faulted runs (${runs - broken} held), ${nextRuns} next runs`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
    });
  }
});

/** What must hold of one faulted run. */
function checkRun(
  r: { code: number; stderr: string; files: Map<string, string> },
  old: Map<string, string>,
  want: Map<string, string>,
  fault: Fault,
  dirs: Dirs,
): string[] {
  const left = [...r.files.keys()].filter((p) => LEFTOVER.test(p));
  const files = new Map([...r.files].filter(([p]) => !LEFTOVER.test(p)));
  if (fault === "crash") {
    // a file rewritten in place may be torn, when the complete copy the next run finishes it from is there
    const torn = [...new Set([...files.keys(), ...want.keys()])].filter(
      (p) =>
        ![old.get(p), want.get(p)].includes(files.get(p)) && !left.some((l) => l.startsWith(`${p}.pending-`)),
    );
    return torn.length ? [`files neither old nor new: ${torn}`] : [];
  }
  if (r.code === 0) {
    const problems = differences(files, want).map((p) => `exit 0, but ${p} is not as a clean run leaves it`);
    if (left.length && !r.stderr.includes("The next run clears it"))
      problems.push(`exit 0 left ${left} without a word`);
    if (fault === "short write" && left.length) problems.push(`a short write left ${left}`);
    return problems;
  }
  const problems = differences(r.files, old).map((p) => `exit ${r.code}, but ${p} changed`);
  if (r.code !== 1) problems.push(`exit ${r.code}, not 1`);
  if (fault !== "short write" && !r.stderr.includes(`${ERRORS[fault]} (${fault})`))
    problems.push(`the message does not name the cause: ${r.stderr.trim()}`);
  if (![dirs.home, dirs.runner].some((d) => r.stderr.includes(d)))
    problems.push(`the message names no file: ${r.stderr.trim()}`);
  return problems;
}
