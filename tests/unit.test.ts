// Unit tests of login.ts's pure functions.
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import {
  appUrl,
  basicAuth,
  checkApiKey,
  fromBytes,
  toBytes,
  CLOUD_URL,
  describeFetchError,
  completionScript,
  editDistance,
  escapeControls,
  httpTimeout,
  isLoopback,
  keyShaped,
  parseViewer,
  settingsFor,
  utf8Problem,
  InvalidKeyError,
  LoginError,
  machineName,
  maskKey,
  maskSecrets,
  netrcLookup,
  normalizeHost,
  parseCommandLine,
  parseNetrc,
  parseSettings,
  proxyFor,
  removeNetrcEntry,
  resolveHost,
  updateNetrc,
  updateSettings,
  UsageError,
  verifyKey,
} from "../login";
import { KEY40, KEY_V1 } from "./helpers";

describe("command line", () => {
  const parse = (...argv: string[]) => parseCommandLine(argv);
  const expectParse = (...argv: string[]) => expect(parse(...argv));
  test("a KEY and the defaults", async () => {
    expectParse(KEY40).toMatchObject({
      command: "login",
      key: KEY40,
      cloud: false,
      verify: false,
      stdin: false,
      extraKeys: 0,
    });
  });
  test("a leading `login` is skipped, `status` and `logout` are commands", async () => {
    expectParse("login", KEY40).toMatchObject({ command: "login", key: KEY40 });
    expectParse("status", "--verify").toMatchObject({
      command: "status",
      verify: true,
      key: undefined,
    });
    expectParse("--host", "http://x", "logout").toMatchObject({ command: "logout", host: "http://x" });
  });
  test("--base-url is --host, in both spellings", async () => {
    expectParse("--base-url", "http://a:1").toMatchObject({ host: "http://a:1" });
    expectParse("--host=http://b").toMatchObject({ host: "http://b" });
  });
  test("--no-verify and extra keys", async () => {
    expectParse("--verify", "--no-verify").toMatchObject({ verify: false });
    expectParse(KEY40, "b1", "c1").toMatchObject({ key: KEY40, extraKeys: 2 });
  });
  test("`-` and --stdin read stdin", async () => {
    expectParse("-").toMatchObject({ stdin: true, key: "-" });
    expectParse("--stdin").toMatchObject({ stdin: true, key: undefined });
  });
  test("help and version, as flags and as words; per-command help", async () => {
    expectParse("--help").toEqual({ help: "login" });
    expectParse("-h").toEqual({ help: "login" });
    expectParse("help").toEqual({ help: "login" });
    expectParse("status", "--help").toEqual({ help: "status" });
    expectParse("help", "logout").toEqual({ help: "logout" });
    expectParse("-v").toBe("version");
    expectParse("version").toBe("version");
  });
  test("a short lowercase word that is no command is a usage error with a suggestion", async () => {
    expect(() => parse("stauts")).toThrow('Unknown command "stauts". Did you mean "status"?');
    expect(() => parse("frobnicate")).toThrow(/^Unknown command "frobnicate"\.$/);
    expect(() => parse("help", "bogus")).toThrow(UsageError);
    expectParse("completion", "bash").toMatchObject({ command: "completion", key: "bash" });
    expect(() => parse("completion")).toThrow(UsageError);
    expect(editDistance("stauts", "status")).toBe(2);
    expect(editDistance("logot", "logout")).toBe(1);
  });
  test("completion scripts for bash, zsh and fish; anything else is a usage error", () => {
    for (const shell of ["bash", "zsh", "fish"]) expect(completionScript(shell)).toMatch(/-(-|l )host/);
    expect(() => completionScript("toString")).toThrow(UsageError);
  });
  test.each([
    [["--bogus"], /Unknown option --bogus/],
    [["-x"], /Unknown option -x/],
    [["--host"], /--host needs a value/],
    [["--host", "--cloud"], /--host needs a value/],
    [["--host="], /--host needs a value/],
    [["--cloud", "--host", "http://x"], /Cannot use --host and --cloud together/],
    [["--stdin", KEY40], /--stdin together with a KEY/],
    [["status", KEY40], /takes no KEY/],
    [["--no-host", "x"], /Unknown option --no-host/],
  ])("usage error: %p", async (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});

describe("host", () => {
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
});

describe("API key format", () => {
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
  test("masking never shows the secret", () => {
    expect(maskKey(KEY_V1)).toBe(`wandb_v1_…${KEY_V1.slice(-4)}`);
    expect(maskKey(KEY40)).toBe(`…${KEY40.slice(-4)}`);
    expect(maskKey("abc")).toBe("…");
  });
  test("key-shaped values anywhere in the arguments are found; short words are not keys", () => {
    expect(keyShaped(["--host", KEY40, `--${KEY_V1}`, `--host=${KEY40}x`, "status", "e"])).toEqual([
      KEY40,
      KEY_V1,
      `${KEY40}x`,
    ]);
    expect(maskSecrets("API key must have 40+ characters, has 1.", ["e"])).toBe(
      "API key must have 40+ characters, has 1.",
    );
  });
  test("control characters are shown, not obeyed", () => {
    expect(escapeControls("a\x1b]0;pwned\x07b\x1b[2Jc\nd\x9be\x7f")).toBe(
      "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x0ad\\x9be\\x7f",
    );
    expect(escapeControls("ünïcode ok")).toBe("ünïcode ok");
  });
});

describe("netrc", () => {
  const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;
  test("a new file is upstream's three-line entry", () => {
    expect(updateNetrc("", "api.wandb.ai", KEY40).text).toBe(entry("api.wandb.ai", KEY40));
  });
  test("other entries, comments and blank lines are kept byte for byte; ours is replaced and goes last", () => {
    const before = `# my netrc\nmachine api.wandb.ai\n  login user\n  password OLD\n\nmachine github.com login me password gh\n`;
    expect(updateNetrc(before, "api.wandb.ai", KEY40).text).toBe(
      `# my netrc\n\nmachine github.com login me password gh\n${entry("api.wandb.ai", KEY40)}`,
    );
  });
  test("a file without a final newline gets one before our entry", () => {
    expect(updateNetrc("machine a login b password c", "h", KEY40).text).toBe(
      `machine a login b password c\n${entry("h", KEY40)}`,
    );
  });
  test("our entry goes before `default`, which must stay last", () => {
    const before = "machine a login b password c\ndefault login anon password x\n";
    expect(updateNetrc(before, "h", KEY40).text).toBe(
      `machine a login b password c\n${entry("h", KEY40)}default login anon password x\n`,
    );
  });
  test("one-line entries, also several on a line, count as entries", () => {
    const before =
      "machine a login b password c machine h login user password OLD machine z login y password w\n";
    expect(updateNetrc(before, "h", KEY40).text).toBe(
      `machine a login b password c machine z login y password w\n${entry("h", KEY40)}`,
    );
  });
  test("duplicates of our entry are all removed", () => {
    const before = `${entry("h", "ONE")}${entry("x", "X")}${entry("h", "TWO")}`;
    expect(updateNetrc(before, "h", KEY40).text).toBe(`${entry("x", "X")}${entry("h", KEY40)}`);
  });
  test("a machine whose name only contains ours is not ours", () => {
    const before = entry("h.evil", "E");
    expect(updateNetrc(before, "h", KEY40).text).toBe(before + entry("h", KEY40));
  });
  test("macdef bodies are kept with their blank line, even when they mention machines", () => {
    const before =
      "macdef init\nmachine h login user password NOTOURS\n\nmachine h login user password OLD\n";
    expect(updateNetrc(before, "h", KEY40).text).toBe(
      `macdef init\nmachine h login user password NOTOURS\n\n${entry("h", KEY40)}`,
    );
  });
  test("an unterminated macdef at the end gets its blank line before our entry", () => {
    const after = updateNetrc("macdef init\ncd /tmp\n", "h", KEY40).text;
    expect(after).toBe(`macdef init\ncd /tmp\n\n${entry("h", KEY40)}`);
    expect(netrcLookup(after, "h").entry?.password).toBe(KEY40);
  });
  test("an unclosed quote at the end would swallow our entry, so it goes first", () => {
    const before = 'machine a login b password "open';
    expect(updateNetrc(before, "h", KEY40).text).toBe(entry("h", KEY40) + before);
  });
  test("CRLF files keep CRLF", () => {
    const before = "machine a\r\n  login b\r\n  password c\r\n";
    expect(updateNetrc(before, "h", KEY40).text).toBe(before + entry("h", KEY40).replaceAll("\n", "\r\n"));
  });
  test("names that need it are quoted so readers still see them", () => {
    const out = updateNetrc("", 'we"ird\\name', KEY40).text;
    expect(out.split("\n")[0]).toBe('machine "we\\"ird\\\\name"');
    expect(netrcLookup(out, 'we"ird\\name').entry?.password).toBe(KEY40);
  });
  test("lookup reads what Python reads: quotes, comments, the last duplicate, no fallback to default", () => {
    const text = `# c\nmachine "h" login user password "k 1"\nmachine h password k2 # trailing\ndefault login d password dp\n`;
    expect(netrcLookup(text, "h").entry).toMatchObject({ login: "", password: "k2" });
    expect(netrcLookup(text, "other").entry).toBeUndefined();
  });
  test("a quoted empty token ends the file for Python, so entries after it are not seen", () => {
    expect(netrcLookup('machine a login b "" machine h login user password k\n', "h").entry).toBeUndefined();
    expect(netrcLookup('machine a login b "" machine h login user password k\n', "a").entry?.login).toBe("b");
  });
  test("lookup reports what Python would raise", () => {
    expect(netrcLookup("machine h port 80\n", "h").error).toMatch(/bad follower token "port"/);
    expect(netrcLookup("garbage\n", "h").error).toMatch(/bad toplevel token/);
    expect(netrcLookup("macdef m\nbody", "h").error).toMatch(/missing null line terminator/);
  });
  test("parse keeps going past errors, for the writer", () => {
    const parsed = parseNetrc("junk\nmachine h login user password k\n");
    expect(parsed.visible).toBe(0);
    expect(parsed.entries.map((e) => e.name)).toEqual(["h"]);
  });
  test("remove reports what it removed and keeps the rest", () => {
    expect(removeNetrcEntry(`${entry("a", "1")}${entry("h", "2")}default login x\n`, "h")).toEqual({
      text: `${entry("a", "1")}default login x\n`,
      removed: 1,
    });
    expect(removeNetrcEntry(entry("a", "1"), "h")).toEqual({ text: entry("a", "1"), removed: 0 });
  });
});

describe("what Python's netrc reads", () => {
  test("a file that is not UTF-8 is named with the byte and its line", () => {
    expect(utf8Problem("machine h login u password p\n")).toBeUndefined();
    expect(utf8Problem(toBytes("# ünïcode ✓ 😀\n"))).toBeUndefined();
    expect(utf8Problem("a\nb\xffc")).toBe("'utf-8' codec can't decode byte 0xff in position 3 (line 2)");
    expect(utf8Problem("\xc3(")).toMatch(/byte 0xc3 in position 0/);
  });
  test("a default entry is the fallback, as Python's authenticators() has it", () => {
    const found = netrcLookup(`machine a login b password c\ndefault login d password ${KEY40}\n`, "x");
    expect(found.entry).toBeUndefined();
    expect(found.fallback?.password).toBe(KEY40);
  });
});

describe("settings files", () => {
  test("reads [default], with [DEFAULT] beneath it, keys case-insensitive", () => {
    const text =
      "[DEFAULT]\nentity = e\n\n[default]\nBase_URL = http://x:1\napi_key: K\n# c\n[other]\nbase_url = nope\n";
    expect(parseSettings(text).values).toEqual({ entity: "e", base_url: "http://x:1", api_key: "K" });
  });
  test("malformed files are reported", () => {
    expect(parseSettings("base_url = x\n").error).toBeDefined();
    expect(parseSettings("[default]\na = 1\na = 2\n").error).toMatch(/twice/);
    expect(parseSettings("[default]\njust words\n").error).toMatch(/cannot parse/);
  });
  test("set replaces in place and keeps every other line", () => {
    const text =
      "# mine\n[default]\nmode = offline\nbase_url = http://old\n  continued\nanonymous = must\n\n[other]\nx = 1\n";
    expect(updateSettings(text, { base_url: "http://new", anonymous: null })).toBe(
      "# mine\n[default]\nmode = offline\nbase_url = http://new\n\n[other]\nx = 1\n",
    );
  });
  test("a value continued after a blank line is replaced whole, once", () => {
    expect(updateSettings("[default]\nbase_url = a\n\n  more\nmode = x\n", { base_url: "h" })).toBe(
      "[default]\nbase_url = h\n\nmode = x\n",
    );
  });
  test("set adds to [default], or adds the section", () => {
    expect(updateSettings("[default]\nmode = online\n\n[x]\n", { base_url: "h" })).toBe(
      "[default]\nmode = online\nbase_url = h\n\n[x]\n",
    );
    expect(updateSettings("", { base_url: "h" })).toBe("[default]\nbase_url = h\n");
    expect(updateSettings("[x]\na = 1\n", { base_url: "h" })).toBe("[x]\na = 1\n\n[default]\nbase_url = h\n");
  });
  test("CRLF files keep CRLF", () => {
    expect(updateSettings("[default]\r\nmode = x\r\n", { base_url: "h" })).toBe(
      "[default]\r\nmode = x\r\nbase_url = h\r\n",
    );
    expect(updateSettings("[x]\r\n", { base_url: "h" })).toBe("[x]\r\n\r\n[default]\r\nbase_url = h\r\n");
  });
  test("removing what is not there changes nothing; % is escaped for configparser", () => {
    expect(updateSettings("[default]\nmode = x\n", { base_url: null })).toBe("[default]\nmode = x\n");
    const text = updateSettings("", { base_url: "http://h/%7E" });
    expect(text).toBe("[default]\nbase_url = http://h/%%7E\n");
    expect(parseSettings(text).values.base_url).toBe("http://h/%7E");
  });
  test("LoginError carries an exit code", () => {
    expect(new LoginError("x", 130).code).toBe(130);
  });
});

describe("verification, with a fake fetch", () => {
  const viewer = {
    username: "alice",
    entity: "acme",
    teams: { edges: [{ node: { name: "acme" } }, { node: { name: "ml" } }] },
  };
  const fakeFetch = (answer: () => Response | Promise<Response>) =>
    (async () => answer()) as unknown as typeof fetch;
  test("a non-null viewer is a valid key", async () => {
    expect(
      await verifyKey("http://h", KEY40, {
        env: {},
        fetch: fakeFetch(() => Response.json({ data: { viewer } })),
        fs,
      }),
    ).toEqual({
      username: "alice",
      entity: "acme",
      teams: ["acme", "ml"],
    });
  });
  test.each([
    ["401", () => new Response("", { status: 401 }), /^Invalid API key for http:\/\/h\./],
    ["a null viewer", () => Response.json({ data: { viewer: null } }), /^Invalid API key for http:\/\/h\./],
    [
      "502",
      () => new Response("", { status: 502, statusText: "Bad Gateway" }),
      /^http:\/\/h answered HTTP 502 Bad Gateway\./,
    ],
    [
      "HTML",
      () => new Response("<html>", { headers: { "content-type": "text/html" } }),
      /did not answer with JSON \(got text\/html\)/,
    ],
    [
      "404",
      () => new Response("", { status: 404, statusText: "Not Found" }),
      /^http:\/\/h answered HTTP 404 Not Found\. Is this the address of a W&B server\?$/,
    ],
  ])("%s is refused with its own message", async (_, answer, message) => {
    await expect(verifyKey("http://h", KEY40, { env: {}, fetch: fakeFetch(answer), fs })).rejects.toThrow(
      message,
    );
  });
  test("a redirect is not followed: the error names where it points", async () => {
    const redirect = () =>
      new Response("", { status: 307, headers: { location: "http://127.0.0.1:9/other/graphql" } });
    await expect(verifyKey("https://h", KEY40, { env: {}, fetch: fakeFetch(redirect), fs })).rejects.toThrow(
      "https://h redirected to http://127.0.0.1:9/other/graphql. Log in with --host http://127.0.0.1:9/other if it is the W&B server.",
    );
  });
  test("a viewer of the wrong shape is no W&B server; a body over 1 MiB is cut off", async () => {
    for (const viewer of [true, "x", [], { id: 1 }, { username: 5 }]) {
      expect(() => parseViewer(JSON.stringify({ data: { viewer } }), "http://h")).toThrow(
        "http://h did not answer like a W&B server",
      );
    }
    expect(
      parseViewer('{"data":{"viewer":{"entity":"e","teams":{"edges":[{"node":{"name":7}}]}}}}', "h"),
    ).toEqual({ username: "e", entity: "e", teams: [] });
    const huge = () => new Response("x".repeat(2 << 20));
    await expect(verifyKey("http://h", KEY40, { env: {}, fetch: fakeFetch(huge), fs })).rejects.toThrow(
      /more than 1 MiB/,
    );
  });
  test("WANDB_HTTP_TIMEOUT: seconds up to 3600, anything else warned about and 10", () => {
    expect(httpTimeout({})).toEqual({ seconds: 10 });
    expect(httpTimeout({ WANDB_HTTP_TIMEOUT: "2.5" })).toEqual({ seconds: 2.5 });
    for (const bad of ["Infinity", "0", "-1", "abc", "3601", "1e9"]) {
      expect(httpTimeout({ WANDB_HTTP_TIMEOUT: bad }).warning).toContain(`WANDB_HTTP_TIMEOUT=${bad} is not`);
    }
  });
  test("only refusals of the key itself are InvalidKeyError (the prompt asks again for those)", async () => {
    await expect(
      verifyKey("http://h", KEY40, {
        env: {},
        fetch: fakeFetch(() => new Response("", { status: 403 })),
        fs,
      }),
    ).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(
      verifyKey("http://h", KEY40, {
        env: {},
        fetch: fakeFetch(() => new Response("", { status: 500 })),
        fs,
      }),
    ).rejects.not.toBeInstanceOf(InvalidKeyError);
  });
  test.each([
    [
      Object.assign(new Error("t"), { name: "TimeoutError" }),
      "https://h did not answer within 10 seconds (set WANDB_HTTP_TIMEOUT to wait longer).",
    ],
    [
      Object.assign(new Error("r"), { code: "ECONNREFUSED" }),
      "Could not connect to https://h: connection refused. Is the server running?",
    ],
    [
      Object.assign(new Error("d"), { code: "ENOTFOUND" }),
      "Could not connect to https://h: DNS lookup of h failed. Check the host name.",
    ],
    [
      Object.assign(new Error("c"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
      /TLS certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\. If the server uses a private CA/,
    ],
  ])("network failure %#: one line naming the host and the cause", (err, message) => {
    const text = describeFetchError(err, "https://h", {}, 10);
    if (typeof message === "string") expect(text).toBe(message);
    else expect(text).toMatch(message);
  });
  test("the proxy in use is named, without its password", () => {
    const err = Object.assign(new Error("r"), { code: "ECONNREFUSED" });
    expect(describeFetchError(err, "https://h", { HTTPS_PROXY: "http://u:pw@proxy:3128" }, 10)).toContain(
      "via proxy http://proxy:3128",
    );
  });
  test("proxy choice follows HTTPS_PROXY/HTTP_PROXY/NO_PROXY, both cases", () => {
    expect(proxyFor("https://h.example", { https_proxy: "http://p1", HTTP_PROXY: "http://p2" })).toBe(
      "http://p1",
    );
    expect(proxyFor("https://h.example", { HTTP_PROXY: "http://p2" })).toBeUndefined(); // as Bun's fetch and Python's requests do
    expect(proxyFor("http://h.example", { HTTPS_PROXY: "http://p1", http_proxy: "http://p2" })).toBe(
      "http://p2",
    );
    expect(proxyFor("http://h.example", { HTTP_PROXY: "http://p", NO_PROXY: "xample" })).toBe("http://p"); // suffixes match at dots only
    expect(proxyFor("http://h.example", { HTTP_PROXY: "http://p", NO_PROXY: "example" })).toBeUndefined();
    expect(
      proxyFor("http://a.h.example", { HTTP_PROXY: "http://p", no_proxy: ".h.example" }),
    ).toBeUndefined();
    expect(
      proxyFor("http://127.0.0.1:8080", { HTTP_PROXY: "http://p", NO_PROXY: "localhost,127.0.0.1" }),
    ).toBeUndefined();
    expect(proxyFor("http://x", { HTTP_PROXY: "http://p", NO_PROXY: "*" })).toBeUndefined();
  });
  test("byte strings round-trip UTF-8; Basic auth is base64 of api:key's UTF-8 bytes", () => {
    expect(toBytes("ü")).toBe("\u00c3\u00bc");
    expect(fromBytes(toBytes("héllo ☃"))).toBe("héllo ☃");
    expect(basicAuth("kéy")).toBe(`Basic ${Buffer.from("api:kéy").toString("base64")}`);
  });
  test("secrets are masked, the key and its Basic-auth form alike", () => {
    const text = `key ${KEY_V1} header ${basicAuth(KEY_V1)}`;
    expect(maskSecrets(text, [KEY_V1])).toBe(`key ${maskKey(KEY_V1)} header Basic …`);
  });
});
