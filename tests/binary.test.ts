// What only the compiled binary shows: its start-up (the quick --help/--version answer, the real
// stdin and stdout), what it autoloads (nothing), native crashes, and a smoke run of each command
// so the binary stays covered end to end.
import { describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BIN,
  entry,
  fakeApi,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  modeOf,
  PACKAGE_VERSION,
  read,
  runCli,
  runCliAsync,
  tempDir,
  VIEWER,
} from "./helpers";

describe("start-up", () => {
  test("--help and --version print on stdout and exit 0", () => {
    const help = runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--relogin");
    expect(help.stdout).toMatch(/wandb-login status/);
    expect(help.stdout).toMatch(/wandb-login logout/);
    expect(help.stdout).not.toContain("\x1b[");
    expect(help.stderr).toBe("");
    const version = runCli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(PACKAGE_VERSION);
  });

  test("help and version work as words, like the flags", () => {
    const help = runCli(["--help"]).stdout;
    for (const word of ["help", "-h"]) expect(runCli([word])).toEqual({ code: 0, stdout: help, stderr: "" });
    for (const word of ["version", "-v"]) {
      expect(runCli([word])).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: "" });
    }
  });

  test("no key and no terminal: exit 1 at once, naming the non-interactive ways, even with an open stdin", async () => {
    const home = tempDir();
    const proc = Bun.spawn([BIN], {
      env: { PATH: process.env.PATH!, HOME: home },
      stdin: "pipe",
      stderr: "pipe",
      stdout: "pipe",
    });
    const timer = setTimeout(() => proc.kill(), 5000);
    const [code, stderr] = [await proc.exited, await new Response(proc.stderr).text()];
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stderr).toContain("No API key configured.");
    expect(stderr).toContain("--stdin");
    expect(stderr).toContain("WANDB_API_KEY");
    expect(readdirSync(home)).toEqual([]);
  });

  test("--stdin < /dev/zero stops at 64 KiB", () => {
    const proc = Bun.spawnSync([BIN, "--stdin"], {
      env: { PATH: process.env.PATH ?? "", HOME: tempDir() },
      stdin: Bun.file("/dev/zero"),
      stderr: "pipe",
      timeout: 10_000,
    });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain("No key line found in the first 64 KiB of standard input.");
  });

  test("a closed stdout is not a crash", () => {
    for (const args of [["--help"], ["--json", KEY40]]) {
      const home = tempDir();
      const proc = Bun.spawnSync(
        ["bash", "-c", `"$0" "$@" | head -c0; echo "\${PIPESTATUS[0]}"`, BIN, ...args],
        { env: { PATH: process.env.PATH!, HOME: home }, stdout: "pipe", stderr: "pipe" },
      );
      expect(proc.stdout.toString().trim()).toBe("0");
      expect(proc.stderr.toString()).not.toMatch(/EPIPE|at |Error/);
    }
  });

  test("a .env and a bunfig.toml in the current folder are ignored", () => {
    const home = tempDir();
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), `WANDB_API_KEY=${KEY40}\nWANDB_BASE_URL=http://evil.example\n`);
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(
      join(cwd, "evil.ts"),
      `require("fs").writeFileSync(${JSON.stringify(join(cwd, "pwned"))}, "x");`,
    );
    const r = runCli([], { home, cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No API key configured");
    expect(readdirSync(cwd).sort()).toEqual([".env", "bunfig.toml", "evil.ts"]);
  });
});

describe("a native crash prints no key and sends nothing", () => {
  test.each(["SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGTRAP"] as const)(
    "%s during --verify: the key is not in stderr",
    async (signal) => {
      const reports: string[] = [];
      using collector = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (req) => {
          reports.push(req.url);
          return new Response("ok");
        },
      });
      const { promise: arrived, resolve: seen } = Promise.withResolvers<void>();
      using api = fakeApi({
        answer: () => {
          seen();
          return new Promise<Response>(() => {}); // never answers
        },
      });
      const proc = Bun.spawn([BIN, "--verify", "--host", api.url, KEY_V1], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: tempDir(),
          BUN_CRASH_REPORT_URL: `http://127.0.0.1:${collector.port}`,
          BUN_ENABLE_CRASH_REPORTING: "1",
        },
        stdout: "pipe",
        stderr: "pipe",
      });
      await arrived;
      proc.kill(signal);
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code).not.toBe(0);
      expect(proc.signalCode).toBe(signal); // died of it, with the default action: no handler ran
      expect(leaks(stderr, KEY_V1)).toBe(false);
      expect(stderr).not.toContain(KEY_V1.slice(9, 30));
      await Bun.sleep(200);
      expect(reports).toEqual([]);
    },
    15_000,
  );
});

describe("smoke: one run of each command through the binary", () => {
  test("a key piped to --stdin is stored; status finds it; --verify asks the server, as this version", async () => {
    const home = tempDir();
    const store = runCli(["--stdin"], { home, stdin: `${KEY_V1}\n` });
    expect(store.code).toBe(0);
    expect(store.stdout).toBe("");
    expect(store.stderr).toContain(
      `Appending key for api.wandb.ai to your netrc file: ${join(home, ".netrc")}`,
    );
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY_V1));
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(readdirSync(home)).toEqual([".netrc"]);

    const status = runCli(["status", "--json"], { home });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      host: "https://api.wandb.ai",
      source: join(home, ".netrc"),
      key: `wandb_v1_…${KEY_V1.slice(-4)}`,
      configured: true,
    });
    expect(leaks(store.stderr + status.stdout + status.stderr, KEY_V1)).toBe(false);

    using api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    const verify = await runCliAsync(["--verify", "--json", "--host", api.url, KEY40], { home });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ verified: true, username: "alice", stored: true });
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0].headers.authorization).toBe(basic(KEY40));
    expect(api.seen[0].headers["user-agent"]).toBe(`wandb-login/${PACKAGE_VERSION}`);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY_V1) + entry(`127.0.0.1:${api.port}`, KEY40));
  });
});

const basic = (key: string) => `Basic ${Buffer.from(`api:${key}`).toString("base64")}`;
