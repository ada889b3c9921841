// `wandb-login status` (read-only: where the key comes from) and `wandb-login logout` (the host's
// entry leaves the netrc, every other byte stays).
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  entry,
  fakeApi,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  modeOf,
  pythonNetrcAll,
  read,
  runInProcess,
  snapshot,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

describe("status", () => {
  test("no key anywhere: exit 1, says where it looked, changes nothing", async () => {
    const home = tempDir();
    const r = await runInProcess(["status"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Host: https://api.wandb.ai (from default)");
    expect(r.stderr).toContain(`Settings file: ${join(home, ".config", "wandb", "settings")} (not found)`);
    expect(r.stderr).toContain(`Netrc file: ${join(home, ".netrc")} (not found)`);
    expect(r.stderr).toContain("No API key configured for https://api.wandb.ai");
    expect(readdirSync(home)).toEqual([]);
  });

  test("a key from the netrc: masked, with the file's mode; read-only", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(MACHINE, KEY_V1));
    chmodSync(join(home, ".netrc"), 0o644);
    const before = snapshot(home);
    const r = await runInProcess(["status"], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`API key: wandb_v1_…${KEY_V1.slice(-4)} from ${join(home, ".netrc")}`);
    expect(r.stderr).toContain("mode 0644, readable by others");
    expect(leaks(r.stderr + r.stdout, KEY_V1)).toBe(false);
    expect(snapshot(home)).toBe(before);
  });

  test("WANDB_API_KEY and a settings api_key are reported as the source, in login's order", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    writeFileSync(
      join(home, ".config", "wandb", "settings"),
      `[default]\napi_key = ${KEY40}\nbase_url = http://self.example:8080\n`,
    );
    const fromSettings = await runInProcess(["status", "--json"], { home });
    expect(fromSettings.code).toBe(0);
    expect(JSON.parse(fromSettings.stdout)).toMatchObject({
      host: "http://self.example:8080",
      hostSource: `settings file ${join(home, ".config", "wandb", "settings")}`,
      machine: "self.example:8080",
      source: join(home, ".config", "wandb", "settings"),
      key: `…${KEY40.slice(-4)}`,
      configured: true,
    });
    const fromEnv = await runInProcess(["status", "--json"], {
      home,
      env: { WANDB_API_KEY: KEY_V1, WANDB_BASE_URL: "https://w.example" },
    });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      source: "WANDB_API_KEY",
      host: "https://w.example",
      hostSource: "WANDB_BASE_URL",
    });
    expect(leaks(fromEnv.stdout + fromEnv.stderr, KEY_V1)).toBe(false);
  });

  test("--host picks the entry; --json on failure still gives one object", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(MACHINE, KEY40));
    const r = await runInProcess(["status", "--host", "http://other:1", "--json"], { home });
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 1,
      configured: false,
      host: "http://other:1",
      error: expect.stringContaining("No API key configured"),
    });
  });

  test("--verify checks the key with the server", async () => {
    using api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(`127.0.0.1:${api.port}`, KEY40) + entry("x", "e".repeat(40)));
    const ok = await runInProcess(["status", "--verify", "--host", api.url, "--json"], { home });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, username: "alice", entity: "acme" });
    expect(api.seen).toHaveLength(1);
    const refused = await runInProcess(["status", "--verify", "--host", api.url], {
      home,
      env: { WANDB_API_KEY: "e".repeat(40) },
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Invalid API key for ${api.url}`);
  });
});

describe("logout", () => {
  const keep = "# mine\nmachine a login b password c\n\nmacdef init\nmachine api.wandb.ai in a macro\n\n";
  /** A netrc with our entry between other bytes, logged out of. */
  const loggedOut = async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), `${keep}${entry(MACHINE, KEY40)}default login anon password x\n`, {
      mode: 0o600,
    });
    return { home, r: await runInProcess(["logout"], { home }) };
  };

  test("removes only that host's entry: other bytes, macdef and default untouched", async () => {
    const { home, r } = await loggedOut();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Removed the key for api.wandb.ai from ${join(home, ".netrc")}.`);
    expect(read(join(home, ".netrc"))).toBe(`${keep}default login anon password x\n`);
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  testIf(
    hasPython,
    "Python netrc judge (logout)",
    "python3 not installed",
  )("after logout Python falls back to default for our host and still reads the others", async () => {
    const { home } = await loggedOut();
    expect(pythonNetrcAll(join(home, ".netrc"), [MACHINE, "a"])).toEqual([
      ["anon", "", "x"], // Python falls back to default
      ["b", "", "c"],
    ]);
  });

  test("nothing to remove: says so, exit 0, file untouched", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry("other", KEY40));
    const before = snapshot(home);
    const r = await runInProcess(["logout", "--host", "http://localhost:8080"], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("No key for localhost:8080");
    expect(snapshot(home)).toBe(before);
    const empty = tempDir();
    expect((await runInProcess(["logout"], { home: empty })).code).toBe(0);
    expect(readdirSync(empty)).toEqual([]);
  });

  test("warns when WANDB_API_KEY or a settings api_key still supplies a key", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(MACHINE, KEY40));
    const env = await runInProcess(["logout", "--json"], { home, env: { WANDB_API_KEY: KEY_V1 } });
    expect(env.code).toBe(0);
    expect(env.stderr).toContain("still supplied by WANDB_API_KEY");
    expect(JSON.parse(env.stdout)).toMatchObject({ removed: true, source: "WANDB_API_KEY" });
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\napi_key = ${KEY40}\n`);
    expect((await runInProcess(["logout"], { home })).stderr).toContain(
      `still supplied by ${join(home, "wandb", "settings")}`,
    );
  });

  test("login, logout, login again round-trips through the same writer", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n");
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect((await runInProcess(["logout"], { home })).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe("machine a login b password c\n");
    expect((await runInProcess(["--relogin", "--stdin"], { home, stdin: KEY_V1 })).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(`machine a login b password c\n${entry(MACHINE, KEY_V1)}`);
  });
});
