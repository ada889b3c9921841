// The npm packages and the Python wheels, made from the release binaries in one folder (npm run release
// calls this): `npm pack` tarballs of the launcher package `wandb-login` (npm/wandb-login.cjs) and of one
// package per platform, and one wheel per platform carrying the binary itself as its `wandb-login`
// script. Both are byte-reproducible: npm pack fixes every mtime and the order; the wheels are zipped
// here with a fixed timestamp and sorted entries.
// Usage: bun scripts/packages.ts [dir]: packs again from dir's binaries (release.yml does, after
// re-signing the macOS ones) and rewrites SHA256SUMS.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../package.json";
import { REPO, sha256, writeSums } from "./release";

export const NPM_SCOPE = "@wandb-login";
export const LAUNCHER = join(import.meta.dir, "..", "npm", "wandb-login.cjs");

export interface Platform {
  asset: string; // the release asset, a name in release.ts's TARGETS
  npm: string; // the platform package: `${NPM_SCOPE}/${npm}`
  os: string; // npm's os, cpu and libc fields (process.platform, process.arch)
  cpu: string;
  libc?: string;
  wheel?: string; // the wheel's platform tag; x64 glibc has one wheel, from the baseline build
}

export const PLATFORMS: Platform[] = [
  { asset: "wandb-login-linux-x64", npm: "linux-x64", os: "linux", cpu: "x64", libc: "glibc" },
  {
    asset: "wandb-login-linux-x64-baseline",
    npm: "linux-x64-baseline", // beside linux-x64 on every x64 glibc machine: the launcher picks by AVX2
    os: "linux",
    cpu: "x64",
    libc: "glibc",
    wheel: "manylinux_2_17_x86_64.manylinux2014_x86_64", // pip cannot choose by CPU: the build that runs on all
  },
  {
    asset: "wandb-login-linux-arm64",
    npm: "linux-arm64",
    os: "linux",
    cpu: "arm64",
    libc: "glibc",
    wheel: "manylinux_2_17_aarch64.manylinux2014_aarch64",
  },
  {
    asset: "wandb-login-linux-x64-musl",
    npm: "linux-x64-musl",
    os: "linux",
    cpu: "x64",
    libc: "musl",
    wheel: "musllinux_1_2_x86_64",
  },
  {
    asset: "wandb-login-linux-arm64-musl",
    npm: "linux-arm64-musl",
    os: "linux",
    cpu: "arm64",
    libc: "musl",
    wheel: "musllinux_1_2_aarch64",
  },
  {
    asset: "wandb-login-darwin-x64",
    npm: "darwin-x64",
    os: "darwin",
    cpu: "x64",
    wheel: "macosx_13_0_x86_64",
  },
  {
    asset: "wandb-login-darwin-arm64",
    npm: "darwin-arm64",
    os: "darwin",
    cpu: "arm64",
    wheel: "macosx_13_0_arm64",
  },
  { asset: "wandb-login-windows-x64.exe", npm: "win32-x64", os: "win32", cpu: "x64", wheel: "win_amd64" },
];

const DESCRIPTION = pkg.description;
const DOCS = `https://github.com/${REPO}/blob/main/docs/install.md`;
const README = `# wandb-login\n\n${DESCRIPTION}: one native binary that stores a W&B API key where the W&B SDK reads it.\n\n\`\`\`sh\nwandb-login --help\n\`\`\`\n\nInstalling it, from npm, PyPI, a GitHub Action or the release assets: ${DOCS}\n`;

