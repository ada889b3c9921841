// install.sh against a release folder served on 127.0.0.1, under sh, dash and busybox sh.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { build } from "../scripts/build";
import { packageRelease } from "../scripts/release";
import { BIN, has, tempDir, testIf } from "./helpers";

const INSTALL = join(import.meta.dir, "..", "install.sh");
const VERSION = require("../package.json").version;
const release = tempDir("wl-release-");
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  // The native binary under both names the installer may pick for this x64 machine.
  for (const name of ["wandb-login-linux-x64", "wandb-login-linux-x64-baseline"])
    copyFileSync(BIN, join(release, name));
  packageRelease(release, 1); // fast: the test is about checking, not size
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = join(release, decodeURIComponent(new URL(req.url).pathname)); // URL paths cannot climb above /
      return existsSync(path) ? new Response(Bun.file(path)) : new Response("not found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
}, 60_000);
afterAll(() => server?.stop(true));

/** Runs install.sh with `shell`, a clean environment and optionally a fake `uname` first on PATH. */
async function install(shell: string[], env: Record<string, string> = {}, uname?: string) {
  const work = tempDir("wl-install-");
  const bin = join(work, "bin");
  let path = process.env.PATH!;
  if (uname) {
    mkdirSync(join(work, "fake"));
    writeFileSync(
      join(work, "fake", "uname"),
      `#!/bin/sh\ncase "$1" in -s) echo ${uname.split(" ")[0]} ;; -m) echo ${uname.split(" ")[1]} ;; esac\n`,
    );
    chmodSync(join(work, "fake", "uname"), 0o755);
    path = `${join(work, "fake")}:${path}`;
  }
  const proc = Bun.spawn([...shell, INSTALL], {
    env: { PATH: path, HOME: work, WANDB_LOGIN_BASE_URL: base, WANDB_LOGIN_INSTALL_DIR: bin, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = [
    await proc.exited,
    await new Response(proc.stdout).text(),
    await new Response(proc.stderr).text(),
  ];
  return { code, stdout, stderr, bin, installed: existsSync(bin) ? readdirSync(bin) : [] };
}

const shells = [["sh"], ["dash"], ["busybox", "sh"]];

describe("install.sh", () => {
  for (const shell of shells) {
    const ready = has(shell[0]);
    testIf(
      ready,
      `install.sh under ${shell.join(" ")}`,
      `${shell[0]} not installed`,
    )(`installs a checked, working binary under ${shell.join(" ")}`, async () => {
      const r = await install(shell);
      expect(r.stderr).toContain("is not on your PATH");
      expect(r.code).toBe(0);
      expect(r.installed).toEqual(["wandb-login"]);
      expect(r.stdout.trim()).toMatch(
        new RegExp(
          `^wandb-login ${VERSION} installed to ${r.bin}/wandb-login \\(wandb-login-linux-x64(-baseline)?\\)$`,
        ),
      );
      const run = Bun.spawnSync([join(r.bin, "wandb-login"), "--version"], { stdout: "pipe" });
      expect(run.stdout.toString().trim()).toBe(VERSION);
    });
  }

  test("no PATH note when the folder is on PATH", async () => {
    const work = tempDir();
    const r = await install(["sh"], { WANDB_LOGIN_INSTALL_DIR: work, PATH: `${work}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("not on your PATH");
  });

  test.each([
    [
      "a tampered asset",
      (dir: string) => {
        const f = join(dir, "wandb-login-linux-x64.gz");
        const b = readFileSync(f);
        b[b.length - 100] ^= 1;
        writeFileSync(f, b);
      },
      /checksum mismatch/,
    ],
    [
      "a tampered checksum",
      (dir: string) =>
        writeFileSync(
          join(dir, "SHA256SUMS"),
          readFileSync(join(dir, "SHA256SUMS"), "utf8").replace(/^[0-9a-f]/gm, (c) =>
            c === "0" ? "1" : "0",
          ),
        ),
      /checksum mismatch/,
    ],
    [
      "a missing checksum",
      (dir: string) =>
        writeFileSync(
          join(dir, "SHA256SUMS"),
          readFileSync(join(dir, "SHA256SUMS"), "utf8")
            .split("\n")
            .filter((l) => !l.includes("linux-x64"))
            .join("\n"),
        ),
      /has no checksum/,
    ],
  ])("%s: exit non-zero, nothing installed", async (_, tamper, message) => {
    const saved = Object.fromEntries(readdirSync(release).map((n) => [n, readFileSync(join(release, n))]));
    try {
      tamper(release);
      const r = await install(["sh"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.installed).toEqual([]);
    } finally {
      for (const [n, bytes] of Object.entries(saved)) writeFileSync(join(release, n), bytes);
    }
  });

  test.each([
    ["SunOS x86_64", /operating system 'SunOS'/],
    ["Linux riscv64", /CPU 'riscv64'/],
    ["MINGW64_NT x86_64", /on Windows, download wandb-login-windows-x64.exe/],
  ])("an unsupported platform (%s) gets a clear error", async (uname, message) => {
    const r = await install(["sh"], {}, uname);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.installed).toEqual([]);
  });

  test("a missing asset (unknown version folder) fails naming the URL", async () => {
    const r = await install(["sh"], { WANDB_LOGIN_BASE_URL: `${base}/nope/` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("could not download");
    expect(r.installed).toEqual([]);
  });
});

const qemu = Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64");
const arm64Ready = !!qemu && existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1");

describe("cross-built binaries", () => {
  const needs = "qemu-user-static or libc6-arm64-cross not installed";
  testIf(arm64Ready, "arm64 under qemu", needs)(
    "the linux-arm64 build runs --version under qemu",
    () => {
      const out = join(tempDir(), "wandb-login-linux-arm64");
      build(out, "bun-linux-arm64");
      const run = Bun.spawnSync([qemu!, "-L", "/usr/aarch64-linux-gnu", out, "--version"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(run.stdout.toString().trim()).toBe(VERSION);
    },
    120_000,
  );
});
