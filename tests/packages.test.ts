// The packages of scripts/packages.ts, installed for real and offline: the npm tarballs published to a
// local registry (verdaccio on 127.0.0.1, no uplinks) and installed into clean prefixes, with and without
// --ignore-scripts, and run through npx and bunx; the wheels installed with pip into fresh venvs and run
// through pipx. Each install then runs --version, a store and status. The release folder they are made
// from holds the real binary as linux-x64 and as linux-x64-baseline (the same code; the launcher's choice
// between them is tested on its own) and small stand-ins for the other platforms.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, linkSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { buildPackages, LAUNCHER, NPM_SCOPE, PLATFORMS, tarballName, wheelName } from "../scripts/packages";
import { REPO, sha256, TARGETS } from "../scripts/release";
import {
  BIN,
  entry,
  has,
  hasPython,
  KEY40,
  MACHINE,
  modeOf,
  noteSkip,
  PACKAGE_VERSION,
  type Run,
  read,
  runCommand,
  tempDir,
  testIf,
} from "./helpers";

const ROOT = join(import.meta.dir, "..");
const VERDACCIO = join(ROOT, "node_modules", ".bin", "verdaccio");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const X64_WHEEL = wheelName("manylinux_2_17_x86_64.manylinux2014_x86_64");
const native = process.platform === "linux" && process.arch === "x64";
const npmReady = native && has("npm") && existsSync(VERDACCIO);
const npmWhy = "needs linux-x64, npm and verdaccio (npm ci)";

/** A release folder: the real binary under both x64 glibc names, a stand-in script for every other. */
function releaseFolder(binary: string | null): string {
  const dir = tempDir("wl-pkg-");
  for (const { asset } of PLATFORMS) {
    if (binary && asset.startsWith("wandb-login-linux-x64") && !asset.endsWith("-musl"))
      linkSync(binary, join(dir, asset));
    else writeFileSync(join(dir, asset), `#!/bin/sh\necho stand-in for ${asset}\n`, { mode: 0o755 });
  }
  return dir;
}

