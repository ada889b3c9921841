// What each release target needs, read from the binaries themselves, and the x64 CPU floor run under
// qemu: docs/platforms.md's target table states what this file checks. (arm64 runs under qemu in
// install.test.ts, Windows under wine in windows.test.ts; the musl builds cannot run here.)
// qemu 7.2's user mode refuses SSE4.2 and POPCNT on CPU models without them (SIGILL), but executes
// AVX and AVX2 on any model, reporting only CPUID without them: a run on "Nehalem" shows the SSE4.2
// floor and the CPUID-dispatched paths, not that AVX2 is never needed.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../scripts/build";
import { BIN, has, KEY40, tempDir, testIf } from "./helpers";

const work = tempDir("wl-targets-");
const bin = (target: string) => (target === "linux-x64" ? BIN : join(work, `wandb-login-${target}`));
const CROSS = [
  "linux-x64-baseline",
  "linux-arm64",
  "linux-x64-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
];
const qemu = Bun.which("qemu-x86_64-static") ?? Bun.which("qemu-x86_64");

beforeAll(() => {
  for (const target of CROSS) build(bin(target), `bun-${target}`); // each runtime from the npm registry, once
}, 120_000);

const sh = (args: string[]) => Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" }).stdout.toString();

/** The newest GLIBC_x.y symbol version the binary asks for. */
function glibcFloor(file: string): string {
  const versions = [...new Set(sh(["objdump", "-T", file]).match(/GLIBC_[0-9.]+/g) ?? [])];
  const key = (v: string) => v.slice(6).split(".").map(Number);
  const order = (a: string, b: string) => key(a)[0] - key(b)[0] || (key(a)[1] ?? 0) - (key(b)[1] ?? 0);
  return versions.sort(order).at(-1) ?? "none";
}

/** minos of a 64-bit Mach-O's LC_BUILD_VERSION, as x.y.z. */
function macosFloor(file: string): string {
  const b = readFileSync(file).subarray(0, 1 << 16);
  expect(b.readUInt32LE(0)).toBe(0xfeedfacf);
  let offset = 32;
  for (let i = 0; i < b.readUInt32LE(16); i++, offset += b.readUInt32LE(offset + 4)) {
    if (b.readUInt32LE(offset) !== 0x32) continue; // LC_BUILD_VERSION
    const v = b.readUInt32LE(offset + 12);
    return `${v >>> 16}.${(v >> 8) & 0xff}.${v & 0xff}`;
  }
  return "none";
}

describe("what each target needs", () => {
  testIf(
    has("objdump"),
    "glibc floor",
    "objdump (binutils) not installed",
  )("the glibc builds (x64, x64-baseline, arm64) need glibc 2.17 or later, nothing newer", () => {
    for (const target of ["linux-x64", "linux-x64-baseline", "linux-arm64"])
      expect({ target, floor: glibcFloor(bin(target)) }).toEqual({ target, floor: "GLIBC_2.17" });
  });

  testIf(
    has("readelf"),
    "musl needs",
    "readelf (binutils) not installed",
  )("the musl builds need the musl loader and libstdc++ (Alpine: apk add libstdc++ libgcc)", () => {
    for (const [target, arch] of [
      ["linux-x64-musl", "x86_64"],
      ["linux-arm64-musl", "aarch64"],
    ]) {
      const dynamic = sh(["readelf", "-d", bin(target)]);
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
      expect(needed.sort()).toEqual([`libc.musl-${arch}.so.1`, "libstdc++.so.6"]);
      expect(sh(["readelf", "-l", bin(target)])).toContain(
        `[Requesting program interpreter: /lib/ld-musl-${arch}.so.1]`,
      );
    }
  });

  test("the macOS builds need macOS 13.0 or later", () => {
    expect(macosFloor(bin("darwin-x64"))).toBe("13.0.0");
    expect(macosFloor(bin("darwin-arm64"))).toBe("13.0.0");
  });
});

describe("the x64 CPU floor, under qemu's CPU models", () => {
  const run = (cpu: string, target: string, args: string[], home: string) =>
    Bun.spawnSync([qemu!, "-cpu", cpu, bin(target), ...args], {
      cwd: home,
      env: { PATH: process.env.PATH, HOME: home },
      stdout: "pipe",
      stderr: "pipe",
    });

  testIf(!!qemu, "x64 under qemu", "qemu-user-static not installed")(
    "both x64 builds store a key on Nehalem (SSE4.2; CPUID says no AVX, no AVX2)",
    () => {
      for (const target of ["linux-x64", "linux-x64-baseline"]) {
        const home = tempDir();
        const r = run("Nehalem", target, [KEY40], home);
        expect({ target, code: r.exitCode }).toEqual({ target, code: 0 });
        expect(readFileSync(join(home, ".netrc"), "latin1")).toBe(
          `machine api.wandb.ai\n  login user\n  password ${KEY40}\n`,
        );
      }
    },
    60_000,
  );

  testIf(!!qemu, "x64 under qemu", "qemu-user-static not installed")(
    "both die of an illegal instruction without SSE4.2 (Penryn: SSE4.1)",
    () => {
      for (const target of ["linux-x64", "linux-x64-baseline"]) {
        const r = run("Penryn", target, ["--version"], tempDir());
        expect({ target, signal: r.signalCode, stdout: r.stdout.toString() }).toEqual({
          target,
          signal: "SIGILL",
          stdout: "",
        });
      }
    },
    60_000,
  );
});
