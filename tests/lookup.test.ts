// The lookup: which host, and which key for it. Host resolution and validation, the key sources in
// login's order (argument, stdin, WANDB_API_KEY, settings files for that host, the netrc entry, the
// netrc `default`), and the order the W&B Python SDK reads them in, which status reports beside ours.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  appUrl,
  CLOUD_URL,
  checkApiKey,
  isLoopback,
  machineName,
  normalizeHost,
  resolveHost,
  settingsFor,
} from "../login";
import {
  entry,
  fakeApi,
  hasPython,
  homeWith,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  pythonNetrc,
  read,
  runInProcess,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const KEY_B = "b".repeat(40);
const KEY_C = `local-${"c".repeat(40)}`;
const hasWandb = hasPython && Bun.spawnSync(["python3", "-c", "import wandb"]).exitCode === 0;

describe("the host", () => {
  test("trailing slashes go, the rest stays as written", () => {
    expect(normalizeHost("https://W.example.com:8443///")).toBe("https://W.example.com:8443");
  });
  test.each(["wandb.example.com", "ftp://x", "https://", "http:///path", "https://a b", "/relative"])(
    "invalid: %s",
    (raw) => {
      expect(() => normalizeHost(raw)).toThrow(/Invalid host URL/);
    },
  );
  test("wandb.ai without api. is refused with a suggestion", () => {
    expect(() => normalizeHost("https://wandb.ai")).toThrow(
      `https://wandb.ai is not a valid server address, did you mean ${CLOUD_URL}?`,
    );
    expect(() => normalizeHost("https://app.wandb.ai/")).toThrow(/did you mean/);
  });
  test("http to api.wandb.ai is refused, a trailing dot too", () => {
    expect(() => normalizeHost("http://api.wandb.ai")).toThrow(
      "http is not secure, please use https://api.wandb.ai",
    );
    expect(() => normalizeHost("http://API.wandb.ai.")).toThrow(/http is not secure/);
    expect(() => normalizeHost("https://wandb.ai./")).toThrow(/did you mean/);
  });
  test.each([
    ["https://h\x1b[2J", /control characters/],
    ["https://h\t", /whitespace/],
    [" https://h", /whitespace/],
    ["https://u:p@h", /user name or password/],
    ["https://h?x=1", /query or fragment/],
    ["https://h/#f", /query or fragment/],
  ])("refused with its reason: %p", (raw, why) => {
    expect(() => normalizeHost(raw)).toThrow(why);
  });
  test("a path prefix and a non-ASCII host name are kept as written", () => {
    expect(normalizeHost("https://h.example/wandb/")).toBe("https://h.example/wandb");
    expect(normalizeHost("https://例え.jp")).toBe("https://例え.jp");
    expect(machineName("https://例え.jp:8443/x")).toBe("例え.jp:8443");
  });
  test("loopback hosts", () => {
    expect(["http://127.0.0.1:8080", "http://localhost", "http://[::1]:1"].map(isLoopback)).toEqual([
      true,
      true,
      true,
    ]);
    expect(isLoopback("http://10.0.0.1")).toBe(false);
  });
  test("machine name is the authority exactly as written", () => {
    expect(machineName("http://localhost:8080")).toBe("localhost:8080");
    expect(machineName("https://My.Host:443/wandb")).toBe("My.Host:443");
    expect(machineName("https://u@h.example")).toBe("u@h.example");
    expect(machineName(CLOUD_URL)).toBe("api.wandb.ai");
  });
  test("app URL", () => {
    expect(appUrl(CLOUD_URL, {})).toBe("https://wandb.ai");
    expect(appUrl("https://api.acme.io", {})).toBe("https://app.acme.io");
    expect(appUrl("http://localhost:8080", {})).toBe("http://localhost:8080");
    expect(appUrl(CLOUD_URL, { WANDB_APP_URL: "https://ui.example/" })).toBe("https://ui.example");
  });
  test("resolution order: --cloud, --host, WANDB_BASE_URL, workspace settings, system settings, default", () => {
    const settings = [
      { path: "/sys", scope: "system" as const, exists: true, values: { base_url: "http://sys" } },
      { path: "/ws", scope: "workspace" as const, exists: true, values: { base_url: "http://ws" } },
    ];
    const env = { WANDB_BASE_URL: "http://env/" };
    expect(resolveHost({ cloud: true, host: undefined }, env, settings)).toEqual({
      url: CLOUD_URL,
      origin: "--cloud",
    });
    expect(resolveHost({ cloud: false, host: "http://flag" }, env, settings)).toEqual({
      url: "http://flag",
      origin: "--host",
    });
    expect(resolveHost({ cloud: false }, env, settings)).toEqual({
      url: "http://env",
      origin: "WANDB_BASE_URL",
    });
    expect(resolveHost({ cloud: false }, {}, settings)).toEqual({
      url: "http://ws",
      origin: "settings file /ws",
    });
    expect(resolveHost({ cloud: false }, {}, settings.slice(0, 1))).toEqual({
      url: "http://sys",
      origin: "settings file /sys",
    });
    expect(resolveHost({ cloud: false }, {}, [])).toEqual({ url: CLOUD_URL, origin: "default" });
  });

  test("an invalid host is exit 1 and writes nothing", async () => {
    const home = tempDir();
    const r = await runInProcess(["--host", "wandb.example.com", KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Invalid host URL");
    expect(readdirSync(home)).toEqual([]);
    expect((await runInProcess(["--host", "https://wandb.ai", KEY40], { home })).stderr).toContain(
      "did you mean https://api.wandb.ai?",
    );
  });

  test.each([
    ["a control character", "https://h.example\x1b[2J", "control characters"],
    ["whitespace", "https://h.example /x", "whitespace"],
    ["a user and password", "https://me:secret@h.example", "user name or password"],
    ["a query", "https://h.example/?a=1", "query or fragment"],
    ["a fragment", "https://h.example#x", "query or fragment"],
  ])("--host with %s is refused with its reason; nothing is stored", async (_, host, why) => {
    const home = tempDir();
    const r = await runInProcess(["--host", host, KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(why);
    expect(r.stderr).not.toMatch(/[\x1b]/);
    expect(r.stderr).not.toContain("secret");
    expect(readdirSync(home)).toEqual([]);
  });

  test("http://api.wandb.ai. (trailing dot) is still refused as insecure", async () => {
    const r = await runInProcess(["--host", "http://api.wandb.ai.", KEY40]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("http is not secure");
  });
});

describe("the key's format", () => {
  test("legacy 40-character, wandb_v1_, prefixed on-prem and JWT keys pass", () => {
    for (const key of [KEY40, KEY_V1, `local-${KEY40}`, "aaa.bbb.ccc"]) expect(checkApiKey(key)).toBeNull();
  });
  test("messages are complete sentences", () => {
    expect(checkApiKey("")).toBe("API key is empty.");
    expect(checkApiKey("short")).toBe("API key must have 40+ characters, has 5.");
    expect(checkApiKey(KEY40.slice(1))).toBe("API key must have 40+ characters, has 39.");
    expect(checkApiKey(`${KEY40}!`)).toBe(
      "API key may only contain letters (A-Z, a-z), digits, underscores and hyphens.",
    );
    // the part after an on-prem prefix is what counts, and the message says so
    expect(checkApiKey("short-key-1234567")).toBe(
      'API key must have 40+ characters after its prefix "short-", has 11.',
    );
    expect(checkApiKey(`${KEY40} x`)).toMatch(/may only contain/);
  });
  test("a bad key is refused with a complete sentence and nothing is written", async () => {
    const home = tempDir();
    const r = await runInProcess(["abc123"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("API key must have 40+ characters, has 6.");
    expect(readdirSync(home)).toEqual([]);
    const empty = await runInProcess(["--stdin"], { home, stdin: "" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("API key is empty.");
    expect(readdirSync(home)).toEqual([]);
  });
});

describe("the key from the command line", () => {
  test.each([[["--stdin"]], [["-"]]])("%p reads the key from stdin, trimmed", async (args) => {
    const home = tempDir();
    const r = await runInProcess(args, { home, stdin: `  ${KEY40}  \n` });
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });
});

describe("stored keys, in login's order", () => {
  test("WANDB_API_KEY wins and nothing is written", async () => {
    const home = tempDir();
    const r = await runInProcess([], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "W&B API key is configured (from WANDB_API_KEY). Use `wandb-login --relogin` to force relogin.",
    );
    expect(readdirSync(home)).toEqual([]);
  });

  test("settings api_key comes next, workspace over system", async () => {
    const home = homeWith({ settingsKey: KEY_B, netrc: entry(MACHINE, KEY_V1) });
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\napi_key = ${KEY40}\n`);
    const r = await runInProcess([], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`(from ${join(home, "wandb", "settings")})`);
  });

  test("netrc comes last; a malformed stored key names its source", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(MACHINE, KEY40));
    expect((await runInProcess([], { home })).stderr).toContain(`(from ${join(home, ".netrc")})`);
    const bad = await runInProcess([], { home, env: { WANDB_API_KEY: "tooshort" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("WANDB_API_KEY invalid: API key must have 40+ characters, has 8.");
    expect(bad.stderr).not.toContain("tooshort");
  });

  test("a netrc Python cannot parse is warned about and skipped", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), `machine api.wandb.ai login user password ${KEY40} port 80\n`);
    const r = await runInProcess([], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Failed to read netrc file");
  });
});

describe("a settings api_key belongs to its own host", () => {
  test("status --host another server does not report (and --verify does not send) it", async () => {
    using api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    const home = homeWith({ settingsKey: KEY40 }); // no base_url: the key is the public cloud's
    const status = await runInProcess(["status", "--verify", "--host", api.url], { home });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`No API key configured for ${api.url}`);
    const login = await runInProcess(["--verify", "--host", api.url], { home });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("No API key configured.");
    expect(api.seen).toEqual([]);
    expect((await runInProcess(["status"], { home })).code).toBe(0); // for the cloud it is found
  });

  test("a workspace file without base_url inherits the system file's host", async () => {
    const home = homeWith({ settingsHost: "https://self.example" });
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\napi_key = ${KEY40}\n`);
    const r = await runInProcess(["status", "--json"], { home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      host: "https://self.example",
      source: join(home, "wandb", "settings"),
    });
  });

  test("a settings api_key belongs to the file's base_url, else the system file's, else the cloud", () => {
    const file = (scope: "system" | "workspace", base_url?: string) => ({
      path: `/${scope}`,
      scope,
      exists: true,
      values: { api_key: "k", ...(base_url ? { base_url } : {}) },
    });
    const paths = (host: string, files: ReturnType<typeof file>[]) =>
      settingsFor(host, files).map((s) => s.path);
    expect(paths(CLOUD_URL, [file("system"), file("workspace")])).toEqual(["/system", "/workspace"]);
    expect(paths("https://other", [file("system"), file("workspace")])).toEqual([]);
    expect(paths("https://other", [file("system", "https://other/"), file("workspace")])).toEqual([
      "/system",
      "/workspace",
    ]);
    expect(paths(CLOUD_URL, [file("system", "https://other"), file("workspace", CLOUD_URL)])).toEqual([
      "/workspace",
    ]);
  });
});

describe("the netrc default entry", () => {
  const defaultHome = () =>
    homeWith({ netrc: `machine other login a password b\ndefault login user password ${KEY40}\n` });

  test("a key-shaped default password is used, named '(default entry)', as Python falls back to it", async () => {
    const home = defaultHome();
    const r = await runInProcess([], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`W&B API key is configured (from ${join(home, ".netrc")} (default entry))`);
    expect(JSON.parse((await runInProcess(["status", "--json"], { home })).stdout).source).toBe(
      `${join(home, ".netrc")} (default entry)`,
    );
  });

  testIf(
    hasPython,
    "Python netrc judge (default entry)",
    "python3 not installed",
  )("Python's netrc falls back to that default password too", () => {
    expect(pythonNetrc(join(defaultHome(), ".netrc"), MACHINE)).toEqual(["user", "", KEY40]);
  });

  test("a default entry holding something else (anonymous ftp) is not a W&B key to login; the SDK fails on it", async () => {
    const home = homeWith({ netrc: "default login anonymous password guest@\n" });
    const login = await runInProcess([], { home });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("No API key configured");
    const r = await runInProcess(["status"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "For https://api.wandb.ai, the W&B SDK will fail: the netrc default entry password is not a valid API key",
    );
  });
});

describe("status shows every source, and the one the SDK sends", () => {
  const setup = () =>
    homeWith({
      settingsKey: KEY_B,
      netrc: `${entry(MACHINE, KEY_C)}default login u password ${KEY40}\n`,
    });

  test("three sources with different keys: login's pick (env) and the SDK's (env) are marked", async () => {
    const home = setup();
    const r = await runInProcess(["status", "--json"], { home, env: { WANDB_API_KEY: KEY_V1 } });
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

  test("without WANDB_API_KEY login takes the settings key, the SDK the netrc's, and status says so", async () => {
    const home = setup();
    const r = await runInProcess(["status"], { home });
    expect(r.code).toBe(0);
    const settings = join(home, ".config", "wandb", "settings");
    expect(r.stderr).toContain(`API key: …bbbb from ${settings} (used by wandb-login)`);
    expect(r.stderr).toContain(`API key: …cccc from ${join(home, ".netrc")} (sent by the W&B Python SDK)`);
    expect(r.stderr).toContain(
      `wandb-login uses the one from ${settings}; the W&B Python SDK sends the one from ${join(home, ".netrc")}.`,
    );
    expect((await runInProcess([], { home })).stderr).toContain(`(from ${settings})`);
  });

  test("one source, or several with the same key: no warning", async () => {
    const home = homeWith({ settingsKey: KEY40, netrc: entry(MACHINE, KEY40) });
    const r = await runInProcess(["status"], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("different keys");
  });

  const judgedBySdk = testIf(hasWandb, "W&B SDK judge", "the wandb Python package is not installed");
  judgedBySdk("the key status marks as the SDK's is the one the W&B SDK resolves", async () => {
    const home = setup();
    const marked = JSON.parse((await runInProcess(["status", "--json"], { home })).stdout).sources.find(
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
