// action.yml's steps, run as a GitHub runner runs a composite action, against a fake runner: inputs and
// ${{ }} expressions filled in, each step's `run` under `bash -eo pipefail`, GITHUB_ENV, GITHUB_PATH and
// GITHUB_OUTPUT files read back between steps, and `::add-mask::` applied to the log. The release comes
// from a loopback mirror (Bun.serve), the job's OIDC token from a loopback endpoint, `verify` asks a
// fake W&B API. The key must never show in the log, the environment files or a command line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { REPO } from "../scripts/release";
import {
  entry,
  fakeApi,
  jwt,
  KEY40,
  MACHINE,
  modeOf,
  PACKAGE_VERSION,
  read,
  realRelease,
  runCommand,
  tempDir,
  VIEWER,
} from "./helpers";

const ROOT = join(import.meta.dir, "..");
interface Step {
  name: string;
  id?: string;
  shell: string;
  env?: Record<string, string>;
  run: string;
}
interface Action {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}
const action = Bun.YAML.parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as Action;

interface Job {
  failedStep?: string; // the step that failed; later ones did not run
  code: number;
  log: string; // what the job's log shows: masked, without the ::add-mask:: lines
  raw: string; // everything printed, unmasked, without the ::add-mask:: lines
  githubEnv: string;
  githubPath: string[];
  outputs: Record<string, string>;
  home: string;
  env: Record<string, string>; // a later step's environment: GITHUB_ENV's variables, GITHUB_PATH on PATH
}

/** `name=value` lines and `name<<DELIMITER` blocks, as the runner reads GITHUB_ENV and GITHUB_OUTPUT. */
function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = lines[i].match(/^([^=<]+)<<(.+)$/);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      out[heredoc[1]] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (lines[i].includes("=")) {
      const at = lines[i].indexOf("=");
      out[lines[i].slice(0, at)] = lines[i].slice(at + 1);
    }
  }
  return out;
}

/** Runs the composite action's steps in order with `inputs`, as the runner would. */
async function runAction(inputs: Record<string, string>, runner: Record<string, string> = {}): Promise<Job> {
  const home = tempDir("wl-runner-");
  const temp = join(home, "runner-temp");
  mkdirSync(temp);
  const steps: Record<string, Record<string, string>> = {};
  const values = (expr: string): string => {
    const [scope, name, ...rest] = expr.split(".");
    if (scope === "inputs") return inputs[name] ?? action.inputs[name]?.default ?? "";
    if (scope === "github" && name === "action_path") return ROOT;
    if (scope === "steps" && rest[0] === "outputs") return steps[name]?.[rest[1]] ?? "";
    throw new Error(`the harness knows no \${{ ${expr} }}`);
  };
  const fill = (text: string) => text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expr) => values(expr));
  const jobEnv: Record<string, string> = {};
  const githubPath: string[] = [];
  const masks: string[] = [];
  let githubEnv = "";
  let log = "";
  let raw = "";
  const base = {
    HOME: home,
    CI: "true",
    GITHUB_ACTIONS: "true",
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_TEMP: temp,
    ...runner,
  };
  const envFor = () => ({
    ...base,
    ...jobEnv,
    PATH: [...githubPath]
      .reverse()
      .concat(process.env.PATH ?? "/usr/bin:/bin")
      .join(":"),
  });
  for (const [n, step] of action.runs.steps.entries()) {
    const files = {
      GITHUB_ENV: join(temp, `env-${n}`),
      GITHUB_PATH: join(temp, `path-${n}`),
      GITHUB_OUTPUT: join(temp, `output-${n}`),
    };
    for (const file of Object.values(files)) writeFileSync(file, "");
    const script = join(temp, `step-${n}.sh`);
    writeFileSync(script, fill(step.run));
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, fill(String(v))]));
    expect(step.shell).toBe("bash");
    // not spawnSync: the mirror and the fakes answer from this process's event loop
    const proc = Bun.spawn(
      ["bash", "-c", 'exec 2>&1; exec bash --noprofile --norc -eo pipefail "$0"', script],
      {
        env: { ...envFor(), ...files, ...stepEnv },
        cwd: home,
        stdout: "pipe",
      },
    );
    const [output, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    for (const line of output.split(/(?<=\n)/)) {
      const mask = line.match(/^::add-mask::(.*)\n?$/);
      if (mask) {
        masks.push(mask[1]);
        continue;
      }
      raw += line;
      log += masks.reduce((text, secret) => text.split(secret).join("***"), line);
    }
    githubEnv += read(files.GITHUB_ENV);
    Object.assign(jobEnv, parseCommandFile(read(files.GITHUB_ENV)));
    githubPath.push(...read(files.GITHUB_PATH).split("\n").filter(Boolean));
    if (step.id) steps[step.id] = parseCommandFile(read(files.GITHUB_OUTPUT));
    if (code !== 0) {
      return {
        failedStep: step.name,
        code,
        log,
        raw,
        githubEnv,
        githubPath,
        outputs: {},
        home,
        env: envFor(),
      };
    }
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([k, o]) => [k, fill(o.value)]));
  return { code: 0, log, raw, githubEnv, githubPath, outputs, home, env: envFor() };
}

