// npm run test:images: builds the Dockerfile recipes of docs/docker.md with a real engine (podman,
// chroot isolation) on a Debian 12 root file system made by debootstrap, with the release assets
// served from 127.0.0.1, and checks what a user would: the image runs `wandb-login --version`, a
// wrong checksum fails the build, the key is in no layer it should not be in; and the image to
// `COPY --from` (image/Dockerfile) holds only /wandb-login and works from a consumer. Prints one line per
// check and ends with "N passed, M failed, K skipped"; exits 1 on a failure. Needs root, podman
// and debootstrap; says SKIPPED without them. The root file system is cached between runs.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { build as compile } from "./build";
import { packageRelease, REPO } from "./release";

const ROOT = join(import.meta.dir, "..");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const BIN = join(ROOT, "dist", "wandb-login");
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "wandb-login-images");
const ROOTFS_TAR = join(CACHE, "debian-12-minbase.tar");
const BASE = "docker.io/library/debian:12-slim";
const DISTROLESS = "gcr.io/distroless/base-debian12";
const KEY = `wandb_v1_${"ImageLayerKey0123456789".repeat(3)}abcdefghijklmnopq`;
const CHECKS = 9;
/** The image to COPY --from, as a local manifest list. A fixed name: podman 4.3's `podman images` fails
 * while a list is stored, so a list left by a killed run is removed by the next. */
