// A release anyone can reproduce: two clean clones of HEAD, built and packed by scripts/release.ts,
// give the same bytes for the binary, its .gz and .xz, its npm tarballs, and the same SHA256SUMS lines. The
// second build runs pinned to one core, so the .xz cannot depend on how many cores packed it.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { NPM_SCOPE, tarballName } from "../scripts/packages";
import { REPO, sha256, xzFlags } from "../scripts/release";
import { has, tempDir, testIf } from "./helpers";

const ROOT = join(import.meta.dir, "..");
const TARGET = "bun-linux-x64"; // the native one: no runtime to fetch; the release builds it the same way
const ASSET = "wandb-login-linux-x64";
// and the npm tarballs made from it (the wheel for x86_64 is made from the baseline build: tests/packages.test.ts
// packs every package twice)
const FILES = [
  ASSET,
  `${ASSET}.gz`,
  `${ASSET}.xz`,
  tarballName("wandb-login"),
  tarballName(`${NPM_SCOPE}/linux-x64`),
];
const ready = has("git") && has("xz") && process.platform === "linux" && process.arch === "x64";
const oneCore = has("taskset") ? ["taskset", "-c", "0"] : [];

interface Release {
  sums: Map<string, string>; // name -> sha256, from the SHA256SUMS the build wrote
  bytes: Map<string, Buffer>;
  seconds: number;
}

