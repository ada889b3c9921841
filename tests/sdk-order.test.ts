// What the W&B Python SDK really sends (spec §9, its own order) and keyless CI with identity tokens
// (§3, §10): status, token, whoami, login and logout judged by the SDK's order, and the identity
// command against loopback fakes of /oidc/token and of GitHub Actions' OIDC endpoint.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  entry,
  fakeApi,
  jwt,
  KEY40,
  KEY_V1,
  leaks,
  modeOf,
  read,
  runCli,
  runCliAsync,
  tempDir,
  VIEWER,
} from "./helpers";

const KEY_B = "b".repeat(40);
const KEY_C = "c".repeat(40);

interface Setup {
  netrc?: string;
  system?: string; // the system settings file's text
  workspace?: string; // ./wandb/settings
  token?: string; // the identity token file's content
  files?: Record<string, string>; // more files, relative to the home (which is also the cwd)
}

/** A temp home (also the cwd) holding the setup's files. */
function homeWith(setup: Setup): string {
  const home = tempDir();
  if (setup.netrc !== undefined) writeFileSync(join(home, ".netrc"), setup.netrc, { mode: 0o600 });
  const put = (path: string, text: string) => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  };
  if (setup.system !== undefined) put(join(home, ".config", "wandb", "settings"), setup.system);
  if (setup.workspace !== undefined) put(join(home, "wandb", "settings"), setup.workspace);
  if (setup.token !== undefined) put(join(home, "token.jwt"), setup.token);
  for (const [name, text] of Object.entries(setup.files ?? {})) put(join(home, name), text);
  return home;
}

/** `status --json` in that home: the exit code, the SDK's verdict and the source it marks. */
function sdkOf(home: string, env: Record<string, string> = {}, args: string[] = []) {
  const r = runCli(["status", "--json", ...args], { home, env });
  const report = JSON.parse(r.stdout);
  const marked = (report.sources ?? []).filter((s: { sdk: boolean }) => s.sdk);
  expect(marked.length).toBeLessThanOrEqual(1); // exactly one, or none when the SDK refuses
  return { code: r.code, report, sdk: marked[0], stderr: r.stderr };
}

