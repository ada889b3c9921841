// The Windows build, run for real: cross-compiled here, then run under wine with a prefix of its own
// (one wineboot for the file). Debian 12's wine 8 cannot load a Bun 1.4 .exe (it imports
// bcryptprimitives.dll's ProcessPrng, wine >= 9), so the test builds a stub of that DLL with mingw
// that forwards to RtlGenRandom and puts it next to the .exe. The hidden prompt is typed in tmux.
// Needs wine (Debian: wine64) and x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64); skipped without.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../scripts/build";
import {
  BIN,
  entry,
  fakeApi,
  MACHINE,
  has,
  KEY40,
  KEY_V1,
  type Run,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const VERSION: string = require("../package.json").version;
const MINGW = "x86_64-w64-mingw32-gcc";
const ready = has("wine") && has("wineboot") && has(MINGW) && process.platform === "linux";
const why = `needs wine and ${MINGW} (Debian: wine64 gcc-mingw-w64-x86-64)`;
const prompted = ready && has("tmux");

/** bcryptprimitives.dll for wine < 9: the one export Bun's .exe needs from it. */
const STUB_DLL = `#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
  while (size > 0) {
    ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    size -= chunk;
  }
  return TRUE;
}
`;

const work = tempDir("wl-wine-");
const EXE = join(work, "wandb-login.exe");
const PREFIX = join(work, "prefix");
const wineEnv: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: join(work, "home"), // the prefix's Desktop, Documents… link here, not into the real home
  WINEPREFIX: PREFIX,
  WINEDEBUG: "-all",
  WINEDLLOVERRIDES: "mscoree,mshtml=", // no Mono or Gecko installer at wineboot
};
const TMUX = join(work, "tmux.sock"); // a tmux server of our own (-S), its socket gone with `work`
let profile = ""; // %USERPROFILE% as Windows sees it, e.g. C:\users\root
let timings = "";
let keepAlive: ReturnType<typeof Bun.spawn> | undefined;

/** A Windows path in the prefix (C:\…, or Z:\ for the Unix root) as a Unix path. */
function unixPath(windows: string): string {
  const [drive, ...rest] = windows.split("\\");
  if (drive.toUpperCase() === "Z:") return `/${rest.join("/")}`;
  return join(PREFIX, `drive_${drive[0].toLowerCase()}`, ...rest);
}
const inProfile = (name: string) => `${profile}\\${name}`;