const CARRIER = `localhost/wl-carrier:${VERSION}`;

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
  counts.skipped = CHECKS;
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
/** Builds `dockerfile`; returns the image name and the build's output. Throws with the output when it fails. */
async function buildImage(
  dockerfile: string,
  args: Record<string, string> = {},
  extra: string[] = [],
): Promise<{ image: string; out: string }> {
  const image = `localhost/wl-recipe-${process.pid}-${++n}`;
  const ctx = join(work, `ctx-${n}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Dockerfile"), dockerfile);
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  const out = await mustAsync(
    ["podman", "build", "--isolation=chroot", "--pull=never", ...buildArgs, ...extra, "-t", image, ctx],
    `podman build (${dockerfile.split("\n").length} lines)`,
  );
  return { image, out };
}
const build = async (dockerfile: string, args: Record<string, string>, extra: string[] = []) =>
  (await buildImage(dockerfile, args, extra)).image;

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
sh(["podman", "manifest", "rm", CARRIER]); // left by a killed run
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

// --- the image to COPY --from ---

/** Every regular file in the saved image's layers: path, mode, sha256. */
function layerFiles(image: string): { path: string; mode: string; sha256: string }[] {
  const dir = join(work, `layers-${++n}`);
  mkdirSync(dir);
  must(["podman", "save", "--format", "docker-archive", "-o", join(dir, "image.tar"), image], "podman save");
  must(["tar", "-C", dir, "-xf", join(dir, "image.tar")], "untar image");
  return files(dir)
    .filter((f) => f.endsWith(".tar") && f !== "image.tar")
    .flatMap((layer) => {
      const out = join(dir, `${layer}.d`);
      mkdirSync(out, { recursive: true });
      must(["tar", "-C", out, "-xf", join(dir, layer)], "untar layer");
      return files(out).map((path) => ({
        path,
        mode: (statSync(join(out, path)).mode & 0o7777).toString(8),
        sha256: sha256(join(out, path)),
      }));
    });
}
const sha256 = (file: string) => must(["sha256sum", file], "sha256sum").split(" ")[0];

/** The file a FROM scratch consumer copied out of `from` for `platform`: its sha256. */
async function copiedOut(from: string, platform: string): Promise<string> {
  const image = await build(`FROM scratch\nCOPY --from=${from} /wandb-login /copied\n`, {}, [
    "--platform",
    platform,
  ]);
  const [file] = layerFiles(image);
  if (file?.path !== "copied") throw new Error(`the consumer holds ${file?.path}`);
  return file.sha256;
}

const carrier: Record<string, string> = {}; // arch -> per-arch image, tagged with the version
const binaries: Record<string, string> = {}; // arch -> sha256 of the binary it should hold

await check(
  "the image to COPY --from (image/Dockerfile): FROM scratch, only /wandb-login (0755), amd64 and arm64 in one list",
  async () => {
    const ctx = join(work, "carrier");
    for (const arch of ["amd64", "arm64"]) mkdirSync(join(ctx, arch), { recursive: true });
    writeFileSync(join(ctx, "amd64", "wandb-login"), readFileSync(BIN), { mode: 0o644 }); // --chmod sets 755
    compile(join(ctx, "arm64", "wandb-login"), "bun-linux-arm64");
    const dockerfile = join(ROOT, "image", "Dockerfile");
    for (const arch of ["amd64", "arm64"]) {
      binaries[arch] = sha256(join(ctx, arch, "wandb-login"));
      carrier[arch] = `localhost/wl-recipe-${process.pid}-carrier-${arch}:${VERSION}`;
      const platform = ["--platform", `linux/${arch}`, "-f", dockerfile];
      await mustAsync(
        ["podman", "build", "--isolation=chroot", "--pull=never", ...platform, "-t", carrier[arch], ctx],
        `podman build image/Dockerfile for ${arch}`,
      );
      const held = layerFiles(carrier[arch]);
      const want = [{ path: "wandb-login", mode: "755", sha256: binaries[arch] }];
      if (JSON.stringify(held) !== JSON.stringify(want))
        throw new Error(`${arch}: holds ${JSON.stringify(held)}, not ${JSON.stringify(want)}`);
    }
    must(["podman", "manifest", "create", CARRIER], "podman manifest create");
    for (const arch of ["amd64", "arm64"])
      must(
        ["podman", "manifest", "add", CARRIER, `containers-storage:${carrier[arch]}`],
        "podman manifest add",
      );
    for (const arch of ["amd64", "arm64"]) {
      const got = await copiedOut(CARRIER, `linux/${arch}`);
      if (got !== binaries[arch])
        throw new Error(`COPY --from the list for ${arch} gave ${got}, not ${binaries[arch]}`);
    }
  },
);

await check(
  "COPY --from it, pinned by digest, as docs/docker.md prints it: --version and a store run in debian:12-slim",
  async () => {
    if (!carrier.amd64) throw new Error("needs the image above");
    const published = `ghcr.io/${REPO.toLowerCase()}:${VERSION}@sha256:…`;
    const text = recipe("copy-from");
    if (!text.includes(`COPY --from=${published} /wandb-login /usr/local/bin/`))
      throw new Error(`the copy-from recipe does not copy from ${published}`);
    const digest = must(
      ["podman", "image", "inspect", "--format", "{{.Digest}}", carrier.amd64],
      "inspect",
    ).trim();
    const store = `RUN printf '%s\\n' ${KEY} | wandb-login --stdin && cat /root/.netrc && sha256sum /usr/local/bin/wandb-login\n`;
    const { out } = await buildImage(text.replace(published, `${carrier.amd64}@${digest}`) + store);
    for (const want of [
      `\n${VERSION}\n`,
      `Stored the API key`,
      `machine api.wandb.ai\n  login user\n  password ${KEY}\n`,
      `${binaries.amd64}  /usr/local/bin/wandb-login`,
    ])
      if (!out.includes(want))
        throw new Error(`the build did not print ${JSON.stringify(want)}:\n${out.slice(-1500)}`);
  },
);

server.stop(true);
sh(["podman", "manifest", "rm", CARRIER]); // before `podman images`, which fails while a list is stored
const images = sh([
  "podman",
  "images",
  "--format",
  "{{.Repository}}:{{.Tag}}",
  "--filter",
  `reference=localhost/wl-recipe-${process.pid}-*`,
]);
for (const image of images.out.split("\n").filter(Boolean)) sh(["podman", "rmi", "-f", image]);
console.log(
  `wandb-login ${VERSION}: docker recipes checked in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
finish();