function sh(args: string[], cwd?: string): string {
  const proc = Bun.spawnSync(args, { cwd, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${args.join(" ")} failed:\n${proc.stdout}${proc.stderr}`);
  return proc.stdout.toString();
}

/**
 * Clones HEAD into a new folder and runs `npm run release` for one target there. node_modules is a
 * hard-linked copy of this checkout's: the same files `npm ci` installs from the same package-lock.json,
 * at the same paths inside the clone, without 4 s and the network per clone.
 */
function releaseFromClone(prefix: string[]): Release {
  const started = performance.now();
  const clone = join(tempDir("wl-repro-"), "wandb-login");
  try {
    sh(["git", "clone", "-q", ROOT, clone]);
    sh(["cp", "-al", join(ROOT, "node_modules"), join(clone, "node_modules")]);
    const bun = join(clone, "node_modules", ".bin", "bun");
    sh([...prefix, bun, "scripts/release.ts", `--only=${TARGET}`, "--fast"], clone);
    const dir = join(clone, "dist", "release");
    const sums = new Map(
      readFileSync(join(dir, "SHA256SUMS"), "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split("  ").reverse() as [string, string]),
    );
    const bytes = new Map(FILES.map((name) => [name, readFileSync(join(dir, name))]));
    return { sums, bytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(join(clone, ".."), { recursive: true, force: true });
  }
}

describe("two release builds of HEAD give the same bytes", () => {
  let first: Release;
  let second: Release;
  beforeAll(() => {
    if (!ready) return;
    first = releaseFromClone([]);
    second = releaseFromClone(oneCore);
    console.log(
      `release builds: ${first.seconds.toFixed(1)} s and ${second.seconds.toFixed(1)} s (one core)`,
    );
  }, 240_000);

  const why = "needs git and xz on linux-x64";
  testIf(
    ready,
    "reproducible release",
    why,
  )("the binary, its .gz and its .xz, and the npm tarballs are identical", () => {
    for (const name of FILES)
      expect({ name, sha: sha256(second.bytes.get(name)!) }).toEqual({
        name,
        sha: sha256(first.bytes.get(name)!),
      });
  });

  testIf(
    ready,
    "reproducible release",
    why,
  )("SHA256SUMS gives the same line for each, and it is the file's checksum", () => {
    for (const name of FILES) {
      expect(second.sums.get(name)).toBe(first.sums.get(name)!);
      expect(first.sums.get(name)).toBe(sha256(first.bytes.get(name)!));
    }
    expect([...first.sums.keys()]).toEqual([...first.sums.keys()].sort());
    expect([...first.sums.keys()]).toContain("install.sh");
  });

  testIf(
    ready,
    "reproducible release",
    why,
  )("the .gz stores no file name and no mtime (as gzip -n)", () => {
    const gz = first.bytes.get(`${ASSET}.gz`)!;
    expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    expect(gz[3]).toBe(0); // FLG: no FNAME, no FCOMMENT, no FEXTRA
    expect(gz.readUInt32LE(4)).toBe(0); // MTIME
  });

  testIf(
    ready && oneCore.length > 0,
    "one-core release build",
    "taskset not installed",
  )("the second build really ran on one core", () => {
    expect(sh([...oneCore, "nproc"]).trim()).toBe("1");
  });
});

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}

describe("the release workflow", () => {
  const workflow = readFileSync(join(ROOT, ".github", "workflows", "release.yml"), "utf8");
  const jobs = (Bun.YAML.parse(workflow) as { jobs: Record<string, Job> }).jobs;
  const runs = (job: string) => jobs[job].steps.flatMap((step) => (step.run ? [step.run] : []));
  const release = readFileSync(join(ROOT, "scripts", "release.ts"), "utf8");

  test("packs with gzip -n, and xz with release.ts's fixed thread count, never -T0", () => {
    const command = (line: string) => line.replace(/ #.*$/, "");
    const gzips = (workflow.match(/^\s*gzip .*$/gm) ?? []).map(command);
    const xzs = (workflow.match(/^\s*xz .*$/gm) ?? []).map(command);
    expect(gzips.length).toBeGreaterThan(0);
    expect(xzs.length).toBeGreaterThan(0);
    for (const line of gzips) expect(line).toMatch(/ -9 -n /);
    for (const line of xzs) expect(line).toContain(` ${xzFlags().join(" ")} `);
    for (const line of [...gzips, ...xzs]) expect(line).not.toMatch(/-T0|--threads=0/);
    expect(xzFlags(true)).toContain("-T1");
  });

  test("SHA256SUMS is sorted in byte order on macOS too", () => {
    expect(workflow).toMatch(/shasum -a 256 .*\| LC_ALL=C sort -k 2 > SHA256SUMS/);
  });

  test("install.sh is uploaded once (release.ts puts it in dist/release)", () => {
    const create = runs("publish").filter((run) => run.includes("gh release create"));
    expect(create.length).toBe(1);
    expect(create[0].replace(/\\\n\s*/g, "").trim()).toMatch(/ dist\/release\/\*$/);
    expect(create[0]).not.toContain("install.sh");
    expect(release).toMatch(/"install\.sh"/);
  });

  test("every asset gets a build-provenance attestation before it is published", () => {
    const steps = jobs.publish.steps;
    const attest = steps.findIndex((step) => step.uses?.startsWith("actions/attest-build-provenance@"));
    const upload = steps.findIndex((step) => step.run?.includes("gh release create"));
    expect(attest).toBeGreaterThan(-1);
    expect(steps[attest].with).toEqual({ "subject-path": "dist/release/*" });
    expect(attest).toBeLessThan(upload);
    expect(jobs.publish.permissions).toMatchObject({ "id-token": "write", attestations: "write" });
  });

  test("npm and PyPI after the assets: the packages packed again from the re-signed binaries", () => {
    expect(jobs.packages.needs).toBe("sign-macos");
    expect(runs("packages").join("\n")).toContain("bun scripts/packages.ts dist/release");
    for (const job of ["npm", "pypi"]) {
      expect(jobs[job].needs).toBe("publish");
      expect(jobs[job].permissions).toMatchObject({ "id-token": "write" });
    }
    const npm = runs("npm").join("\n");
    expect(npm.match(/npm publish .* --provenance --access public/g)?.length).toBe(2);
    expect(npm.indexOf("wandb-login-*-")).toBeLessThan(npm.lastIndexOf("npm publish")); // platforms first
    const pypi = jobs.pypi.steps.find((step) => step.uses?.startsWith("pypa/gh-action-pypi-publish@"));
    expect(pypi?.with).toEqual({ "packages-dir": "dist/pypi/" });
    expect(runs("pypi").join("\n")).toContain("cp dist/release/wandb_login-*.whl dist/pypi/");
  });

  test("the image: image/Dockerfile for amd64 and arm64 from the linux binaries, pushed and attested", () => {
    const script = runs("image").join("\n");
    expect(script).toContain("docker buildx build -f image/Dockerfile --platform linux/amd64,linux/arm64");
    expect(script).toContain("cp dist/release/wandb-login-linux-x64 dist/image/amd64/wandb-login");
    expect(script).toContain("cp dist/release/wandb-login-linux-arm64 dist/image/arm64/wandb-login");
    expect(script).toContain(`image="ghcr.io/$(node -p 'require("./package.json").repository`);
    expect(script).toContain("push=true");
    const attest = jobs.image.steps.find((step) => step.uses?.startsWith("actions/attest-build-provenance@"));
    expect(attest?.with).toMatchObject({ "push-to-registry": true });
    expect(jobs.image.permissions).toMatchObject({
      packages: "write",
      "id-token": "write",
      attestations: "write",
    });
    expect(jobs.publish.needs).toContain("image"); // the release notes name the image by its digest
    expect(runs("publish").join("\n")).toContain(`COPY --from=$\{IMAGE} /wandb-login /usr/local/bin/`);
  });
});

