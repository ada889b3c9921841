// Issue 12: which key the SDK will really send. Settings keys belong to their own host, the netrc
// `default` entry is a fallback as in Python, status names every source, and a file Python cannot
// read is warned about. Python's netrc and configparser judge; the W&B SDK too when installed.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  fakeApi,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  pythonNetrc,
  read,
  runCli,
  runCliAsync,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;
const KEY_B = "b".repeat(40);
const KEY_C = `local-${"c".repeat(40)}`;
const hasWandb = hasPython && Bun.spawnSync(["python3", "-c", "import wandb"]).exitCode === 0;

/** A home with a settings file (optionally naming a host) and a netrc. */
function homeWith(opts: { settingsKey?: string; settingsHost?: string; netrc?: string }): string {
  const home = tempDir();
  const cfg = join(home, ".config", "wandb");
  mkdirSync(cfg, { recursive: true });
  const lines = ["[default]"];
  if (opts.settingsKey) lines.push(`api_key = ${opts.settingsKey}`);
  if (opts.settingsHost) lines.push(`base_url = ${opts.settingsHost}`);
  writeFileSync(join(cfg, "settings"), `${lines.join("\n")}\n`);
  if (opts.netrc !== undefined) writeFileSync(join(home, ".netrc"), opts.netrc);
  return home;
}