/** The npm tarballs and the wheels for every binary found in `dir`, written beside them; their names. */
export function buildPackages(folder: string, fast = false): string[] {
  const dir = resolve(folder); // npm pack runs in the staging folder
  const found = PLATFORMS.filter((p) => existsSync(join(dir, p.asset)));
  const stage = join(tmpdir(), `wandb-login-packages-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    const written = [npmPack(launcherPackage(join(stage, "wandb-login")), dir)];
    for (const platform of found) {
      written.push(npmPack(platformPackage(join(stage, platform.npm), platform, dir), dir));
      if (platform.wheel) written.push(writeWheel(dir, platform, fast));
    }
    return written.sort();
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The wheel's file name: `wandb_login-<version>-py3-none-<platform>.whl`. */
export const wheelName = (tag: string) => `wandb_login-${pep440(pkg.version)}-py3-none-${tag}.whl`;

/** The npm tarball's file name, as `npm pack` makes it. */
export const tarballName = (name: string) => `${name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`;

// --- internal ---

const repository = { type: "git", url: `git+https://github.com/${REPO}.git` }; // provenance checks it
const binaryName = (p: Platform) => (p.os === "win32" ? "wandb-login.exe" : "wandb-login");

/** `wandb-login`: the launcher and the optional platform packages, nothing else. */
function launcherPackage(folder: string): string {
  mkdirSync(folder, { recursive: true });
  const optional = Object.fromEntries(PLATFORMS.map((p) => [`${NPM_SCOPE}/${p.npm}`, pkg.version]));
  const manifest = {
    name: "wandb-login",
    version: pkg.version,
    description: DESCRIPTION,
    license: pkg.license,
    repository,
    homepage: DOCS,
    bin: { "wandb-login": "wandb-login.cjs" },
    engines: { node: ">=16" },
    optionalDependencies: optional,
  };
  writeFileSync(join(folder, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(folder, "README.md"), README);
  copyFileSync(LAUNCHER, join(folder, "wandb-login.cjs"));
  chmodSync(join(folder, "wandb-login.cjs"), 0o755);
  return folder;
}

/** `@wandb-login/<platform>`: one binary, installed only where os, cpu and libc match. */
function platformPackage(folder: string, p: Platform, dir: string): string {
  mkdirSync(folder, { recursive: true });
  const manifest = {
    name: `${NPM_SCOPE}/${p.npm}`,
    version: pkg.version,
    description: `The ${p.asset} binary of wandb-login (the package wandb-login runs it)`,
    license: pkg.license,
    repository,
    homepage: DOCS,
    os: [p.os],
    cpu: [p.cpu],
    ...(p.libc ? { libc: [p.libc] } : {}),
    preferUnplugged: true, // Yarn PnP: a binary must be a real file on disk
  };
  writeFileSync(join(folder, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(dir, p.asset), join(folder, binaryName(p)));
  chmodSync(join(folder, binaryName(p)), 0o755);
  return folder;
}

/** `npm pack` of `folder` into `dir`; the tarball's name. */
function npmPack(folder: string, dir: string): string {
  const npm = Bun.which("npm");
  if (!npm) throw new Error("npm is not installed: it packs the npm packages");
  const proc = Bun.spawnSync([npm, "pack", "--json", "--pack-destination", dir], {
    cwd: folder,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, npm_config_ignore_scripts: "true" },
  });
  if (proc.exitCode !== 0) throw new Error(`npm pack ${folder}: ${proc.stderr}`);
  return (JSON.parse(proc.stdout.toString()) as { filename: string }[])[0].filename;
}

/** Only plain x.y.z versions: npm's and Python's spellings of a pre-release differ. */
function pep440(version: string): string {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`version ${version}: wheels need x.y.z`);
  return version;
}

interface ZipEntry {
  name: string;
  data: Uint8Array<ArrayBuffer>;
  mode: number; // Unix mode bits: pip makes a script executable only from these
}

/**
 * The wheel: the binary as `<name>.data/scripts/wandb-login` (pip, pipx and uv install it into the
 * environment's bin folder as it is), METADATA, WHEEL and RECORD. No Python in between.
 */
function writeWheel(dir: string, p: Platform, fast: boolean): string {
  const version = pep440(pkg.version);
  const info = `wandb_login-${version}.dist-info`;
  const metadata = [
    "Metadata-Version: 2.1",
    "Name: wandb-login",
    `Version: ${version}`,
    `Summary: ${DESCRIPTION}`,
    `License: ${pkg.license}`,
    `Project-URL: Source, https://github.com/${REPO}`,
    `Project-URL: Documentation, ${DOCS}`,
    "Description-Content-Type: text/markdown",
    "",
    README,
  ].join("\n");
  const tags = p.wheel!.split(".").map((tag) => `Tag: py3-none-${tag}\n`);
  const wheel = `Wheel-Version: 1.0\nGenerator: wandb-login scripts/packages.ts\nRoot-Is-Purelib: false\n${tags.join("")}`;
  const text = (s: string) => Buffer.from(s);
  const entries: ZipEntry[] = [
    {
      name: `wandb_login-${version}.data/scripts/${binaryName(p)}`,
      data: readFileSync(join(dir, p.asset)),
      mode: 0o755,
    },
    { name: `${info}/METADATA`, data: text(metadata), mode: 0o644 },
    { name: `${info}/WHEEL`, data: text(wheel), mode: 0o644 },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const record = entries.map((e) => `${e.name},sha256=${recordHash(e.data)},${e.data.length}\n`);
  entries.push({ name: `${info}/RECORD`, data: text(`${record.join("")}${info}/RECORD,,\n`), mode: 0o644 });
  const name = wheelName(p.wheel!);
  writeFileSync(join(dir, name), zip(entries, fast ? 1 : 9));
  return name;
}

/** RECORD's hash: sha256, urlsafe base64 without padding. */
const recordHash = (data: Uint8Array) => Buffer.from(sha256(data), "hex").toString("base64url");

/** A zip file of `entries` in the given order, deflated, every time stamp 1980-01-01 00:00. */
function zip(entries: ZipEntry[], level: 1 | 9): Buffer {
  const DOS_DATE = (1 << 5) | 1; // 1980-01-01; the time is 00:00:00
  const MADE_BY_UNIX = (3 << 8) | 20; // host system 3 (Unix): the external attributes are mode bits
  const locals: Uint8Array[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const packed = Bun.deflateSync(entry.data, { level });
    const crc = Bun.hash.crc32(entry.data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4); // version needed: deflate
    head.writeUInt16LE(8, 8); // method: deflate
    head.writeUInt16LE(DOS_DATE, 12);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(packed.length, 18);
    head.writeUInt32LE(entry.data.length, 22);
    head.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    head.copy(central, 6, 4, 30); // version needed … name length: as in the local header
    central.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38); // a regular file with its mode
    central.writeUInt32LE(offset, 42);
    locals.push(head, name, packed);
    centrals.push(central, name);
    offset += head.length + name.length + packed.length;
  }
  const size = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

if (import.meta.main) {
  const dir = process.argv[2] ?? "dist/release";
  for (const name of buildPackages(dir)) console.log(`packed ${name}`);
  writeSums(dir);
}