describe("the repository is one value, package.json's, everywhere", () => {
  const docs = ["README.md", "docs/docker.md", "docs/install.md", "install.sh"].map((f) => [
    f,
    readFileSync(join(ROOT, f), "utf8"),
  ]);
  const workflow = readFileSync(join(ROOT, ".github", "workflows", "release.yml"), "utf8");

  test('package.json\'s "repository" is github:owner/name', () => {
    expect(pkg.repository).toMatch(/^github:[\w.-]+\/[\w.-]+$/);
    expect(REPO).toBe(pkg.repository.slice("github:".length));
  });

  test("install.sh downloads from it", () => {
    const installer = docs.find(([f]) => f === "install.sh")![1];
    expect(installer).toContain(`\nREPO="${REPO}" `);
  });

  test("every release URL, image and --repo in the README and its docs pages is it; no placeholder", () => {
    const uses =
      /github\.com\/([\w.-]+\/[\w.-]+)\/releases|ghcr\.io\/([\w.-]+\/[\w.-]+)|--repo ([\w.-]+\/[\w.-]+)/g;
    for (const [file, text] of docs) {
      if (file === "install.sh") continue; // it says $REPO, checked above
      const slugs = [...text.matchAll(uses)].map((m) => (m[1] ?? m[2] ?? m[3]).toLowerCase()); // ghcr: lower case
      expect({ file, slugs: [...new Set(slugs)] }).toEqual({ file, slugs: [REPO.toLowerCase()] });
    }
    for (const [file, text] of docs) {
      expect({ file, placeholders: text.match(/<owner>|<repo>|<slug>|OWNER\/REPO/g) }).toEqual({
        file,
        placeholders: null,
      });
    }
  });

  test("the README shows how to verify an asset's attestation, next to the installer", () => {
    const readme = docs.find(([f]) => f === "README.md")![1];
    const install = readme.indexOf("/releases/latest/download/install.sh && sh install.sh");
    const verify = readme.indexOf(`gh attestation verify install.sh --repo ${REPO}\n`);
    expect(install).toBeGreaterThan(-1);
    expect(verify).toBeGreaterThan(install);
    expect(readme.slice(install, verify).split("\n").length).toBeLessThan(12);
  });

  test("the release workflow reads it from package.json and checks it is the repository it runs in", () => {
    expect(workflow).toContain(`require("./package.json").repository`);
    expect(workflow).toContain("GITHUB_REPOSITORY");
    expect(workflow).not.toContain(REPO);
  });
});