function wine(args: string[], env: Record<string, string> = {}, cwd = work): Run {
  const proc = Bun.spawnSync(["wine", ...args], {
    env: { ...wineEnv, ...env },
    cwd,
    timeout: 30_000, // a hang fails the test with what it printed, not the whole file
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}
const run = (args: string[], env: Record<string, string> = {}) => wine([EXE, ...args], env);

async function runAsync(args: string[]): Promise<Run> {
  const proc = Bun.spawn(["wine", EXE, ...args], { env: wineEnv, cwd: work, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Nothing from an earlier test: no netrc, no settings in the profile. */
function reset(): void {
  for (const name of ["_netrc", ".netrc", ".config", "custom", "AppData\\Roaming\\wandb-login"])
    rmSync(unixPath(inProfile(name)), { recursive: true, force: true });
  rmSync(unixPath("C:\\elsewhere"), { recursive: true, force: true });
}

const masked = (key: string) => `…${key.slice(-4)}`;

beforeAll(() => {
  if (!ready) return;
  const started = performance.now();
  build(EXE, "bun-windows-x64"); // fetches @oven/bun-windows-x64 from the npm registry once
  const built = performance.now();
  writeFileSync(join(work, "bcryptprimitives.c"), STUB_DLL);
  const dll = Bun.spawnSync(
    [MINGW, "-shared", "-O2", "-o", join(work, "bcryptprimitives.dll"), join(work, "bcryptprimitives.c")],
    { stderr: "pipe" },
  );
  if (dll.exitCode !== 0) throw new Error(`mingw: ${dll.stderr}`);
  mkdirSync(wineEnv.HOME);
  const boot = Bun.spawnSync(["wineboot", "-i"], {
    env: wineEnv,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  if (boot.exitCode !== 0) throw new Error(`wineboot: ${boot.stderr}`);
  profile = wine(["cmd", "/c", "echo %USERPROFILE%"]).stdout.trim();
  // a Windows process that lives as long as the tests keeps wineserver and wine's services up:
  // each run then starts in ≈0.2 s instead of 1–2.5 s
  keepAlive = Bun.spawn(["wine", "cmd"], {
    env: wineEnv,
    cwd: work,
    stdin: "pipe",
    stdout: "ignore",
    stderr: "ignore",
  });
  const booted = performance.now();
  timings = `cross-build ${((built - started) / 1000).toFixed(1)} s, stub DLL and wineboot ${((booted - built) / 1000).toFixed(1)} s`;
}, 180_000);

afterAll(() => {
  if (timings) console.log(`windows under wine: ${timings}`);
  (keepAlive?.stdin as import("bun").FileSink | undefined)?.end(); // cmd exits at the end of its input
  if (ready) Bun.spawnSync(["wineserver", "-k"], { env: wineEnv });
  if (prompted) Bun.spawnSync(["tmux", "-S", TMUX, "kill-server"]);
  rmSync(work, { recursive: true, force: true });
});

describe("the Windows build under wine", () => {
  testIf(
    ready,
    "Windows under wine",
    why,
  )("wine 8 loads the .exe only with the stub DLL beside it", () => {
    const alone = join(work, "alone"); // neither beside the .exe nor in the current folder
    mkdirSync(alone, { recursive: true });
    writeFileSync(join(alone, "wandb-login.exe"), readFileSync(EXE));
    const without = wine([join(alone, "wandb-login.exe"), "--version"], {}, alone);
    const major = Number(/wine-(\d+)/.exec(wine(["--version"]).stdout)?.[1]);
    if (major < 9) {
      expect(without.stdout).toBe("");
      expect(without.code).not.toBe(0);
    }
    expect(run(["--version"])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("--help is the Linux build's, byte for byte; --version", () => {
    const native = Bun.spawnSync([BIN, "--help"], { stdout: "pipe", env: { PATH: wineEnv.PATH } });
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(native.stdout.toString());
    expect(help.stdout).toContain("Usage");
    expect(run(["--version"]).stdout).toBe(`${VERSION}\n`);
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("accounts: their keys in Windows' Credential Manager (wine's), none in the accounts file", () => {
    reset();
    const credentials = () => wine(["reg", "query", "HKCU\\Software\\Wine\\Credential Manager", "/s"]).stdout;
    expect(run(["--account", "work", KEY40]).code).toBe(0);
    expect(run(["--account", "personal", KEY_V1]).code).toBe(0);
    const listed = run(["accounts"]).stdout;
    expect(listed).toMatch(/\* personal +OS keychain/);
    expect(listed).toMatch(/ {3}work +OS keychain/);
    expect(run(["token", "--account", "work"]).stdout).toBe(`${KEY40}\n`);
    expect(credentials()).toContain("Generic: wandb-login/https://api.wandb.ai work");
    expect(credentials()).not.toContain(KEY40);
    const index = readFileSync(unixPath(inProfile("AppData\\Roaming\\wandb-login\\accounts.json")), "utf8");
    expect(index).toContain('"store": "keychain"');
    expect(index).not.toContain(KEY40);
    expect(run(["logout", "--account", "work"]).code).toBe(0);
    expect(credentials()).not.toContain("api.wandb.ai work");
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("a store writes %USERPROFILE%\\_netrc, upstream's layout", () => {
    reset();
    const r = run([KEY40]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Appending key for api.wandb.ai to your netrc file: ${inProfile("_netrc")}\n`);
    expect(readFileSync(unixPath(inProfile("_netrc")), "latin1")).toBe(entry(MACHINE, KEY40));
    expect(existsSync(unixPath(inProfile(".netrc")))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(KEY40);
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("--json on a store: one object on stdout", () => {
    reset();
    const r = run(["--json", KEY_V1]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      host: "https://api.wandb.ai",
      machine: "api.wandb.ai",
      source: "argument",
      stored: true,
      netrc: inProfile("_netrc"),
    });
    expect(readFileSync(unixPath(inProfile("_netrc")), "latin1")).toBe(entry(MACHINE, KEY_V1));
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("status names the _netrc and the masked key, in text and --json", () => {
    reset();
    expect(run([KEY40]).code).toBe(0);
    const text = run(["status"]);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain(`Netrc file: ${inProfile("_netrc")}`);
    expect(text.stderr).toContain(`API key: ${masked(KEY40)} from ${inProfile("_netrc")}`);
    expect(text.stderr + text.stdout).not.toContain(KEY40);
    const json = run(["status", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      machine: "api.wandb.ai",
      netrc: { path: inProfile("_netrc"), exists: true, regular: true },
      source: inProfile("_netrc"),
      key: masked(KEY40),
      configured: true,
    });
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("logout removes the entry, --json says so; status then finds none", () => {
    reset();
    writeFileSync(unixPath(inProfile("_netrc")), `machine other.example\n  login user\n  password x\n`);
    expect(run([KEY40]).code).toBe(0);
    const r = run(["logout", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ machine: "api.wandb.ai", removed: true, source: null });
    expect(readFileSync(unixPath(inProfile("_netrc")), "latin1")).toBe(
      "machine other.example\n  login user\n  password x\n",
    );
    const status = run(["status"]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("No API key configured for https://api.wandb.ai");
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("NETRC=C:\\… writes that file and no other", () => {
    reset();
    mkdirSync(unixPath(inProfile("custom")));
    const netrc = inProfile("custom\\netrc.txt");
    const r = run([KEY40], { NETRC: netrc });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`your netrc file: ${netrc}\n`);
    expect(readFileSync(unixPath(netrc), "latin1")).toBe(entry(MACHINE, KEY40));
    expect(existsSync(unixPath(inProfile("_netrc")))).toBe(false);
    expect(JSON.parse(run(["status", "--json"], { NETRC: netrc }).stdout).key).toBe(masked(KEY40));
  });

  testIf(
    ready,
    "Windows under wine",
    why,
  )("--verify against a loopback API: the key is sent, the identity shown, host and key stored", async () => {
    reset();
    const api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    try {
      const r = await runAsync(["--host", api.url, "--verify", KEY40]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("alice");
      expect(api.seen.at(-1)?.headers.authorization).toBe(`Basic ${btoa(`api:${KEY40}`)}`);
      const machine = new URL(api.url).host;
      expect(readFileSync(unixPath(inProfile("_netrc")), "latin1")).toBe(entry(machine, KEY40));
      const settings = readFileSync(unixPath(inProfile(".config\\wandb\\settings")), "utf8");
      expect(settings).toContain(`base_url = ${api.url}`);
    } finally {
      api.stop();
    }
  });
});

// --- the hidden prompt, typed in tmux (a server of our own) ---

let panes = 0;

interface Pane {
  name: string;
  screen: () => string;
  keys: (...keys: string[]) => void;
  literal: (text: string) => void;
  /** Waits until `done(screen)`; returns the screen. Throws after `seconds`. */
  until: (done: (screen: string) => boolean, seconds?: number) => Promise<string>;
  /** The exit code and the terminal's stty once the program ended, or null while it runs. */
  ended: () => { code: number; echo: boolean } | null;
}

/** Starts the .exe in a new tmux window (a terminal of its own) with `args`. */
function pane(args: string[]): Pane {
  const name = `p${++panes}`;
  const done = join(work, `${name}.done`);
  const env = Object.entries(wineEnv).map(([k, v]) => `${k}='${v}'`);
  const command = `env ${env.join(" ")} wine '${EXE}' ${args.join(" ")}; code=$?; stty -a > '${done}.stty'; echo $code > '${done}'; sleep 600`;
  const tmux = (...a: string[]) =>
    Bun.spawnSync(["tmux", "-S", TMUX, "-f", "/dev/null", ...a], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 10_000,
    });
  // no pipes here: the tmux server this may start would hold them open, and spawnSync wait for it
  const started = Bun.spawnSync(
    [
      "tmux",
      "-S",
      TMUX,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      "120",
      "-y",
      "40",
      command,
    ],
    { stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 10_000 },
  );
  if (started.exitCode !== 0)
    throw new Error(`tmux new-session: exit ${started.exitCode} ${started.signalCode}`);
  const screen = () => tmux("capture-pane", "-p", "-J", "-t", name, "-S", "-100").stdout.toString();
  return {
    name,
    screen,
    keys: (...keys) => tmux("send-keys", "-t", name, ...keys),
    literal: (text) => tmux("send-keys", "-t", name, "-l", text),
    async until(ok, seconds = 20) {
      const deadline = performance.now() + seconds * 1000;
      for (;;) {
        const now = screen();
        if (ok(now)) return now;
        if (performance.now() > deadline) {
          const sessions =
            tmux("ls").stdout.toString() + tmux("capture-pane", "-p", "-t", name).stderr.toString();
          throw new Error(`timed out; tmux: ${sessions}; the screen:\n${now}`);
        }
        await Bun.sleep(100);
      }
    },
    ended() {
      if (!existsSync(done) || !readFileSync(done, "utf8").trim()) return null;
      const stty = readFileSync(`${done}.stty`, "utf8");
      return { code: Number(readFileSync(done, "utf8")), echo: /(^|\s)echo(\s|$)/.test(stty) };
    },
  };
}
const PROMPT = "Paste your API key and hit enter:";

/**
 * Waits for the prompt, then 1 s more, as tests/terminal.py does: login.ts prints the prompt before
 * it turns echo off, and under wine the terminal changes mode later still, so a key sent at once is
 * echoed (or, for Ctrl-D, taken by the terminal's line editing). Returns the screen at the prompt.
 */
async function atPrompt(p: Pane): Promise<string> {
  const screen = await p.until((s) => s.includes(PROMPT));
  await Bun.sleep(1000);
  return screen;
}

async function ended(p: Pane, seconds = 20) {
  await p.until(() => p.ended() !== null, seconds);
  return p.ended()!;
}

describe("the hidden prompt under wine, typed in tmux", () => {
  const skip = `${why}, and tmux`;
  testIf(prompted, "Windows prompt in tmux", skip)(
    "a key typed at the prompt is stored, never shown; the terminal echoes again after",
    async () => {
      reset();
      const p = pane([]);
      await atPrompt(p);
      p.literal(KEY40);
      p.keys("Enter");
      const end = await ended(p);
      expect(end).toEqual({ code: 0, echo: true });
      expect(p.screen()).not.toContain(KEY40);
      expect(p.screen()).toContain(`Stored the API key ${masked(KEY40)}`);
      expect(readFileSync(unixPath(inProfile("_netrc")), "latin1")).toBe(entry(MACHINE, KEY40));
    },
    40_000,
  );
});

// --- spec §11 (Windows) ---
// The runs happen in beforeAll, and the "ran" tests check them: a run that breaks for another reason
// fails there, not in the assertion about it.
describe("spec §11 (Windows): the home, mode bits, the prompt", () => {
  const seen = {
    home: null as Run | null, // a store with HOME=C:\elsewhere in the Windows environment
    homeFiles: { elsewhere: false, profile: null as string | null },
    writes: [] as Run[], // store, store over it, logout
    status: null as Run | null,
    statusJson: null as { netrc: { mode: string | null; safe: boolean } } | null,
    hint: "", // the screen at the prompt
    hintEnd: null as { code: number; echo: boolean } | null,
    ctrlC: { screen: "", code: -1, echo: false, written: true, prompted: false },
  };

  beforeAll(async () => {
    if (!ready) return;
    reset();
    mkdirSync(unixPath("C:\\elsewhere"));
    // wine keeps the Unix HOME out of the Windows environment and puts WINEHOME there as HOME:
    // a HOME other than the profile, as git-bash sets it
    seen.home = run([KEY40], { WINEHOME: "C:\\elsewhere" });
    const profileNetrc = unixPath(inProfile("_netrc"));
    seen.homeFiles = {
      elsewhere: existsSync(unixPath("C:\\elsewhere\\_netrc")),
      profile: existsSync(profileNetrc) ? readFileSync(profileNetrc, "latin1") : null,
    };
    reset();
    seen.writes = [run([KEY40]), run([KEY_V1]), run(["logout"])];
    reset();
    run([KEY40]);
    seen.status = run(["status"]);
    seen.statusJson = JSON.parse(run(["status", "--json"]).stdout);
    if (!prompted) return;
    reset();
    const hint = pane([]);
    seen.hint = await atPrompt(hint);
    hint.keys("C-d"); // Enter would only ask again
    seen.hintEnd = await ended(hint);
    reset();
    const p = pane([]);
    await atPrompt(p);
    seen.ctrlC.prompted = true;
    p.literal("abc");
    p.keys("C-c");
    await Bun.sleep(3000);
    if (!p.ended()) p.keys("C-d"); // Ctrl-C ignored (wine cannot deliver it as input): Ctrl-D ends it
    const end = await ended(p);
    seen.ctrlC = { ...seen.ctrlC, ...end, screen: p.screen(), written: existsSync(profileNetrc) };
  }, 120_000);

  testIf(
    ready,
    "spec §11 runs",
    why,
  )("ran: each store, logout and status below exited 0", () => {
    expect(seen.home?.code).toBe(0);
    expect(seen.writes.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(seen.status?.code).toBe(0);
    expect(seen.status?.stderr).toContain(`Netrc file: ${inProfile("_netrc")}`);
  });

  testIf(
    prompted,
    "spec §11 prompt runs",
    `${why}, and tmux`,
  )("ran: the prompt showed, Ctrl-D ended it, Ctrl-C was pressed at it", () => {
    expect(seen.hint).toContain(PROMPT);
    expect(seen.hintEnd?.code).toBe(1); // "No key entered."
    expect(seen.ctrlC.prompted).toBe(true);
  });

  testIf(
    ready,
    "spec §11 runs",
    why,
  )(
    "the home folder is USERPROFILE's, not HOME's: with HOME set, the key lands in %USERPROFILE%\\_netrc",
    () => {
      expect(seen.homeFiles).toEqual({ elsewhere: false, profile: entry(MACHINE, KEY40) });
    },
  );

  testIf(
    ready,
    "spec §11 runs",
    why,
  )('no "Tightened the permissions" note on a store, a store over it, or a logout', () => {
    expect(seen.writes.map((r) => r.stderr).join("")).not.toContain("Tightened the permissions");
  });

  testIf(
    ready,
    "spec §11 runs",
    why,
  )("status gives no chmod advice, and --json no mode", () => {
    expect(seen.status?.stderr).not.toContain("chmod");
    expect(seen.statusJson?.netrc).toMatchObject({ mode: null, safe: true });
  });

  testIf(
    prompted,
    "spec §11 prompt runs",
    `${why}, and tmux`,
  )("the prompt's hint names Ctrl-Z (Windows' end of input), not Ctrl-D", () => {
    expect(seen.hint).toContain("Ctrl-Z");
    expect(seen.hint).not.toContain("Ctrl-D");
  });

  testIf(
    prompted,
    "spec §11 prompt runs",
    `${why}, and tmux`,
  )(
    "Ctrl-C at the prompt is safe: no crash report, exit 130 (or the prompt waits on), nothing written, echo on",
    () => {
      expect(seen.ctrlC.screen).not.toMatch(/panic|Bun has crashed|Segmentation fault/);
      expect([130, 1]).toContain(seen.ctrlC.code);
      expect(seen.ctrlC.echo).toBe(true);
      expect(seen.ctrlC.written).toBe(false);
    },
  );
});
