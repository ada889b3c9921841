// npm run test:images: builds the Dockerfile recipes of docs/docker.md with a real engine (podman,
// chroot isolation) on a Debian 12 root file system made by debootstrap, with the release assets
// served from 127.0.0.1, and checks what a user would: the image runs `wandb-login --version`, a
// wrong checksum fails the build, the key is in no layer it should not be in. Prints one line per
// check and ends with "N passed, M failed, K skipped"; exits 1 on a failure. Needs root, podman
// and debootstrap; says SKIPPED without them. The root file system is cached between runs.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { packageRelease } from "./release";

const ROOT = join(import.meta.dir, "..");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const BIN = join(ROOT, "dist", "wandb-login");
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "wandb-login-images");
const ROOTFS_TAR = join(CACHE, "debian-12-minbase.tar");
const BASE = "docker.io/library/debian:12-slim";
const DISTROLESS = "gcr.io/distroless/base-debian12";
const KEY = `wandb_v1_${"ImageLayerKey0123456789".repeat(3)}abcdefghijklmnopq`;

const counts = { passed: 0, failed: 0, skipped: 0 };
const work = join(tmpdir(), `wl-images-${process.pid}`);
mkdirSync(work, { recursive: true });

function sh(args: string[], opts: { cwd?: string } = {}): { code: number; out: string } {
  const proc = Bun.spawnSync(args, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? -1, out: proc.stdout.toString() + proc.stderr.toString() };
}

function must(args: string[], what: string): string {
  const r = sh(args);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out.slice(-2000)}`);
  return r.out;
}

async function check(name: string, body: () => void | Promise<void>): Promise<void> {
  const started = performance.now();
  try {
    await body();
    counts.passed++;
    console.log(`PASS ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    counts.failed++;
    console.log(`FAIL ${name}: ${(e as Error).message}`);
  }
}

function finish(): never {
  rmSync(work, { recursive: true, force: true });
  console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  process.exit(counts.failed ? 1 : 0);
}

// --- the recipes, as docs/docker.md prints them ---

const docs = readFileSync(join(ROOT, "docs", "docker.md"), "utf8");
function recipe(id: string): string {
  const found = new RegExp(`<!-- recipe: ${id} -->\\n\`\`\`dockerfile\\n([\\s\\S]*?)\`\`\``).exec(docs);
  if (!found) throw new Error(`docs/docker.md has no recipe "${id}"`);
  return found[1];
}
/** podman 4.3 rejects ADD --checksum: the one change made to a recipe, named in its check. */
const withoutChecksum = (text: string) => text.replace(/ --checksum=\S+/g, "");

// --- preconditions ---

const missing = [
  process.getuid?.() === 0 ? null : "needs root (podman build --isolation=chroot)",
  Bun.which("podman") ? null : "podman not installed (Debian package podman)",
  Bun.which("debootstrap") || existsSync(ROOTFS_TAR) ? null : "debootstrap not installed",
  existsSync(BIN) ? null : "dist/wandb-login not built (npm run build)",
].filter(Boolean);
if (missing.length) {
  console.log(`SKIPPED docker recipes: ${missing.join("; ")}`);
  counts.skipped = 7;
  finish();
}

/** The Debian mirror apt is configured with here: debootstrap fetches from it. */
function debianMirror(): string {
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    if (!existsSync(file)) continue;
    const uri = /^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s*$/m.exec(readFileSync(file, "utf8"));
    if (uri) return uri[1];
  }
  return "http://deb.debian.org/debian";
}

