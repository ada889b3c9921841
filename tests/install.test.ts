// install.sh against release folders served on 127.0.0.1, under sh, dash and busybox sh. Most
// tests serve stand-in binaries (a script printing a version): they are about the installer, and
// run in milliseconds; one installs the real binary end to end, packed as an .xz that stores it
// uncompressed (compressing 100 MB twice took most of this file's time).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { build } from "../scripts/build";
import { packageRelease } from "../scripts/release";
import { has, PACKAGE_VERSION, realRelease, tempDir, testIf } from "./helpers";

const INSTALL = join(import.meta.dir, "..", "install.sh");
const LINUX_ASSETS = ["x64", "x64-baseline", "arm64", "x64-musl", "arm64-musl"].map(
  (a) => `wandb-login-linux-${a}`,
);
const served: string[] = []; // every path the release server was asked for
let server: ReturnType<typeof Bun.serve>;
let origin: string;

/** A release folder of stand-ins: each asset is a script that prints `version` (or fails). */
function stubRelease(version = "9.9.9", runs = true): string {
  const dir = tempDir("wl-release-");
  for (const name of LINUX_ASSETS) {
    writeFileSync(
      join(dir, name),
      runs ? `#!/bin/sh\necho ${version}\n` : "#!/bin/sh\necho 'cannot run' >&2\nexit 3\n",
    );
  }
  packageRelease(dir, true);
  return dir;
}
const stubs = stubRelease();
const broken = stubRelease("0.0.0", false);
const real = tempDir("wl-release-");

beforeAll(() => {
  realRelease(real);
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname); // URL paths cannot climb above /
      served.push(path);
      return existsSync(path) ? new Response(Bun.file(path)) : new Response("not found", { status: 404 });
    },
  });
  origin = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

interface InstallOptions {
  shell?: string[];
  release?: string; // served folder (default: the stand-ins)
  args?: string[];
  env?: Record<string, string>;
  uname?: string; // "Linux x86_64": a fake uname first on PATH
  ldd?: string; // what a fake `ldd --version` prints
  withoutXz?: boolean;
  offline?: boolean; // a curl that cannot reach anything
  dir?: string;
}

/** A PATH of links to the real tools, plus fakes, minus what the test takes away. */
function toolPath(work: string, opts: InstallOptions): string {
  const tools = join(work, "tools");
  mkdirSync(tools);
  const real = ["sh", "dash", "busybox", "curl", "sha256sum", "awk", "cut", "gzip", "xz", "mktemp", "chmod"];
  for (const name of [...real, "cp", "mv", "mkdir", "rm", "grep", "id", "uname", "cat", "ldd", "ls"]) {
    const found = Bun.which(name);
    if (found && !(opts.withoutXz && name === "xz")) symlinkSync(found, join(tools, name));
  }
  const fake = (name: string, body: string) => {
    const file = join(tools, name);
    rmSync(file, { force: true });
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  };
  if (opts.uname) {
    const [os, cpu] = opts.uname.split(" ");
    fake("uname", `case "$1" in -s) echo ${os} ;; -m) echo ${cpu} ;; esac`);
  }
  if (opts.ldd) fake("ldd", `echo '${opts.ldd}'`);
  if (opts.offline) fake("curl", "exit 6");
  return tools;
}

/** Runs install.sh as a user would, in a temp HOME, against a release served on 127.0.0.1. */
async function install(opts: InstallOptions = {}) {
  const work = tempDir("wl-install-");
  const dir = opts.dir ?? join(work, "bin");
  const env: Record<string, string> = {
    PATH: toolPath(work, opts),
    HOME: work,
    WANDB_LOGIN_BASE_URL: `${origin}${opts.release ?? stubs}`,
    WANDB_LOGIN_INSTALL_DIR: dir,
    ...opts.env,
  };
  served.length = 0;
  const proc = Bun.spawn([...(opts.shell ?? ["sh"]), INSTALL, ...(opts.args ?? [])], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  const installed = existsSync(dir) ? readdirSync(dir) : [];
  return { code, stdout, stderr, dir, installed, requested: served.map((p) => p.split("/").at(-1)) };
}

const runs = (file: string) =>
  Bun.spawnSync([file, "--version"], { stdout: "pipe" }).stdout.toString().trim();

describe("install.sh installs a checked binary that runs", () => {
  for (const shell of [["sh"], ["dash"], ["busybox", "sh"]]) {
    testIf(
      has(shell[0]),
      `install.sh under ${shell.join(" ")}`,
      `${shell[0]} not installed`,
    )(`under ${shell.join(" ")}`, async () => {
      const r = await install({ shell, uname: "Linux x86_64", ldd: "ldd (Debian GLIBC 2.36-9) 2.36" });
      expect(r.code).toBe(0);
      expect(r.installed).toEqual(["wandb-login"]);
      expect(r.stdout.trim()).toMatch(
        new RegExp(
          `^wandb-login 9\\.9\\.9 installed to ${r.dir}/wandb-login \\(wandb-login-linux-x64(-baseline)?\\)$`,
        ),
      );
      expect(r.stderr).toContain("is not on your PATH");
      expect(runs(join(r.dir, "wandb-login"))).toBe("9.9.9");
    });
  }

  test("the real binary, end to end: .xz where xz is installed, and it runs", async () => {
    const r = await install({ release: real });
    expect(r.code).toBe(0);
    expect(r.requested).toEqual([
      "SHA256SUMS",
      expect.stringMatching(/^wandb-login-linux-x64(-baseline)?\.xz$/),
    ]);
    expect(runs(join(r.dir, "wandb-login"))).toBe(PACKAGE_VERSION);
  }, 60_000);

  test("without xz it takes the .gz", async () => {
    const r = await install({ withoutXz: true });
    expect(r.code).toBe(0);
    expect(r.requested[1]).toMatch(/\.gz$/);
  });

  test("--quiet prints nothing at all on success", async () => {
    const work = tempDir();
    const r = await install({ args: ["--quiet"], dir: work, env: {} });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.installed).toEqual(["wandb-login"]);
  });
});