describe("the source the W&B SDK sends, in its own order", () => {
  test("a. only an identity token: the SDK exchanges it; login and status say so, exit 0", () => {
    const token = jwt();
    const home = homeWith({ token, netrc: entry("api.wandb.ai", KEY40) });
    const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") };
    const { code, sdk, report, stderr } = sdkOf(home, env);
    expect(code).toBe(0);
    expect(sdk).toEqual({
      source: "WANDB_IDENTITY_TOKEN_FILE",
      file: join(home, "token.jwt"),
      kind: "identity token",
      key: `…${token.slice(-4)}`,
      login: true,
      sdk: true,
    });
    expect(report.sdk).toEqual({ source: "WANDB_IDENTITY_TOKEN_FILE", fails: null });
    expect(leaks(stderr, token)).toBe(false);
    const login = runCli([], { home, env });
    expect(login.code).toBe(0);
    expect(login.stderr).toContain(
      `W&B is configured with the identity token in ${join(home, "token.jwt")} (WANDB_IDENTITY_TOKEN_FILE); ` +
        "the W&B SDK exchanges it at https://api.wandb.ai/oidc/token, no API key is needed.",
    );
    const stored = runCli([KEY_B], { home, env });
    expect(stored.code).toBe(0);
    expect(stored.stderr).toContain(
      "the W&B SDK authenticates with that identity token, not with the key stored",
    );
    const token_ = runCli(["token"], { home, env });
    expect(token_.code).toBe(1);
    expect(token_.stdout).toBe("");
    expect(token_.stderr).toContain("there is no API key to print");
  });

  test("b. an identity token and WANDB_API_KEY: the SDK refuses to run; so does every lookup", () => {
    const home = homeWith({ token: jwt(), netrc: entry("api.wandb.ai", KEY40) });
    const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt"), WANDB_API_KEY: KEY_B };
    const refusal =
      "Both WANDB_API_KEY and WANDB_IDENTITY_TOKEN_FILE are set; the W&B SDK refuses to run that way. Unset one.";
    const { code, sdk, report } = sdkOf(home, env);
    expect(code).toBe(1);
    expect(sdk).toBeUndefined();
    expect(report).toMatchObject({ error: refusal, code: 1, sdk: { source: null, fails: refusal } });
    for (const args of [[], ["token"], ["whoami"]]) {
      const r = runCli(args, { home, env });
      expect([args, r.code, r.stderr]).toEqual([args, 1, `wandb: ERROR ${refusal}\n`]);
    }
    const stored = runCli([KEY_C], { home, env }); // an explicit key is still stored, with the warning
    expect(stored.code).toBe(0);
    expect(stored.stderr).toContain(refusal);
    expect(read(join(home, ".netrc"))).toContain(KEY_C);
    const logout = runCli(["logout"], { home, env });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain(refusal);
    expect(read(join(home, ".netrc"))).toBe("");
  });

  test("c. a netrc default entry holding an email password, and a settings key: the SDK takes default and fails", () => {
    const home = homeWith({
      netrc: "default login me password me@example.com\n",
      system: `[default]\napi_key = ${KEY_B}\n`,
    });
    const { code, sdk, report } = sdkOf(home);
    expect(code).toBe(1);
    expect(sdk).toMatchObject({ source: `${join(home, ".netrc")} (default entry)`, sdk: true, login: false });
    expect(sdk.fails).toContain("netrc default entry password is not a valid API key");
    expect(report.sources.find((s: { login: boolean }) => s.login).source).toBe(
      join(home, ".config", "wandb", "settings"),
    );
    expect(runCli(["token"], { home }).code).toBe(1);
  });

  test("d. a malformed netrc machine password: marked as the SDK's, which will fail on it", () => {
    const home = homeWith({ netrc: entry("api.wandb.ai", "not-a-key") });
    const { code, sdk, stderr } = sdkOf(home);
    expect(code).toBe(1);
    expect(sdk).toMatchObject({ source: join(home, ".netrc"), sdk: true });
    expect(sdk.fails).toContain("netrc entry for api.wandb.ai password is not a valid API key");
    expect(stderr).toContain(
      "For https://api.wandb.ai, the W&B SDK will fail: the netrc entry for api.wandb.ai password",
    );
  });

  test.each([
    ["WANDB_BASE_URL names the host", { WANDB_BASE_URL: "https://wandb.example.com" }, {}],
    [
      "the workspace base_url names it",
      {},
      { workspace: "[default]\nbase_url = https://wandb.example.com\n" },
    ],
    [
      "WANDB_BASE_URL names it over a workspace base_url",
      { WANDB_BASE_URL: "https://wandb.example.com" },
      { workspace: "[default]\nbase_url = https://other.example.com\n" },
    ],
  ])(
    "e. a system-file key stored for no server, while %s: the SDK sends it there; wandb-login does not",
    (_, env, files) => {
      const home = homeWith({ system: `[default]\napi_key = ${KEY_B}\n`, ...files });
      const { code, sdk, report, stderr } = sdkOf(home, env as Record<string, string>);
      expect(code).toBe(0);
      expect(sdk).toMatchObject({
        source: join(home, ".config", "wandb", "settings"),
        sdk: true,
        login: false,
      });
      expect(report.source).toBeNull(); // wandb-login's own lookup refuses that key for this host
      expect(stderr).toContain("stored for no particular server, to https://wandb.example.com");
      const printed = runCli(["token"], { home, env: env as Record<string, string> });
      expect(printed).toMatchObject({ code: 0, stdout: `${KEY_B}\n` });
    },
  );

  test("f. WANDB_DIR elsewhere: host and key come from ./wandb/settings, the file the SDK reads", () => {
    const home = homeWith({
      workspace: `[default]\nbase_url = https://here.example.com\napi_key = ${KEY_B}\n`,
      files: {
        "elsewhere/wandb/settings": `[default]\nbase_url = https://there.example.com\napi_key = ${KEY_C}\n`,
      },
    });
    const env = { WANDB_DIR: join(home, "elsewhere") };
    const { code, sdk, report, stderr } = sdkOf(home, env);
    expect(code).toBe(0);
    expect(report.host).toBe("https://here.example.com");
    expect(sdk).toMatchObject({ source: join(home, "wandb", "settings"), key: `…${KEY_B.slice(-4)}` });
    expect(stderr).toContain("WANDB_DIR is");
    expect(stderr).toContain("the W&B SDK reads the workspace settings in the current folder");
    expect(runCli(["token"], { home, env }).stdout).toBe(`${KEY_B}\n`);
  });

  test.each([
    [
      "a setting it does not know",
      "no_such_setting = 1",
      "holds the setting `no_such_setting`, which it does not know",
    ],
    ["a value it rejects", "mode = bogus", "holds the value `mode = bogus`, which it rejects"],
  ])(
    "g. %s in a settings file: the SDK ignores both files, base_url and api_key included",
    (_, line, why) => {
      const home = homeWith({ system: `[default]\napi_key = ${KEY_B}\n`, workspace: `[default]\n${line}\n` });
      const { code, sdk, report, stderr } = sdkOf(home);
      expect(code).toBe(1);
      expect(sdk).toBeUndefined();
      expect(report.source).toBe(join(home, ".config", "wandb", "settings")); // wandb-login still reads it
      expect(stderr).toContain(
        `the W&B SDK ignores the settings files: ${join(home, "wandb", "settings")} ${why}.`,
      );
      expect(report.error).toContain("The W&B SDK sends no key for https://api.wandb.ai");
    },
  );

  test.each([
    [
      "SM_TRAINING_ENV's wandb_api_key",
      { SM_TRAINING_ENV: JSON.stringify({ wandb_api_key: KEY_C }) },
      {},
      KEY_C,
    ],
    [
      "./secrets.env's WANDB_API_KEY",
      { SM_TRAINING_ENV: "" },
      { "secrets.env": `WANDB_API_KEY=${KEY_C}\n` },
      KEY_C,
    ],
    [
      "the hyperparameter over secrets.env",
      { SM_TRAINING_ENV: JSON.stringify({ wandb_api_key: KEY_V1 }) },
      { "secrets.env": `WANDB_API_KEY=${KEY_C}\n` },
      KEY_V1,
    ],
  ])("h. SageMaker: %s is what the SDK sends", (_, env, files, expected) => {
    const home = homeWith({ files });
    const { code, sdk } = sdkOf(home, env);
    expect(code).toBe(0);
    expect(sdk.key).toEndWith(`…${expected.slice(-4)}`);
    expect(runCli(["token"], { home, env }).stdout).toBe(`${expected}\n`);
    const disabled = sdkOf(home, { ...env, WANDB_SAGEMAKER_DISABLE: "true" });
    expect(disabled.code).toBe(1);
  });

  test.each([
    ["a quoted key", `WANDB_API_KEY="${KEY_C}"\n`, "is not a valid API key"],
    ["a blank line", `WANDB_API_KEY=${KEY_C}\n\nWANDB_PROJECT=x\n`, "line 2 has no `=`"],
  ])("h. SageMaker's secrets.env with %s: the SDK fails, and status says why", (_, text, why) => {
    const home = homeWith({ files: { "secrets.env": text } });
    const { code, sdk } = sdkOf(home, { SM_TRAINING_ENV: "" });
    expect(code).toBe(1);
    expect(sdk.fails).toContain(why);
  });

  test("an identity token and a netrc key: the SDK sends the token, never the key", () => {
    const home = homeWith({ token: jwt(), netrc: entry("api.wandb.ai", KEY40) });
    const { sdk, report } = sdkOf(home, { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") });
    expect(sdk.source).toBe("WANDB_IDENTITY_TOKEN_FILE");
    expect(report.sources.map((s: { source: string }) => s.source)).toEqual([
      "WANDB_IDENTITY_TOKEN_FILE",
      join(home, ".netrc"),
    ]);
  });

  test("an expired identity token fails, unless the SDK cached an access token for the host that has 5+ minutes left", () => {
    const home = homeWith({ token: jwt(-60) });
    const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") };
    const expired = sdkOf(home, env);
    expect(expired.code).toBe(1);
    expect(expired.sdk.fails).toContain("expired at");
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace("T", " ").slice(0, 19);
    const cache = (ms: number) =>
      writeFileSync(
        join(home, ".config", "wandb", "credentials.json"),
        JSON.stringify({
          credentials: {
            "https://api.wandb.ai": { expires_at: at(ms), access_token: "cached-access-token-1234" },
          },
        }),
      );
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    cache(60 * 60_000);
    const reused = sdkOf(home, env);
    expect(reused.code).toBe(0);
    expect(reused.sdk).toMatchObject({ source: "WANDB_IDENTITY_TOKEN_FILE", sdk: true });
    expect(reused.stderr).not.toContain("cached-access-token-1234");
    cache(4 * 60_000); // 4 minutes left: the SDK exchanges again, and the token has expired
    expect(sdkOf(home, env).code).toBe(1);
  });
});

/** A fake W&B server that also answers the token exchange; it records what it received. */
function fakeServer(opts: { exchange?: (form: URLSearchParams) => Response } = {}) {
  const exchanges: { headers: Record<string, string>; form: URLSearchParams }[] = [];
  const api: ReturnType<typeof fakeApi> = fakeApi({
    answer: (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/oidc/token") {
        const { headers, body } = api.seen.at(-1)!; // the fake has read the body already
        const form = new URLSearchParams(body);
        exchanges.push({ headers, form });
        return (
          opts.exchange?.(form) ??
          Response.json({ access_token: "access-token-from-the-exchange", expires_in: 3600 })
        );
      }
      if (req.headers.get("authorization") === "Bearer access-token-from-the-exchange")
        return Response.json({ data: { viewer: VIEWER } });
      return undefined; // Basic auth: the viewers below
    },
    viewers: { [KEY40]: VIEWER },
  });
  return { ...api, exchanges };
}

describe("identity tokens against the server: exchanged as wandb-core does", () => {
  test("--verify exchanges the JWT (form-encoded jwt-bearer grant), then asks who with Bearer", async () => {
    const server = fakeServer();
    try {
      const token = jwt();
      const home = homeWith({ token });
      const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") };
      const r = await runCliAsync(["--verify", "--host", server.url, "--json"], { home, env });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        verified: true,
        username: "alice",
        source: "WANDB_IDENTITY_TOKEN_FILE",
      });
      expect(server.exchanges).toHaveLength(1);
      expect(server.exchanges[0].headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(Object.fromEntries(server.exchanges[0].form)).toEqual({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: token,
      });
      expect(server.seen.at(-1)!.headers.authorization).toBe("Bearer access-token-from-the-exchange");
      expect(leaks(r.stdout + r.stderr, token)).toBe(false);
      expect(r.stdout + r.stderr).not.toContain("access-token-from-the-exchange");
      const who = await runCliAsync(["whoami", "--host", server.url], { home, env });
      expect(who).toMatchObject({ code: 0, stdout: `alice (acme) at ${server.url}\n` });
    } finally {
      server.stop();
    }
  });

  test.each([
    [
      "a refusal names the server's error_description",
      () =>
        Response.json({ error: "invalid_grant", error_description: "audience mismatch" }, { status: 400 }),
      "was refused by",
      "audience mismatch",
    ],
    [
      "an answer without access_token",
      () => Response.json({ token_type: "bearer" }),
      "without an access_token",
      "",
    ],
    [
      "a redirect",
      () => new Response("", { status: 302, headers: { location: "https://elsewhere.example/" } }),
      "redirected to https://elsewhere.example/",
      "",
    ],
  ])("%s: exit 1, one clear line, no token printed", async (_, exchange, message, detail) => {
    const server = fakeServer({ exchange });
    try {
      const token = jwt();
      const home = homeWith({ token });
      const r = await runCliAsync(
        ["identity", "--token-file", join(home, "token.jwt"), "--verify", "--host", server.url],
        { home },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(detail);
      expect(r.stdout).toBe("");
      expect(leaks(r.stderr, token)).toBe(false);
    } finally {
      server.stop();
    }
  });

  test("an exchange that never answers ends at WANDB_HTTP_TIMEOUT", async () => {
    const server = fakeApi({ answer: () => new Promise<Response>(() => {}) });
    try {
      const home = homeWith({ token: jwt() });
      const started = Date.now();
      const r = await runCliAsync(
        ["identity", "--token-file", join(home, "token.jwt"), "--verify", "--host", server.url],
        {
          home,
          env: { WANDB_HTTP_TIMEOUT: "1" },
        },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("did not answer within 1 second ");
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      server.stop();
    }
  });
});

describe("identity --token-file: a token file something else keeps", () => {
  test("a good one: exit 0, its expiry, and the export line on stdout", () => {
    const home = homeWith({ token: `${jwt()}\n` });
    const r = runCli(["identity", "--token-file", "token.jwt"], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`export WANDB_IDENTITY_TOKEN_FILE=${join(home, "token.jwt")}\n`);
    expect(r.stderr).toMatch(/expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
  });

  /** Writes `text` to `name` in `home` (a folder for null, a FIFO for "fifo") and returns its path. */
  const make = (home: string, name: string, text: string | null | "fifo") => {
    const path = join(home, name);
    if (text === null) mkdirSync(path);
    else if (text === "fifo") Bun.spawnSync(["mkfifo", path]);
    else writeFileSync(path, text);
    return path;
  };
  test.each([
    ["missing", undefined, "does not exist"],
    ["empty", "\n", "is empty"],
    ["a folder", null, "not a regular file"],
    ["a FIFO", "fifo", "not a regular file"],
    ["huge", "a".repeat(70_000), "larger than"],
    ["not a JWT", "hello", "does not hold a JWT"],
    ["expired", jwt(-10), "expired at"],
  ] as const)("%s: exit 1 naming the problem, nothing written", (_, text, message) => {
    const home = tempDir();
    const path = text === undefined ? join(home, "nope.jwt") : make(home, "token", text);
    const before = readdirSync(home, { recursive: true }).sort();
    const r = runCli(["identity", "--token-file", path], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect(readdirSync(home, { recursive: true }).sort()).toEqual(before);
  });

  test("usage: one of --github-actions and --token-file; --audience only with the first", () => {
    expect(runCli(["identity"]).code).toBe(2);
    expect(runCli(["identity", "--github-actions", "--token-file", "x"]).code).toBe(2);
    const r = runCli(["identity", "--token-file", "x", "--audience", "a"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--audience goes with --github-actions");
  });
});

/** A fake of GitHub Actions' OIDC endpoint: checks the bearer token, answers for the audience. */
function fakeActions(answer?: () => Response) {
  const seen: { url: URL; authorization: string | null }[] = [];
  const token = jwt(300, { aud: "set-by-request" });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ url, authorization: req.headers.get("authorization") });
      if (req.headers.get("authorization") !== "Bearer request-token-abcdef123456")
        return new Response("", { status: 401 });
      return answer?.() ?? Response.json({ count: 1, value: token });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/_apis/token?api-version=2.0`,
    seen,
    token,
    stop: () => server.stop(true),
  };
}
const actionsEnv = (home: string, url: string) => ({
  ACTIONS_ID_TOKEN_REQUEST_URL: url,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token-abcdef123456",
  RUNNER_TEMP: join(home, "runner-temp"),
  GITHUB_ENV: join(home, "github-env"),
});

describe("identity --github-actions: keyless CI in one step", () => {
  test("writes the token 0600, names it in GITHUB_ENV once, makes the SDK's cache folder, prints no token", async () => {
    const actions = fakeActions();
    try {
      const home = tempDir();
      mkdirSync(join(home, "runner-temp"));
      writeFileSync(join(home, "github-env"), "OTHER=1\n");
      const env = actionsEnv(home, actions.url);
      const run = () =>
        runCliAsync(["identity", "--github-actions", "--host", "https://wandb.example.com"], { home, env });
      const r = await run();
      expect(r.code).toBe(0);
      const file = join(home, "runner-temp", "wandb-identity-token");
      expect(read(file).trim()).toBe(actions.token);
      expect(modeOf(file)).toBe(0o600);
      expect(read(join(home, "github-env"))).toBe(`OTHER=1\nWANDB_IDENTITY_TOKEN_FILE=${file}\n`);
      expect(actions.seen[0].authorization).toBe("Bearer request-token-abcdef123456");
      expect(actions.seen[0].url.searchParams.get("audience")).toBe("https://wandb.example.com");
      expect(actions.seen[0].url.searchParams.get("api-version")).toBe("2.0");
      expect(statSync(join(home, ".config", "wandb")).mode & 0o777).toBe(0o700);
      for (const secret of [actions.token, "request-token-abcdef123456"])
        expect(leaks(r.stdout + r.stderr, secret)).toBe(false);
      expect((await run()).code).toBe(0); // again: idempotent, one line in GITHUB_ENV
      expect(read(join(home, "github-env"))).toBe(`OTHER=1\nWANDB_IDENTITY_TOKEN_FILE=${file}\n`);
      const env2 = { WANDB_IDENTITY_TOKEN_FILE: file };
      expect(runCli(["status", "--host", "https://wandb.example.com"], { home, env: env2 }).code).toBe(0);
    } finally {
      actions.stop();
    }
  });

  test("--audience is passed as given", async () => {
    const actions = fakeActions();
    try {
      const home = tempDir();
      mkdirSync(join(home, "runner-temp"));
      const r = await runCliAsync(["identity", "--github-actions", "--audience", "wandb-prod"], {
        home,
        env: actionsEnv(home, actions.url),
      });
      expect(r.code).toBe(0);
      expect(actions.seen[0].url.searchParams.get("audience")).toBe("wandb-prod");
    } finally {
      actions.stop();
    }
  });

  test("outside a job with id-token: write: exit 1 explaining the permission, nothing written", () => {
    const home = tempDir();
    const r = runCli(["identity", "--github-actions"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("permissions: id-token: write");
    expect(existsSync(join(home, ".config"))).toBe(false);
  });

  test.each([
    ["refuses", () => new Response("{}", { status: 403 }), "refused the OIDC token request"],
    ["answers garbage", () => new Response("<html>", { status: 200 }), "answered without an OIDC token"],
  ])(
    "an Actions endpoint that %s: exit 1, no token file, GITHUB_ENV untouched",
    async (_, answer, message) => {
      const actions = fakeActions(answer);
      try {
        const home = tempDir();
        mkdirSync(join(home, "runner-temp"));
        writeFileSync(join(home, "github-env"), "");
        const r = await runCliAsync(["identity", "--github-actions"], {
          home,
          env: actionsEnv(home, actions.url),
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(message);
        expect(existsSync(join(home, "runner-temp", "wandb-identity-token"))).toBe(false);
        expect(readFileSync(join(home, "github-env"), "utf8")).toBe("");
      } finally {
        actions.stop();
      }
    },
  );

  test("a GITHUB_ENV that cannot be written: exit 1 before any token is fetched or written", async () => {
    const actions = fakeActions();
    try {
      const home = tempDir();
      mkdirSync(join(home, "runner-temp"));
      mkdirSync(join(home, "github-env")); // a folder, not a file
      const r = await runCliAsync(["identity", "--github-actions"], {
        home,
        env: actionsEnv(home, actions.url),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("not a regular file");
      expect(actions.seen).toHaveLength(0);
      expect(existsSync(join(home, "runner-temp", "wandb-identity-token"))).toBe(false);
    } finally {
      actions.stop();
    }
  });
});

describe("keyless CI II: check, then write; no credential sent where only the checkout points (§7, §10 [r4])", () => {
  /** A runner's folders: RUNNER_TEMP and a GITHUB_ENV holding one earlier line. */
  function runner() {
    const home = tempDir();
    mkdirSync(join(home, "runner-temp"));
    writeFileSync(join(home, "github-env"), "EARLIER=1\n");
    return home;
  }
  /** Nothing was written: no token file, GITHUB_ENV as it was, no cache folder. */
  function unchanged(home: string) {
    expect(existsSync(join(home, "runner-temp", "wandb-identity-token"))).toBe(false);
    expect(read(join(home, "github-env"))).toBe("EARLIER=1\n");
    expect(existsSync(join(home, ".config"))).toBe(false);
  }

  test.each([
    ["an expired JWT", () => Response.json({ value: jwt(-60) }), "expired at"],
    [
      "a JWT over 64 KiB",
      () => Response.json({ value: jwt(600, { pad: "x".repeat(200_000) }) }),
      "larger than",
    ],
    ["an exp of 1e20", () => Response.json({ value: jwt(0, { exp: 1e20 }) }), "exp claim"],
  ])("the job's token is %s: exit 1, and no file changed", async (_, answer, message) => {
    const actions = fakeActions(answer);
    try {
      const home = runner();
      const r = await runCliAsync(["identity", "--github-actions"], {
        home,
        env: actionsEnv(home, actions.url),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("Invalid Date");
      unchanged(home);
    } finally {
      actions.stop();
    }
  });

  test("--verify refused by the server: exit 1, and no file changed", async () => {
    const actions = fakeActions();
    const server = fakeServer({
      exchange: () => Response.json({ error_description: "wrong issuer" }, { status: 400 }),
    });
    try {
      const home = runner();
      const args = ["identity", "--github-actions", "--verify", "--host", server.url];
      const r = await runCliAsync(args, { home, env: actionsEnv(home, actions.url) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("wrong issuer");
      expect(server.exchanges).toHaveLength(1);
      unchanged(home);
    } finally {
      actions.stop();
      server.stop();
    }
  });

  test.each([
    [
      "holding a newline (BASH_ENV injected into later steps)",
      (home: string) => `${home}/runner-temp\nBASH_ENV=/tmp/evil`,
    ],
    ["relative", () => "runner-temp"],
  ])("a RUNNER_TEMP %s: exit 1 before any request, GITHUB_ENV untouched", async (_, temp) => {
    const actions = fakeActions();
    try {
      const home = runner();
      const env = { ...actionsEnv(home, actions.url), RUNNER_TEMP: temp(home) };
      const r = await runCliAsync(["identity", "--github-actions"], { home, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("RUNNER_TEMP must be an absolute path on one line");
      expect(actions.seen).toHaveLength(0);
      unchanged(home);
    } finally {
      actions.stop();
    }
  });

  test("an Actions URL that is plain http off this machine is refused; its password is never shown", async () => {
    const home = runner();
    const plain = { ...actionsEnv(home, "http://actions.example/token?x=1") };
    const r = await runCliAsync(["identity", "--github-actions"], { home, env: plain });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("must be an https:// URL");
    const secret = { ...actionsEnv(home, "http://runner:s3cret-passw0rd@127.0.0.1:9/token?x=1") };
    const refused = await runCliAsync(["identity", "--github-actions"], { home, env: secret });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("127.0.0.1:9");
    expect(refused.stderr).not.toContain("s3cret-passw0rd");
    unchanged(home);
  });

  test("WANDB_API_KEY set in the job: identity exits 1 before anything, saying to remove it", async () => {
    const actions = fakeActions();
    try {
      const home = runner();
      const env = { ...actionsEnv(home, actions.url), WANDB_API_KEY: KEY40 };
      const r = await runCliAsync(["identity", "--github-actions"], { home, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Remove WANDB_API_KEY");
      expect(actions.seen).toHaveLength(0);
      unchanged(home);
      const file = runCli(["identity", "--token-file", join(home, "x.jwt")], {
        home,
        env: { WANDB_API_KEY: KEY40 },
      });
      expect(file.code).toBe(1);
      expect(file.stderr).toContain("Remove WANDB_API_KEY");
    } finally {
      actions.stop();
    }
  });

  test("an identity token is never sent to a host only ./wandb/settings names; --host confirms it", async () => {
    const server = fakeServer();
    try {
      const home = homeWith({ token: jwt() });
      mkdirSync(join(home, "wandb"));
      writeFileSync(join(home, "wandb", "settings"), `[default]\nbase_url = ${server.url}\n`);
      const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") };
      for (const args of [
        ["whoami"],
        ["status", "--verify"],
        ["--verify"],
        ["identity", "--token-file", "token.jwt", "--verify"],
      ]) {
        const r = await runCliAsync(args, { home, env });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`comes only from ${join(home, "wandb", "settings")}`);
        expect(r.stderr).toContain(`--host ${server.url}`);
      }
      expect(server.seen).toHaveLength(0);
      const confirmed = await runCliAsync(["whoami", "--host", server.url], { home, env });
      expect(confirmed.code).toBe(0);
      expect(server.exchanges).toHaveLength(1);
    } finally {
      server.stop();
    }
  });

  test("a key stored for no server goes to the checkout's server only after the warning, on every command", async () => {
    const server = fakeServer();
    try {
      const home = homeWith({
        system: `[default]\napi_key = ${KEY40}\n`,
        workspace: `[default]\nbase_url = ${server.url}\n`,
      });
      for (const args of [["whoami"], ["status", "--verify"]]) {
        const r = await runCliAsync(args, { home });
        expect(r.stderr).toContain(
          "which was not stored for that host: it is sent there. Trust this folder first.",
        );
      }
      expect(server.seen.length).toBeGreaterThan(0);
    } finally {
      server.stop();
    }
  });

  test.each([
    ["1e20", { exp: 1e20 }, "exp claim (100000000000000000000)"],
    ["-1e20", { exp: -1e20 }, "exp claim (-100000000000000000000)"],
    ["a string that has passed", { exp: "1000" }, 'exp claim ("1000")'],
  ])("a token file whose exp is %s: an error naming the file and the claim", (_, claims, message) => {
    const home = homeWith({ token: jwt(0, claims) });
    const env = { WANDB_IDENTITY_TOKEN_FILE: join(home, "token.jwt") };
    for (const args of [["status"], ["status", "--json"], ["identity", "--token-file", "token.jwt"]]) {
      const r = runCli(args, { home, env });
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(message);
      expect(r.stdout + r.stderr).toContain(join(home, "token.jwt"));
      expect(r.stdout + r.stderr).not.toContain("Invalid Date");
    }
  });

  test("a host with a backslash is refused: shown and stored as one host, fetch would go to another", () => {
    const home = tempDir();
    const r = runCli(["--host", "https://127.0.0.1:9\\wandb.example.com", "--verify", KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("a backslash does not belong in it");
    expect(readdirSync(home)).toEqual([]);
  });

  test("--json escapes C1 controls: a username holding U+009B (CSI) never reaches the terminal raw", async () => {
    using server = fakeApi({ viewers: { [KEY40]: { ...VIEWER, username: "eve\u009b31m" } } });
    const home = homeWith({ netrc: entry(server.url.replace("http://", ""), KEY40) });
    const r = await runCliAsync(["whoami", "--json", "--host", server.url], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\u009b");
    expect(r.stdout).toContain("eve\\u009b31m");
    expect(JSON.parse(r.stdout).username).toBe("eve\u009b31m");
  });
});