/** The base images: debian:12-slim from a cached minbase root file system, and a shell-less one. */
function baseImages(): void {
  if (!existsSync(ROOTFS_TAR)) {
    mkdirSync(CACHE, { recursive: true });
    const dir = join(work, "rootfs");
    console.log(`making ${ROOTFS_TAR} with debootstrap from ${debianMirror()} (once; cached)`);
    must(["debootstrap", "--variant=minbase", "bookworm", dir, debianMirror()], "debootstrap");
    must(["tar", "-C", dir, "-cf", `${ROOTFS_TAR}.part`, "."], "tar");
    must(["mv", `${ROOTFS_TAR}.part`, ROOTFS_TAR], "mv");
  }
  const exists = (image: string) => sh(["podman", "image", "exists", image]).code === 0;
  if (!exists(BASE)) must(["podman", "import", ROOTFS_TAR, BASE], "podman import debian");
  if (exists(DISTROLESS)) return;
  const libs = join(work, "libs");
  mkdirSync(libs);
  const members = [
    "./lib",
    "./lib64",
    "./usr/lib64/ld-linux-x86-64.so.2",
    ...["ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2"].map(
      (f) => `./usr/lib/x86_64-linux-gnu/${f}`,
    ),
    "./etc/passwd",
    "./etc/group",
    "./tmp",
  ];
  must(["tar", "-C", libs, "-xf", ROOTFS_TAR, ...members], "tar of the C library files");
  must(["tar", "-C", libs, "-cf", join(work, "distroless.tar"), "."], "tar distroless");
  must(["podman", "import", join(work, "distroless.tar"), DISTROLESS], "podman import distroless");
  const listing = must(["tar", "-tf", join(work, "distroless.tar")], "tar -t");
  if (/(^|\/)s?bin\/(ba|da)?sh$/m.test(listing)) throw new Error("the distroless stand-in has a shell");
}

/** The release folder served on 127.0.0.1: the built binary, packed, install.sh, SHA256SUMS. */
function releaseFolder(): string {
  const dir = join(work, "release");
  mkdirSync(dir);
  for (const name of ["wandb-login-linux-x64", "wandb-login-linux-x64-baseline"]) {
    writeFileSync(join(dir, name), readFileSync(BIN), { mode: 0o755 });
  }
  writeFileSync(join(dir, "install.sh"), readFileSync(join(ROOT, "install.sh")));
  packageRelease(dir, true);
  return dir;
}

/** Like `must`, without blocking: the release server answers from this same process meanwhile. */
async function mustAsync(args: string[], what: string): Promise<string> {
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${(out + err).slice(-2000)}`);
  return out + err;
}

let n = 0;
/** Builds `dockerfile`; returns the image name. Throws with the build's output when it fails. */
async function build(
  dockerfile: string,
  args: Record<string, string>,
  extra: string[] = [],
): Promise<string> {
  const image = `localhost/wl-recipe-${process.pid}-${++n}`;
  const ctx = join(work, `ctx-${n}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Dockerfile"), dockerfile);
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  await mustAsync(
    ["podman", "build", "--isolation=chroot", "--pull=never", ...buildArgs, ...extra, "-t", image, ctx],
    `podman build (${dockerfile.split("\n").length} lines)`,
  );
  return image;
}

/** The regular files below `dir`, as relative paths; links are not followed (a rootfs has loops). */
function files(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) return files(dir, path);
    return e.isFile() ? [path] : [];
  });
}

/** Every file, in every layer of the saved image, whose bytes contain `needle`. */
function filesContaining(image: string, needle: string): string[] {
  const dir = join(work, `save-${image.split("-").at(-1)}`);
  mkdirSync(dir);
  must(["podman", "save", "--format", "docker-archive", "-o", join(dir, "image.tar"), image], "podman save");
  must(["tar", "-C", dir, "-xf", join(dir, "image.tar")], "untar image");
  const found: string[] = [];
  const layers = files(dir).filter((f) => f.endsWith(".tar") && f !== "image.tar");
  for (const layer of layers) {
    const out = join(dir, `${layer}.d`);
    mkdirSync(out, { recursive: true });
    must(["tar", "-C", out, "-xf", join(dir, layer)], "untar layer");
    for (const file of files(out)) if (readFileSync(join(out, file)).includes(needle)) found.push(file);
  }
  const config = readdirSync(dir).filter((f) => f.endsWith(".json"));
  for (const f of config)
    if (readFileSync(join(dir, f), "utf8").includes(needle)) found.push(`(image config ${f})`);
  return found;
}