describe("a working install is never broken", () => {
  test("a new binary that does not run is refused from its temp folder; the old one stays", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "wandb-login"), "#!/bin/sh\necho 1.0.0\n", { mode: 0o755 });
    const r = await install({ release: broken, dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "does not run on this machine (cannot run); nothing was installed or replaced.",
    );
    expect(readdirSync(dir)).toEqual(["wandb-login"]);
    expect(runs(join(dir, "wandb-login"))).toBe("1.0.0");
  });

  test.each([
    [
      "a tampered asset",
      (dir: string) => {
        const f = join(dir, "wandb-login-linux-x64.xz");
        const b = readFileSync(f);
        b[b.length - 10] ^= 1;
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
  ])("%s: exit 1, the old binary untouched", async (_, tamper, message) => {
    const release = stubRelease();
    tamper(release);
    const dir = tempDir();
    writeFileSync(join(dir, "wandb-login"), "#!/bin/sh\necho 1.0.0\n", { mode: 0o755 });
    const r = await install({ release, dir, uname: "Linux x86_64", ldd: "ldd (GNU libc) 2.36" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(dir)).toEqual(["wandb-login"]);
    expect(runs(join(dir, "wandb-login"))).toBe("1.0.0");
  });
});

describe("the right asset", () => {
  test.each([
    ["ldd (Debian GLIBC 2.36-9) 2.36", "wandb-login-linux-arm64.xz"],
    ["musl libc (aarch64)", "wandb-login-linux-arm64-musl.xz"],
  ])("musl is what ldd says, not whether an ld-musl file exists: %p", async (ldd, asset) => {
    const r = await install({ uname: "Linux aarch64", ldd });
    expect(r.code).toBe(0);
    expect(r.requested[1]).toBe(asset);
  });

  test("install.sh never judges by /lib/ld-musl-* (Debian's musl package installs it on glibc systems)", () => {
    expect(readFileSync(INSTALL, "utf8")).not.toMatch(/ls \/lib\/ld-musl|\[ -e \/lib\/ld-musl/);
  });

  test.each([
    ["SunOS x86_64", /operating system 'SunOS'/],
    ["Linux riscv64", /CPU 'riscv64'/],
    ["MINGW64_NT x86_64", /on Windows, download wandb-login-windows-x64.exe/],
  ])("an unsupported platform (%s) gets a clear error", async (uname, message) => {
    const r = await install({ uname });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.installed).toEqual([]);
  });

  test("a missing asset (unknown version folder) fails naming the URL", async () => {
    const r = await install({ env: { WANDB_LOGIN_BASE_URL: `${origin}/nope/` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not download ${origin}/nope/SHA256SUMS`);
    expect(r.installed).toEqual([]);
  });
});

describe("arguments", () => {
  test("--help prints usage, downloads and installs nothing", async () => {
    const r = await install({ args: ["--help"] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: sh install.sh [OPTIONS]");
    expect(r.stdout).toContain("--uninstall");
    expect(r.requested).toEqual([]);
    expect(r.installed).toEqual([]);
  });

  test("--version picks the release folder", async () => {
    const r = await install({
      args: ["--version", "1.2.3"],
      env: { WANDB_LOGIN_BASE_URL: "" },
      offline: true,
    });
    expect(r.code).toBe(1); // offline: the URL it tried says which release it wanted
    expect(r.stderr).toContain("releases/download/v1.2.3/SHA256SUMS");
  });

  test("--dir installs there; --yes is accepted", async () => {
    const dir = join(tempDir(), "tools", "bin");
    const r = await install({ args: ["--dir", dir, "--yes"], env: { WANDB_LOGIN_INSTALL_DIR: "" } });
    expect(r.code).toBe(0);
    expect(runs(join(dir, "wandb-login"))).toBe("9.9.9");
  });

  test.each([[["--bogus"]], [["--dir"]], [["--version"]], [["extra"]]])(
    "%p is a usage error (exit 2), nothing installed",
    async (args) => {
      const r = await install({ args });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("See --help.");
      expect(r.requested).toEqual([]);
      expect(r.installed).toEqual([]);
    },
  );

  test("--uninstall removes the binary, and says when there is none", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "wandb-login"), "#!/bin/sh\necho 1.0.0\n", { mode: 0o755 });
    writeFileSync(join(dir, "other"), "keep");
    const r = await install({ args: ["--uninstall"], dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed ${dir}/wandb-login`);
    expect(readdirSync(dir)).toEqual(["other"]);
    expect(r.requested).toEqual([]);
    const again = await install({ args: ["--uninstall"], dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to remove");
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
      expect(run.stdout.toString().trim()).toBe(PACKAGE_VERSION);
    },
    120_000,
  );
});