// --- the loopback release mirror: /download/v<version>/<asset>, as GitHub's releases ---

const mirror = { good: tempDir("wl-mirror-"), tampered: tempDir("wl-mirror-") };
let server: ReturnType<typeof Bun.serve>;
const requested: string[] = [];
beforeAll(() => {
  realRelease(mirror.good);
  cpSync(mirror.good, mirror.tampered, { recursive: true });
  for (const name of ["wandb-login-linux-x64.xz", "wandb-login-linux-x64-baseline.xz"]) {
    const file = join(mirror.tampered, name);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(file, bytes);
  }
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requested.push(path);
      const [, version, name] = path.match(/^\/download\/v([^/]+)\/([^/]+)$/) ?? [];
      const folder = version === PACKAGE_VERSION ? mirror.good : version === "6.6.6" ? mirror.tampered : null;
      const file = folder && join(folder, name);
      return file && existsSync(file)
        ? new Response(Bun.file(file))
        : new Response("not found", { status: 404 });
    },
  });
}, 60_000);
afterAll(() => server?.stop(true));
const releases = () => ({ WANDB_LOGIN_RELEASES_URL: `http://127.0.0.1:${server.port}` });

/** The key never printed (masked or not), never in GITHUB_ENV or an output, never in a step's script. */
function expectKeyKept(job: Job, key: string): void {
  expect(job.raw).not.toContain(key);
  expect(job.log).not.toContain(key);
  expect(job.githubEnv).not.toContain(key);
  expect(JSON.stringify(job.outputs)).not.toContain(key);
  expect(JSON.stringify(job.env)).not.toContain(key);
}

describe("action.yml as written", () => {
  test("masks the key first, reads it only from env (no expression in a script), sends it on stdin", () => {
    const [first, ...rest] = action.runs.steps;
    expect(action.runs.using).toBe("composite");
    expect(first.run).toContain('echo "::add-mask::$line"');
    expect(first.env).toEqual({ API_KEY: `$${"{{"} inputs.api-key }}` }); // the runner fills it in
    for (const step of action.runs.steps) expect(step.run).not.toContain("inputs.");
    const login = rest.at(-1)!;
    expect(login.run).toContain(`printf '%s\\n' "$API_KEY" | "$BINARY" --stdin`);
    expect(Object.keys(action.inputs).sort()).toEqual(["api-key", "host", "identity", "verify", "version"]);
  });

  test("installs the release of package.json's version and repository by default", () => {
    expect(action.inputs.version.default).toBe(pkg.version);
    const text = readFileSync(join(ROOT, "action.yml"), "utf8");
    expect([...new Set(text.match(/github\.com\/[\w.-]+\/[\w.-]+/g))]).toEqual([`github.com/${REPO}`]);
  });
});