const started = performance.now();
try {
  baseImages();
} catch (e) {
  console.log(`FAIL base images: ${(e as Error).message}`);
  counts.failed++;
  finish();
}
const release = releaseFolder();
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = join(release, decodeURIComponent(new URL(req.url).pathname));
    return existsSync(path) ? new Response(Bun.file(path)) : new Response("not found", { status: 404 });
  },
});
const url = `http://127.0.0.1:${server.port}`;
const sums = readFileSync(join(release, "SHA256SUMS"), "utf8");
const sha = /^([0-9a-f]{64}) {2}wandb-login-linux-x64$/m.exec(sums)![1];
const args = { WANDB_LOGIN_URL: url, WANDB_LOGIN_SHA256: sha };
const keyFile = join(work, "wandb_key.txt");
writeFileSync(keyFile, `${KEY}\n`);
const runsVersion = async (image: string, exec = false) =>
  await build(
    `FROM ${image}\n${exec ? 'RUN ["/usr/local/bin/wandb-login", "--version"]' : "RUN wandb-login --version"}\n`,
    {},
  );
const slimImage: string[] = [];

await check(
  "slim, ADD --chmod (built with --checksum taken out: podman 4.3 rejects it); the pin is the served asset's sha256",
  async () => {
    const pinned = must(["sha256sum", join(release, "wandb-login-linux-x64")], "sha256sum").split(" ")[0];
    if (pinned !== sha) throw new Error(`SHA256SUMS says ${sha}, the served asset is ${pinned}`);
    const image = await build(withoutChecksum(recipe("slim")), args);
    await runsVersion(image);
    slimImage.push(image);
  },
);

await check("curl + sha256sum -c: builds and runs; a wrong checksum fails the build", async () => {
  await runsVersion(await build(recipe("curl"), args));
  let failed = false;
  try {
    await build(recipe("curl"), { ...args, WANDB_LOGIN_SHA256: "0".repeat(64) });
  } catch {
    failed = true;
  }
  if (!failed) throw new Error("the build with a wrong checksum succeeded");
});

await check(
  "installer (downloaded to a file, then run): builds, and the image runs wandb-login",
  async () => {
    await runsVersion(await build(recipe("installer"), args));
  },
);

await check(
  "distroless: multi-stage into a shell-less image (fetch stage without --checksum); runs there",
  async () => {
    const image = await build(withoutChecksum(recipe("distroless")), args);
    await runsVersion(image, true);
  },
);

/** Builds a recipe on top of the slim image, with the key as a build secret; where the key ended up. */
async function keyLayers(id: string): Promise<string[]> {
  if (!slimImage[0]) throw new Error("needs the slim image");
  const secret = ["--secret", `id=wandb_key,src=${keyFile}`];
  return filesContaining(await build(`FROM ${slimImage[0]}\n${recipe(id)}`, {}, secret), KEY);
}

await check("BuildKit secret: the key is in no layer but the netrc file the step writes", async () => {
  const found = await keyLayers("secret");
  if (found.join() !== "root/.netrc") throw new Error(`key found in ${found.join(", ")}`);
});

await check("log in when the container starts: the key is in no layer at all", async () => {
  const found = await keyLayers("at-start");
  if (found.length) throw new Error(`key found in ${found.join(", ")}`);
});

await check("multi-arch (amd64): TARGETARCH picks the asset, checked against SHA256SUMS", async () => {
  await runsVersion(
    await build(recipe("multi-arch"), { WANDB_LOGIN_URL: url }, ["--platform", "linux/amd64"]),
  );
});

server.stop(true);
const images = sh([
  "podman",
  "images",
  "--format",
  "{{.Repository}}",
  "--filter",
  `reference=localhost/wl-recipe-${process.pid}-*`,
]);
for (const image of images.out.split("\n").filter(Boolean)) sh(["podman", "rmi", "-f", image]);
console.log(
  `wandb-login ${VERSION}: docker recipes checked in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
finish();