describe("what is packed", () => {
  test("every release target has one npm package, and one wheel per wheel platform", () => {
    expect(PLATFORMS.map((p) => p.asset).sort()).toEqual(TARGETS.map(([, asset]) => asset).sort());
    const wheels = PLATFORMS.flatMap((p) => (p.wheel ? [p.wheel.split(".")[0]] : []));
    expect(wheels.sort()).toEqual([
      "macosx_13_0_arm64",
      "macosx_13_0_x86_64",
      "manylinux_2_17_aarch64",
      "manylinux_2_17_x86_64",
      "musllinux_1_2_aarch64",
      "musllinux_1_2_x86_64",
      "win_amd64",
    ]);
  });

  test("the launcher picks each platform's package; x64 without AVX2 the baseline build", () => {
    const { packagesFor } = require(LAUNCHER);
    for (const p of PLATFORMS) {
      const machine = {
        platform: p.os,
        arch: p.cpu,
        musl: p.libc === "musl",
        avx2: !p.npm.endsWith("baseline"),
      };
      expect({ machine, picks: packagesFor(machine)[0] }).toEqual({ machine, picks: p.npm });
    }
    expect(packagesFor({ platform: "linux", arch: "x64", musl: false, avx2: true })).toEqual([
      "linux-x64",
      "linux-x64-baseline",
    ]);
    expect(packagesFor({ platform: "freebsd", arch: "x64", musl: false, avx2: true })).toEqual([]);
    expect(packagesFor({ platform: "linux", arch: "ia32", musl: false, avx2: true })).toEqual([]);
  });

  test("the launcher's docs link names package.json's repository", () => {
    const links = readFileSync(LAUNCHER, "utf8").match(/github\.com\/[\w.-]+\/[\w.-]+/g);
    expect([...new Set(links)]).toEqual([`github.com/${REPO}`]);
  });

  test("two packings of the same binaries give the same bytes (mtimes and folders differ)", () => {
    const [a, b] = [releaseFolder(null), releaseFolder(null)];
    for (const name of readdirSync(b)) utimesSync(join(b, name), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const [first, second] = [buildPackages(a, true), buildPackages(b, true)];
    expect(second).toEqual(first);
    expect(first).toContain(tarballName("wandb-login"));
    expect(first.filter((f) => f.endsWith(".whl")).length).toBe(7);
    expect(first.filter((f) => f.endsWith(".tgz")).length).toBe(9);
    for (const name of first)
      expect({ name, sha: sha256(readFileSync(join(b, name))) }).toEqual({
        name,
        sha: sha256(readFileSync(join(a, name))),
      });
  }, 60_000);
});

// --- the real packages, built once for the tests below ---

let release = "";
beforeAll(() => {
  if (!npmReady && !hasPython) return;
  release = releaseFolder(BIN);
  buildPackages(release, true);
}, 120_000);

interface Outcome {
  version: Run;
  store: Run;
  status: Run;
  netrc: string | null;
}

/** --version, a store of KEY40 and status, through `command` (an installed wandb-login), in a fresh HOME. */
function exercise(command: string[], env: Record<string, string> = {}): Outcome {
  const home = tempDir("wl-home-");
  const opts = { home, env: { ...env, HOME: home } };
  const version = runCommand([...command, "--version"], opts);
  const store = runCommand([...command, KEY40], opts);
  const status = runCommand([...command, "status"], opts);
  const netrc = existsSync(join(home, ".netrc")) ? read(join(home, ".netrc")) : null;
  return { version, store, status, netrc };
}

function expectWorking(o: Outcome): void {
  expect({ code: o.version.code, out: o.version.stdout.trim() }).toEqual({ code: 0, out: PACKAGE_VERSION });
  expect({ code: o.store.code, err: o.store.stderr }).toEqual({
    code: 0,
    err: expect.stringContaining(`Stored the API key …4567 for https://${MACHINE}.`),
  });
  expect(o.netrc).toBe(entry(MACHINE, KEY40));
  expect({ code: o.status.code, err: o.status.stderr }).toEqual({
    code: 0,
    err: expect.stringContaining("API key: …4567 from"),
  });
}

describe("npm: published to a local registry, installed and run", () => {
  let registry = "";
  let verdaccio: ReturnType<typeof Bun.spawn> | undefined;
  const work = tempDir("wl-npm-");
  const npmEnv = () => ({
    NPM_CONFIG_USERCONFIG: join(work, "npmrc"),
    NPM_CONFIG_REGISTRY: registry,
    NPM_CONFIG_CACHE: join(work, "npm-cache"), // shared by the installs: each tarball downloaded once
    BUN_CONFIG_REGISTRY: registry,
    BUN_INSTALL_CACHE_DIR: join(work, "bun-cache"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  });
  const npm = (args: string[], cwd = work) => {
    const proc = Bun.spawnSync(["npm", ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: work, ...npmEnv() },
      stdout: "pipe",
      stderr: "pipe",
    });
    return { code: proc.exitCode, out: proc.stdout.toString() + proc.stderr.toString() };
  };

  beforeAll(async () => {
    if (!npmReady) return;
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    registry = `http://127.0.0.1:${port}/`;
    writeFileSync(
      join(work, "verdaccio.yaml"),
      // no uplinks: nothing is ever fetched from the internet; anyone may publish to it
      `storage: ${join(work, "storage")}\nuplinks: {}\nmax_body_size: 500mb\npackages:\n  "**":\n    access: $anonymous\n    publish: $anonymous\nlog: { type: stdout, format: pretty, level: error }\n`,
    );
    writeFileSync(join(work, "npmrc"), `//127.0.0.1:${port}/:_authToken=local-registry\n`); // npm publish wants one
    verdaccio = Bun.spawn(
      [VERDACCIO, "--config", join(work, "verdaccio.yaml"), "--listen", `127.0.0.1:${port}`],
      {
        stdout: "ignore",
        stderr: "ignore",
      },
    );
    for (let i = 0; i < 150 && !(await fetch(`${registry}-/ping`).catch(() => null))?.ok; i++)
      await Bun.sleep(100);
    for (const name of readdirSync(release)
      .filter((f) => f.endsWith(".tgz"))
      .sort()) {
      const r = npm(["publish", join(release, name), "--access", "public"]);
      if (r.code !== 0) throw new Error(`npm publish ${name}: ${r.out}`);
    }
  }, 180_000);
  afterAll(() => verdaccio?.kill());

  const npmTest = testIf(npmReady, "npm packages", npmWhy);

  npmTest(
    "npx wandb-login: --version, a store, status",
    () => {
      expectWorking(exercise(["npx", "--yes", "wandb-login"], npmEnv()));
    },
    120_000,
  );

  for (const flags of [[], ["--ignore-scripts"]]) {
    npmTest(
      `npm i -g ${flags.join(" ")}: only this platform's packages, and it runs`,
      () => {
        const prefix = join(tempDir("wl-prefix-"), "global");
        const r = npm(["install", "-g", "--prefix", prefix, ...flags, "wandb-login"]);
        expect(r.code).toBe(0);
        const scope = join(prefix, "lib", "node_modules", "wandb-login", "node_modules", NPM_SCOPE);
        expect(readdirSync(scope).sort()).toEqual(["linux-x64", "linux-x64-baseline"]); // os, cpu and libc
        expect(modeOf(join(scope, "linux-x64", "wandb-login"))).toBe(0o755);
        expectWorking(exercise([join(prefix, "bin", "wandb-login")]));
      },
      120_000,
    );
  }

  npmTest(
    "the launcher passes arguments, stdin, stdout and the exit code through",
    () => {
      const prefix = join(tempDir("wl-prefix-"), "global");
      expect(npm(["install", "-g", "--prefix", prefix, "wandb-login"]).code).toBe(0);
      const bin = join(prefix, "bin", "wandb-login");
      expect(runCommand([bin, "stauts"])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('"status"'),
      });
      const home = tempDir();
      const piped = runCommand([bin, "--stdin", "--json"], { home, stdin: `${KEY40}\n` });
      expect(piped.code).toBe(0);
      expect(JSON.parse(piped.stdout)).toMatchObject({ host: `https://${MACHINE}` });
      expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
    },
    120_000,
  );

  npmTest(
    "--omit=optional: exit 1 naming the platform's package and the fix, no stack trace",
    () => {
      const project = tempDir("wl-project-");
      writeFileSync(join(project, "package.json"), '{"name":"p","version":"1.0.0","private":true}\n');
      expect(npm(["install", "--omit=optional", "wandb-login"], project).code).toBe(0);
      expect(existsSync(join(project, "node_modules", NPM_SCOPE))).toBe(false);
      const r = runCommand([join(project, "node_modules", ".bin", "wandb-login"), "--version"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^wandb-login: the package @wandb-login\/linux-x64(-baseline)?, which holds the binary for linux x64,/,
      );
      expect(r.stderr).toContain("npm install --include=optional wandb-login");
      expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
    },
    120_000,
  );

  testIf(npmReady && existsSync(BUN), "bunx", "needs the npm packages and bun (npm ci)")(
    "bunx wandb-login: --version, a store, status",
    () => {
      expectWorking(exercise([BUN, "x", "wandb-login"], npmEnv()));
    },
    120_000,
  );
});

describe("PyPI: the wheels installed with pip and run through pipx", () => {
  const pipReady = native && hasPython;
  const wheel = () => join(release, X64_WHEEL);

  testIf(
    pipReady,
    "wheel contents",
    "needs python3 on linux-x64",
  )("the zip: sorted entries, RECORD last with every hash right, the script 0755, no Python file", () => {
    const script = `import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
record = z.read([n for n in z.namelist() if n.endswith("/RECORD")][0]).decode()
bad = []
for line in record.splitlines():
    name, digest, size = line.rsplit(",", 2)
    if not digest: continue
    data = z.read(name)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if digest != want or int(size) != len(data): bad.append(name)
print(json.dumps({"names": z.namelist(), "bad": bad,
  "modes": {i.filename: [i.create_system, i.external_attr >> 16, i.date_time] for i in z.infolist()},
  "wheel": z.read([n for n in z.namelist() if n.endswith("/WHEEL")][0]).decode()}))`;
    const proc = Bun.spawnSync(["python3", "-c", script, wheel()], { stdout: "pipe", stderr: "pipe" });
    const z = JSON.parse(proc.stdout.toString());
    const v = pkg.version;
    expect(z.names).toEqual([
      `wandb_login-${v}.data/scripts/wandb-login`,
      `wandb_login-${v}.dist-info/METADATA`,
      `wandb_login-${v}.dist-info/WHEEL`,
      `wandb_login-${v}.dist-info/RECORD`,
    ]);
    expect(z.bad).toEqual([]);
    expect(z.modes[z.names[0]]).toEqual([3, 0o100755, [1980, 1, 1, 0, 0, 0]]);
    expect(z.modes[z.names[1]]).toEqual([3, 0o100644, [1980, 1, 1, 0, 0, 0]]);
    expect(z.wheel).toContain(
      "Root-Is-Purelib: false\nTag: py3-none-manylinux_2_17_x86_64\nTag: py3-none-manylinux2014_x86_64\n",
    );
    expect(readdirSync(release).filter((f) => f.endsWith(".tar.gz"))).toEqual([]); // no sdist
  });

  testIf(pipReady, "pip install", "needs python3 on linux-x64")(
    "pip install into a fresh venv: the binary itself as bin/wandb-login, and it runs",
    () => {
      const venv = join(tempDir("wl-venv-"), "venv");
      expect(runCommand(["python3", "-m", "venv", venv]).code).toBe(0);
      const pip = runCommand([join(venv, "bin", "pip"), "install", "--no-index", wheel()]);
      if (pip.code !== 0) throw new Error(pip.stderr);
      const installed = join(venv, "bin", "wandb-login");
      expect(modeOf(installed) & 0o111).toBe(0o111);
      expect(sha256(readFileSync(installed))).toBe(sha256(readFileSync(BIN))); // no launcher in between
      expectWorking(exercise([installed]));
    },
    120_000,
  );

  testIf(pipReady && has("pipx"), "pipx run", "pipx not installed (Debian package pipx)")(
    "pipx run wandb-login, from a folder of the wheels: --version, a store, status",
    () => {
      const wheels = tempDir("wl-wheels-");
      for (const name of readdirSync(release).filter((f) => f.endsWith(".whl")))
        linkSync(join(release, name), join(wheels, name));
      const pipx = tempDir("wl-pipx-");
      // offline: pip finds wandb-login in the folder only (pipx's own pip upgrade fails and it goes on)
      const env = {
        PIPX_HOME: pipx,
        PIPX_BIN_DIR: join(pipx, "bin"),
        PIP_NO_INDEX: "1",
        PIP_FIND_LINKS: wheels,
      };
      expectWorking(exercise(["pipx", "run", "wandb-login"], env));
    },
    120_000,
  );

  const uvx = has("uvx");
  if (!uvx)
    noteSkip(
      "uvx wandb-login",
      "uv is neither on this machine's wheel mirror nor in Debian; docs/install.md shows it, untested",
    );
  test.skipIf(!uvx || !pipReady)(
    "uvx wandb-login, from a folder of the wheels",
    () => {
      const wheels = tempDir("wl-wheels-");
      linkSync(wheel(), join(wheels, X64_WHEEL));
      expectWorking(
        exercise(["uvx", "--offline", "--no-index", "--find-links", wheels, "wandb-login"], {
          UV_CACHE_DIR: join(wheels, "cache"),
        }),
      );
    },
    120_000,
  );
});