describe("the action's steps on a fake runner", () => {
  test("api-key: the checked binary on PATH, the key stored, a later step runs wandb-login status", async () => {
    const job = await runAction({ "api-key": KEY40 }, releases());
    expect({ failed: job.failedStep, log: job.code ? job.log : "" }).toEqual({ failed: undefined, log: "" });
    expect(requested).toContain(`/download/v${PACKAGE_VERSION}/SHA256SUMS`);
    expect(job.githubPath).toEqual([join(job.home, "runner-temp", `wandb-login-${PACKAGE_VERSION}`)]);
    expect(job.outputs).toEqual({ path: join(job.githubPath[0], "wandb-login"), version: PACKAGE_VERSION });
    expect(read(join(job.home, ".netrc"))).toBe(entry(MACHINE, KEY40));
    expect(modeOf(join(job.home, ".netrc"))).toBe(0o600);
    const later = runCommand(["wandb-login", "status"], { home: job.home, env: job.env });
    expect({ code: later.code, err: later.stderr }).toMatchObject({
      code: 0,
      err: expect.stringContaining("…4567"),
    });
    expectKeyKept(job, KEY40);
  }, 60_000);

  test("host and verify: the fake W&B API is asked with the key, the host's machine entry written", async () => {
    using api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    const job = await runAction({ "api-key": ` ${KEY40}\n`, host: api.url, verify: "true" }, releases());
    expect(job.failedStep).toBeUndefined();
    expect(api.seen.map((s) => s.headers.authorization)).toContain(
      `Basic ${Buffer.from(`api:${KEY40}`).toString("base64")}`,
    );
    expect(read(join(job.home, ".netrc"))).toBe(entry(`127.0.0.1:${api.port}`, KEY40));
    expect(job.log).toContain("alice");
    expectKeyKept(job, KEY40);
  }, 60_000);

  test("a key the server refuses: the job fails at the login, the key never printed", async () => {
    using api = fakeApi({ viewers: {} });
    const job = await runAction({ "api-key": KEY40, host: api.url, verify: "true" }, releases());
    expect({ failed: job.failedStep, code: job.code }).toEqual({ failed: "Log in", code: 1 });
    expect(existsSync(join(job.home, ".netrc"))).toBe(false);
    expectKeyKept(job, KEY40);
  }, 60_000);

  test("an api-key that is not a key: exit 1, the value masked", async () => {
    const secret = "my secret password, not a key";
    const job = await runAction({ "api-key": secret }, releases());
    expect({ failed: job.failedStep, code: job.code }).toEqual({ failed: "Log in", code: 1 });
    expect(job.log).toMatch(/key/i);
    expectKeyKept(job, secret);
  }, 60_000);

  test("an empty api-key (a secret that is not set) fails the job, saying so", async () => {
    const job = await runAction({}, releases());
    expect(job.failedStep).toBe("Log in");
    expect(job.log).toContain("::error::api-key is empty (is the secret set?); or use identity: true");
  }, 60_000);

  test("identity: true, keyless: the job's OIDC token in RUNNER_TEMP, named in GITHUB_ENV; verify exchanges it", async () => {
    const token = jwt(300);
    const oidc = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        req.headers.get("authorization") === "Bearer request-token-abcdef123456"
          ? Response.json({ value: token })
          : new Response("", { status: 401 }),
    });
    using api = fakeApi({
      answer: (req) => {
        if (new URL(req.url).pathname === "/oidc/token")
          return Response.json({ access_token: "access-1", expires_in: 3600 });
        if (req.headers.get("authorization") === "Bearer access-1")
          return Response.json({ data: { viewer: VIEWER } });
      },
    });
    try {
      const job = await runAction(
        { identity: "true", host: api.url, verify: "true" },
        {
          ...releases(),
          ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${oidc.port}/_apis/token?api-version=2.0`,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token-abcdef123456",
        },
      );
      expect({ failed: job.failedStep, log: job.code ? job.log : "" }).toEqual({
        failed: undefined,
        log: "",
      });
      const file = join(job.home, "runner-temp", "wandb-identity-token");
      expect(read(file).trim()).toBe(token);
      expect(job.githubEnv).toBe(`WANDB_IDENTITY_TOKEN_FILE=${file}\n`);
      expect(job.env.WANDB_IDENTITY_TOKEN_FILE).toBe(file);
      expect(api.seen.some((s) => new URL(s.url).pathname === "/oidc/token")).toBe(true);
      expect(job.raw).not.toContain(token);
      expect(existsSync(join(job.home, ".netrc"))).toBe(false);
    } finally {
      oidc.stop(true);
    }
  }, 60_000);

  test("a checksum mismatch fails the install before anything runs; nothing on PATH, nothing logged in", async () => {
    const job = await runAction({ "api-key": KEY40, version: "6.6.6" }, releases());
    expect({ failed: job.failedStep, code: job.code }).toEqual({ failed: "Install wandb-login", code: 1 });
    expect(job.log).toContain("checksum mismatch");
    expect(job.githubPath).toEqual([]);
    expect(existsSync(join(job.home, "runner-temp", "wandb-login-6.6.6", "wandb-login"))).toBe(false);
    expect(existsSync(join(job.home, ".netrc"))).toBe(false);
    expectKeyKept(job, KEY40);
  }, 60_000);
});
