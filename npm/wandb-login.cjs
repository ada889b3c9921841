#!/usr/bin/env node
// The npm package's launcher: runs this platform's binary from its optional package
// (@wandb-login/<platform>), as Biome and esbuild do, but with no install script to skip.
// Plain CommonJS without dependencies, so node and bun both run it as it is.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, readFileSync } = require("node:fs");
const { dirname, join } = require("node:path");

const SCOPE = "@wandb-login";
const DOCS = "https://github.com/wandb-login/wandb-login/blob/main/docs/install.md";

/** The platform packages that fit this machine, best first (`machine` is for tests). */
function packagesFor(machine = thisMachine()) {
  const { platform, arch, musl, avx2 } = machine;
  if (platform === "win32" && arch === "x64") return ["win32-x64"];
  if (platform === "darwin" && (arch === "x64" || arch === "arm64")) return [`darwin-${arch}`];
  if (platform !== "linux" || (arch !== "x64" && arch !== "arm64")) return [];
  if (musl) return [`linux-${arch}-musl`];
  if (arch === "arm64") return ["linux-arm64"];
  // the default x64 build needs AVX2; Bun's own npm package picks its baseline build the same way
  return avx2 ? ["linux-x64", "linux-x64-baseline"] : ["linux-x64-baseline"];
}

function thisMachine() {
  const linux = process.platform === "linux";
  return {
    platform: process.platform,
    arch: process.arch,
    musl: linux && isMusl(),
    avx2: !linux || process.arch !== "x64" || hasAvx2(),
  };
}

// as install.sh judges: Alpine, or an ldd that is musl's (not a /lib/ld-musl-* file: Debian's musl
// package puts one on glibc systems)
function isMusl() {
  return existsSync("/etc/alpine-release") || readText("/usr/bin/ldd").includes("musl");
}

// a /proc/cpuinfo that cannot be read says nothing: keep the default build, as install.sh does
function hasAvx2() {
  const cpuinfo = readText("/proc/cpuinfo");
  return cpuinfo === "" || /\bavx2\b/.test(cpuinfo);
}

function readText(file) {
  try {
    return readFileSync(file, "latin1");
  } catch {
    return "";
  }
}

function fail(lines) {
  process.stderr.write(`wandb-login: ${lines.join("\n  ")}\n`);
  process.exit(1);
}

function main() {
  const names = packagesFor();
  const where = `${process.platform} ${process.arch}${names[0]?.endsWith("-musl") ? " (musl)" : ""}`;
  if (names.length === 0)
    fail([`there is no build for ${where}.`, `Builds exist for Linux, macOS and Windows: ${DOCS}`]);
  const exe = process.platform === "win32" ? "wandb-login.exe" : "wandb-login";
  for (const name of names) {
    let binary;
    try {
      binary = join(dirname(require.resolve(`${SCOPE}/${name}/package.json`)), exe);
    } catch {
      continue; // not installed: try the next
    }
    const run = spawnSync(binary, process.argv.slice(2), { stdio: "inherit" });
    if (run.error) fail([`cannot run ${binary}: ${run.error.message}`]);
    if (run.signal) process.kill(process.pid, run.signal); // end the way the binary ended
    process.exit(run.status ?? 1);
  }
  fail([
    `the package ${SCOPE}/${names[0]}, which holds the binary for ${where}, is not installed.`,
    "npm leaves it out under --omit=optional, with a lockfile made on another platform, or when",
    "node_modules was copied from another machine (a Docker image built on a Mac).",
    "Fix: install again on this machine with optional dependencies, e.g.",
    "  npm install --include=optional wandb-login    (or: rm -rf node_modules && npm install)",
    `or install the binary without npm: ${DOCS}`,
  ]);
}

if (require.main === module) main();
module.exports = { packagesFor };
