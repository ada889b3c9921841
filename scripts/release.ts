// npm run release: every platform's binary in dist/release/, each also gzipped, and one SHA256SUMS
// over all of them. Bun fetches each target's runtime (@oven/bun-<target>) from the npm registry.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, smokeTest } from "./build";

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

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** Gzips every binary in `dir` and writes SHA256SUMS (sha256sum's format) over every file. */
export function packageRelease(dir: string, level: 1 | 9 = 9): void {
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".gz") || name === "SHA256SUMS") continue;
    writeFileSync(join(dir, `${name}.gz`), Bun.gzipSync(readFileSync(join(dir, name)), { level }));
  }
  const files = readdirSync(dir)
    .filter((name) => name !== "SHA256SUMS")
    .sort();
  writeFileSync(
    join(dir, "SHA256SUMS"),
    files.map((name) => `${sha256(readFileSync(join(dir, name)))}  ${name}\n`).join(""),
  );
}

if (import.meta.main) {
  const dir = "dist/release";
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [target, name] of TARGETS) {
    build(join(dir, name), target);
    console.log(`built ${name}`);
  }
  if (process.platform === "linux" && process.arch === "x64") smokeTest(join(dir, "wandb-login-linux-x64"));
  packageRelease(dir);
  for (const name of readdirSync(dir).sort())
    console.log(`${(statSync(join(dir, name)).size / 1e6).toFixed(1).padStart(7)} MB  ${name}`);
}