describe("a settings api_key belongs to its own host", () => {
  test("status --host another server does not report (and --verify does not send) it", async () => {
    const api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    try {
      const home = homeWith({ settingsKey: KEY40 }); // no base_url: the key is the public cloud's
      const status = await runCliAsync(["status", "--verify", "--host", api.url], { home });
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(`No API key configured for ${api.url}`);
      const login = await runCliAsync(["--verify", "--host", api.url], { home });
      expect(login.code).toBe(1);
      expect(login.stderr).toContain("No API key configured.");
      expect(api.seen).toEqual([]);
      expect(runCli(["status"], { home }).code).toBe(0); // for the cloud it is found
    } finally {
      api.stop();
    }
  });

  test("a workspace file without base_url inherits the system file's host", () => {
    const home = homeWith({ settingsHost: "https://self.example" });
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\napi_key = ${KEY40}\n`);
    const r = runCli(["status", "--json"], { home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      host: "https://self.example",
      source: join(home, "wandb", "settings"),
    });
  });
});

describe("the netrc default entry", () => {
  test("a key-shaped default password is used, named '(default entry)', as Python falls back to it", () => {
    const home = homeWith({
      netrc: `machine other login a password b\ndefault login user password ${KEY40}\n`,
    });
    const r = runCli([], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`W&B API key is configured (from ${join(home, ".netrc")} (default entry))`);
    expect(JSON.parse(runCli(["status", "--json"], { home }).stdout).source).toBe(
      `${join(home, ".netrc")} (default entry)`,
    );
    if (hasPython) expect(pythonNetrc(join(home, ".netrc"), "api.wandb.ai")).toEqual(["user", "", KEY40]);
  });

  test("a default entry holding something else (anonymous ftp) is not a W&B key to login; the SDK fails on it", () => {
    const home = homeWith({ netrc: "default login anonymous password guest@\n" });
    const login = runCli([], { home });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("No API key configured");
    const r = runCli(["status"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "The W&B SDK will fail for https://api.wandb.ai: the netrc default entry password is not a valid API key",
    );
  });
});

describe("status shows every source, and the one the SDK sends", () => {
  const setup = () =>
    homeWith({
      settingsKey: KEY_B,
      netrc: `${entry("api.wandb.ai", KEY_C)}default login u password ${KEY40}\n`,
    });

  test("three sources with different keys: login's pick (env) and the SDK's (env) are marked", () => {
    const home = setup();
    const r = runCli(["status", "--json"], { home, env: { WANDB_API_KEY: KEY_V1 } });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.source).toBe("WANDB_API_KEY");
    expect(out.sources).toEqual([
      { source: "WANDB_API_KEY", key: `wandb_v1_…${KEY_V1.slice(-4)}`, login: true, sdk: true },
      { source: join(home, ".config", "wandb", "settings"), key: "…bbbb", login: false, sdk: false },
      { source: join(home, ".netrc"), key: "…cccc", login: false, sdk: false },
    ]);
    expect(r.stderr).toContain(
      "These sources hold different keys: both wandb-login and the W&B Python SDK use the one from WANDB_API_KEY.",
    );
    expect(leaks(r.stderr + r.stdout, KEY_V1) || leaks(r.stderr + r.stdout, KEY_B)).toBe(false);
  });

  test("without WANDB_API_KEY login takes the settings key, the SDK the netrc's, and status says so", () => {
    const home = setup();
    const r = runCli(["status"], { home });
    expect(r.code).toBe(0);
    const settings = join(home, ".config", "wandb", "settings");
    expect(r.stderr).toContain(`API key: …bbbb from ${settings} (used by wandb-login)`);
    expect(r.stderr).toContain(`API key: …cccc from ${join(home, ".netrc")} (sent by the W&B Python SDK)`);
    expect(r.stderr).toContain(
      `wandb-login uses the one from ${settings}; the W&B Python SDK sends the one from ${join(home, ".netrc")}.`,
    );
    expect(runCli([], { home }).stderr).toContain(`(from ${settings})`);
  });

  test("one source, or several with the same key: no warning", () => {
    const home = homeWith({ settingsKey: KEY40, netrc: entry("api.wandb.ai", KEY40) });
    const r = runCli(["status"], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("different keys");
  });

  testIf(
    hasWandb,
    "W&B SDK judge",
    "the wandb Python package is not installed",
  )("the key status marks as the SDK's is the one the W&B SDK resolves", () => {
    const home = setup();
    const marked = JSON.parse(runCli(["status", "--json"], { home }).stdout).sources.find(
      (s: { sdk: boolean }) => s.sdk,
    );
    const script = "import wandb\nfrom wandb.apis import InternalApi\nprint(InternalApi().api_key)";
    const sdk = Bun.spawnSync(["python3", "-c", script], {
      env: { PATH: process.env.PATH ?? "", HOME: home, WANDB_SILENT: "true" },
      cwd: home,
      stdout: "pipe",
    });
    expect(sdk.stdout.toString().trim().slice(-4)).toBe(marked.key.slice(-4));
  });
});

describe("a netrc that Python cannot read, and a NETRC in a missing folder", () => {
  test.each([
    [
      "a comment after a blank line",
      "machine a login b password c\n\n# two words\nmachine d login e password f\n",
    ],
    ["a NUL byte", "machine a login b password c\n\0\n"],
    ["a byte that is not UTF-8", "machine a login b password c\xff\n"],
  ])("%s: the key is stored, with Python's error and the line to fix", (_, before) => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), before, "latin1");
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /Python's netrc cannot read .*line \d+.*will not find the key until that line is fixed/,
    );
    expect(read(join(home, ".netrc"))).toBe(before + entry("api.wandb.ai", KEY40));
    if (hasPython) expect(pythonNetrc(join(home, ".netrc"), "api.wandb.ai")).toHaveProperty("error");
  });

  testIf(
    hasPython,
    "Python netrc judge",
    "python3 not installed",
  )("a file Python reads gets no such warning", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "# ünïcode comment\nmachine a login b password c\n");
    const r = runCli([KEY40], { home });
    expect(r.stderr).not.toContain("cannot read");
    expect(pythonNetrc(join(home, ".netrc"), "api.wandb.ai")).toEqual(["user", "", KEY40]);
  });

  test("NETRC in a folder that does not exist: exit 1 naming the folder, nothing created", () => {
    const home = tempDir();
    const r = runCli([KEY40], { home, env: { NETRC: join(home, "typo", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the folder ${join(home, "typo")} does not exist`);
    expect(existsSync(join(home, "typo"))).toBe(false);
  });
});

test("--relogin with a stored key and no terminal says it needs a terminal and how to pass the key", () => {
  const home = homeWith({ netrc: entry("api.wandb.ai", KEY40) });
  const r = runCli(["--relogin"], { home });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("--relogin needs a terminal to prompt on; pass the key as an argument");
  expect(r.stderr).not.toContain("No API key configured");
  expect(readdirSync(home).sort()).toEqual([".config", ".netrc"]);
});
