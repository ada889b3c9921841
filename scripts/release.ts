// npm run release: every platform's binary in dist/release/, each also as .gz and .xz, install.sh, the
// npm tarballs and Python wheels made from them (scripts/packages.ts), and one SHA256SUMS over all of them. Bun fetches each target's runtime (@oven/bun-<target>) from the npm registry.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { build, smokeTest } from "./build";

/** owner/name on GitHub: package.json's "repository" is the one place it is set (tests check the rest). */
export const REPO: string = pkg.repository.replace(/^github:/, "");

/** Bun's --target, and the asset name install.sh asks for. */
export const TARGETS: [string, string][] = [
  ["bun-linux-x64", "wandb-login-linux-x64"],
  ["bun-linux-x64-baseline", "wandb-login-linux-x64-baseline"], // CPUs without AVX2
  ["bun-linux-arm64", "wandb-login-linux-arm64"],
  ["bun-linux-x64-musl", "wandb-login-linux-x64-musl"], // Alpine: needs libstdc++ libgcc
  ["bun-linux-arm64-musl", "wandb-login-linux-arm64-musl"],
  ["bun-darwin-x64", "wandb-login-darwin-x64"],
  ["bun-darwin-arm64", "wandb-login-darwin-arm64"],
  ["bun-windows-x64", "wandb-login-windows-x64.exe"],
];

export const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/**
 * xz's flags, the same on every machine: -T0 picks the thread count from the cores, and xz 5.4 writes
 * other bytes single-threaded (-T1) than multi-threaded (-T2 = -T4); in threaded mode it may also drop
 * to one thread under its memory limit. -T1 costs nothing at -9: its 192 MiB block is one block anyway.
 * release.yml packs the re-signed macOS binaries with the same flags.
 */
export const xzFlags = (fast = false) => [fast ? "-0" : "-9", "-T1"];

/**
 * Packs every binary in `dir` as .gz and, where `xz` is installed, as .xz (about a quarter smaller),
 * then writes SHA256SUMS (sha256sum's format) over every file (the npm tarballs and wheels among them). `fast` is for tests. Both packings are
 * reproducible: Bun.gzipSync stores no name and no mtime (like `gzip -n`), xz runs with fixed flags.
 */
export function packageRelease(dir: string, fast = false): void {
  const xz = Bun.which("xz");
  for (const name of readdirSync(dir)) {
    if (/\.(gz|xz|sh|tgz|whl)$/.test(name) || name === "SHA256SUMS") continue;
    const file = join(dir, name);
    writeFileSync(`${file}.gz`, Bun.gzipSync(readFileSync(file), { level: fast ? 1 : 9 }));
    if (!xz) continue;
    const packed = Bun.spawnSync([xz, ...xzFlags(fast), "-k", "-f", file], { stderr: "pipe" });
    if (packed.exitCode !== 0) throw new Error(`xz ${name}: ${packed.stderr}`);
  }
  writeSums(dir);
}

/** SHA256SUMS over every other file in `dir`, in byte order of the names. */
export function writeSums(dir: string): void {
  const files = readdirSync(dir)
    .filter((name) => name !== "SHA256SUMS")
    .sort();
  writeFileSync(
    join(dir, "SHA256SUMS"),
    files.map((name) => `${sha256(readFileSync(join(dir, name)))}  ${name}\n`).join(""),
  );
}

if (import.meta.main) {
  // --only=<target> and --fast are for tests/release.test.ts: one target, quick packing, same flags otherwise
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  const fast = process.argv.includes("--fast");
  const dir = "dist/release";
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const targets = TARGETS.filter(([target]) => !only || target === only);
  if (!targets.length) throw new Error(`no target ${only}`);
  for (const [target, name] of targets) {
    build(join(dir, name), target);
    console.log(`built ${name}`);
  }
  const native = join(dir, "wandb-login-linux-x64");
  if (process.platform === "linux" && process.arch === "x64" && existsSync(native)) smokeTest(native);
  copyFileSync("install.sh", join(dir, "install.sh"));
  const { buildPackages } = await import("./packages"); // it imports this file: loaded once REPO is set
  for (const name of buildPackages(dir, fast)) console.log(`packed ${name}`);
  packageRelease(dir, fast);
  for (const name of readdirSync(dir).sort())
    console.log(`${(statSync(join(dir, name)).size / 1e6).toFixed(1).padStart(7)} MB  ${name}`);
}
