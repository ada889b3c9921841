// --verify and --json against a fake W&B API on loopback: the request, the answers a server can
// give (refusals, errors, hostile bodies, redirects), timeouts, proxies and private CAs.
// In-process with the real fetch, except where Bun itself reads the variable (proxies, SSL_CERT_FILE,
// NODE_EXTRA_CA_CERTS, BUN_CONFIG_VERBOSE_FETCH) or the process is measured: those run the binary.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  basicAuth,
  describeFetchError,
  fromBytes,
  httpTimeout,
  InvalidKeyError,
  parseViewer,
  proxyFor,
  toBytes,
  VERSION,
  verifyKey,
} from "../login";
import {
  BIN,
  entry,
  fakeApi,
  has,
  KEY40,
  KEY_V1,
  leaks,
  read,
  runCliAsync,
  runInProcess,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const api = fakeApi({ viewers: { [KEY40]: VIEWER, [KEY_V1]: { ...VIEWER, username: "acme", teams: null } } });
afterAll(() => api.stop());

/** A HOME whose netrc already holds something, to prove a failure leaves it alone. */
function homeWithNetrc(): string {
  const home = tempDir();
  writeFileSync(join(home, ".netrc"), "machine keep login me password mine\n", { mode: 0o600 });
  return home;
}

describe("--verify", () => {
  test("asks the Viewer query with Basic api:key, then stores and reports who it is", async () => {
    const home = tempDir();
    const before = api.seen.length;
    const r = await runInProcess(["--verify", "--host", api.url, KEY40], { home });
    expect(r.code).toBe(0);
    expect(api.seen).toHaveLength(before + 1);
    const req = api.seen[before];
    expect(req.method).toBe("POST");
    expect(new URL(req.url).pathname).toBe("/graphql");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`api:${KEY40}`).toString("base64")}`);
    expect(req.headers["user-agent"]).toBe(`wandb-login/${VERSION}`); // the binary's: binary.test.ts
    expect(JSON.parse(req.body).query).toContain("viewer { id entity username email flags teams");
    expect(r.stderr).toContain(
      `Currently logged in as: alice (acme) to ${api.url}. Use \`wandb-login --relogin\` to force relogin.`,
    );
    expect(r.stderr).toContain("Credentials from: argument");
    expect(r.stderr).toContain("Default team: acme (other teams: ml-team)");
    expect(read(join(home, ".netrc"))).toBe(entry(`127.0.0.1:${api.port}`, KEY40));
    expect(leaks(r.stderr + r.stdout, KEY40)).toBe(false);
  });

  test("the entity is shown only when it differs from the username", async () => {
    const r = await runInProcess(["--verify", "--host", api.url, KEY_V1]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Currently logged in as: acme to ${api.url}.`);
  });

  test("a key found in WANDB_API_KEY is verified, named as the source, and not written", async () => {
    const home = tempDir();
    const r = await runInProcess(["--verify", "--host", api.url], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Credentials from: WANDB_API_KEY");
    expect(readdirSync(home)).toEqual([]);
  });

  test("a key found in the netrc is verified and its path shown", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(`127.0.0.1:${api.port}`, KEY40));
    const r = await runInProcess(["--verify", "--host", api.url], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Credentials from: ${join(home, ".netrc")}`);
  });

  test("a refused key: exit 1, 'Invalid API key for <host>', no file changed", async () => {
    const home = homeWithNetrc();
    const refused = "f".repeat(40);
    const r = await runInProcess(["--verify", "--host", api.url, refused], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Invalid API key for ${api.url}`);
    expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    expect(readdirSync(home)).toEqual([".netrc"]);
    expect(leaks(r.stderr, refused)).toBe(false);
  });

  test.each([
    ["a null viewer", () => Response.json({ data: { viewer: null } }), /Invalid API key for/],
    ["HTTP 403", () => new Response("no", { status: 403 }), /Invalid API key for/],
    ["HTTP 500", () => new Response("boom", { status: 500 }), /answered HTTP 500/],
    [
      "an HTML page",
      () => new Response("<html>portal</html>", { headers: { "content-type": "text/html" } }),
      /did not answer with JSON \(got text\/html\)/,
    ],
  ])("%s: one line naming the host and the cause, exit 1, nothing written", async (_, answer, message) => {
    using server = fakeApi({ answer });
    const home = homeWithNetrc();
    const r = await runInProcess(["--verify", "--host", server.url, KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(server.url);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  test("a server that hangs: gives up after WANDB_HTTP_TIMEOUT seconds", async () => {
    using server = fakeApi({ answer: () => new Promise<Response>(() => {}) });
    const started = Date.now();
    const r = await runInProcess(["--verify", "--host", server.url, KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "0.3" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${server.url} did not answer within 0.3 seconds`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  test("connection refused and DNS failure are told apart", async () => {
    const closed = fakeApi();
    closed.stop();
    const refused = await runInProcess(["--verify", "--host", closed.url, KEY40]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Could not connect to ${closed.url}: connection refused`);
    const dns = await runInProcess(["--verify", "--host", "http://no-such-host.invalid", KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "5" },
    });
    expect(dns.code).toBe(1);
    expect(dns.stderr).toMatch(/no-such-host\.invalid.*(DNS lookup|did not answer)/);
  });

  test("WANDB_HTTP_TIMEOUT=Infinity is warned about and the default used", async () => {
    const r = await runInProcess(["--verify", "--host", api.url, KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "Infinity" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("WANDB_HTTP_TIMEOUT=Infinity is not a number of seconds");
  });

  test("--verify over plain http to a host off this machine warns that the key travels unencrypted", async () => {
    const r = await runInProcess(["--verify", "--host", "http://wandb.invalid", KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "2" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("http://wandb.invalid is plain http: the key travels unencrypted");
  });
});

describe("hostile servers", () => {
  test("an endless body is cut off at 1 MiB: exit 1, one line, nothing stored", async () => {
    using server = fakeApi({
      answer: () =>
        new Response(
          new ReadableStream({
            pull: (c) => c.enqueue(new TextEncoder().encode("x".repeat(65536))),
          }),
        ),
    });
    const home = tempDir();
    const r = await runInProcess(["--verify", "--host", server.url, KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("answered with more than 1 MiB");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(home)).toEqual([]);
  });

  test("a gzip bomb is cut off after decompression", async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 32));
    using server = fakeApi({
      answer: () =>
        new Response(bomb, { headers: { "content-encoding": "gzip", "content-type": "application/json" } }),
    });
    // the binary, to measure its peak memory
    const proc = Bun.spawn(["/usr/bin/time", "-f", "%M", BIN, "--verify", "--host", server.url, KEY40], {
      env: { PATH: process.env.PATH ?? "", HOME: tempDir() },
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("more than 1 MiB");
    expect(Number(stderr.trim().split("\n").at(-1)) / 1024).toBeLessThan(200); // MB, far from 64 MB × copies
  });

  test("a redirect is not followed: its target never sees the key, the error names it", async () => {
    using other = fakeApi({ viewers: { [KEY40]: { ...VIEWER, username: "mallory" } } });
    using server = fakeApi({
      answer: () => new Response("", { status: 307, headers: { location: `${other.url}/graphql` } }),
    });
    const home = tempDir();
    const r = await runInProcess(["--verify", "--host", server.url, KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${server.url} redirected to ${other.url}/graphql. Log in with --host ${other.url}`,
    );
    expect(r.stderr).not.toContain("mallory");
    expect(other.seen).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
  });

  test.each([['{"data":{"viewer":true}}'], ['{"data":{"viewer":{"id":"1"}}}'], ['{"data":{"viewer":[1]}}']])(
    "a viewer of the wrong shape (%s) is not a W&B server",
    async (body) => {
      using server = fakeApi({
        answer: () => new Response(body, { headers: { "content-type": "application/json" } }),
      });
      const r = await runInProcess(["--verify", "--host", server.url, KEY40]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${server.url} did not answer like a W&B server`);
      expect(r.stderr).not.toMatch(/TypeError|at /);
    },
  );
});

describe("proxies (Bun's fetch reads them: through the binary)", () => {
  test("HTTP_PROXY is used, and named when the proxy fails", async () => {
    const proxy = fakeApi({
      answer: () => Response.json({ data: { viewer: { ...VIEWER, username: "via-proxy" } } }),
    });
    try {
      const r = await runCliAsync(["--verify", "--host", "http://wandb.test", KEY40], {
        env: { HTTP_PROXY: proxy.url },
      });
      expect(r.code).toBe(0);
      expect(proxy.seen.at(-1)?.url).toBe("http://wandb.test/graphql");
      expect(r.stderr).toContain("Currently logged in as: via-proxy (acme)");
    } finally {
      proxy.stop();
    }
    const down = await runCliAsync(["--verify", "--host", "http://wandb.test", KEY40], {
      env: { http_proxy: proxy.url },
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`via proxy ${proxy.url}`);
    const bypass = await runCliAsync(["--verify", "--host", api.url, KEY40], {
      env: { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" },
    });
    expect(bypass.code).toBe(0);
  });

  test("HTTPS_PROXY carries https requests (a CONNECT tunnel), and a refused tunnel is told", async () => {
    using proxy = fakeApi({ answer: () => new Response("no", { status: 403 }) });
    const r = await runCliAsync(["--verify", "--host", "https://wandb.test", KEY40], {
      env: { HTTPS_PROXY: proxy.url },
    });
    expect(r.code).toBe(1);
    expect(proxy.seen.map((s) => s.method)).toContain("CONNECT");
    expect(r.stderr).toContain(`Could not connect to https://wandb.test via proxy ${proxy.url}`);
    expect(leaks(r.stderr, KEY40)).toBe(false);
  });

  test("BUN_CONFIG_VERBOSE_FETCH=curl leaks neither the key nor its Basic encoding", async () => {
    const r = await runCliAsync(["--verify", "--host", api.url, KEY40], {
      env: { BUN_CONFIG_VERBOSE_FETCH: "curl" },
    });
    expect(r.code).toBe(0);
    expect(leaks(r.stdout + r.stderr, KEY40)).toBe(false);
  });
});

describe("TLS", () => {
  const haveOpenssl = has("openssl");
  const dir = tempDir();
  if (haveOpenssl) {
    Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stderr: "pipe" },
    );
  }
  // Bun reads SSL_CERT_FILE and NODE_EXTRA_CA_CERTS at start-up: those run the binary
  testIf(haveOpenssl, "TLS tests", "openssl not installed").each([
    ["SSL_CERT_FILE", runCliAsync],
    ["NODE_EXTRA_CA_CERTS", runCliAsync],
    ["REQUESTS_CA_BUNDLE", runInProcess],
    ["", runInProcess],
  ])("private CA via %p", async (variable, run) => {
    using server = fakeApi({
      viewers: { [KEY40]: VIEWER },
      tls: { cert: read(join(dir, "cert.pem")), key: read(join(dir, "key.pem")) },
    });
    const r = await run(["--verify", "--host", server.url, KEY40], {
      env: variable ? { [variable]: join(dir, "cert.pem") } : {},
    });
    if (variable) {
      expect(r.stderr).toContain("Currently logged in as: alice (acme)");
      expect(r.code).toBe(0);
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("TLS certificate not trusted");
      expect(r.stderr).toContain("SSL_CERT_FILE");
    }
  });

  testIf(
    haveOpenssl,
    "TLS tests",
    "openssl not installed",
  )(
    "REQUESTS_CA_BUNDLE may be a folder of certificates, c_rehash'd links included, as requests takes",
    async () => {
      using server = fakeApi({
        viewers: { [KEY40]: VIEWER },
        tls: { cert: read(join(dir, "cert.pem")), key: read(join(dir, "key.pem")) },
      });
      const certs = tempDir();
      writeFileSync(join(certs, "private-ca.pem"), read(join(dir, "cert.pem")));
      symlinkSync("private-ca.pem", join(certs, "a1b2c3d4.0"));
      const r = await runInProcess(["--verify", "--host", server.url, KEY40], {
        env: { REQUESTS_CA_BUNDLE: certs },
      });
      expect(r.stderr).toContain("Currently logged in as: alice (acme)");
      expect(r.code).toBe(0);
    },
  );
});

describe("--json", () => {
  test("success: exactly one object on stdout, shaped as the spec says", async () => {
    const home = tempDir();
    const r = await runInProcess(["--verify", "--json", "--host", api.url, KEY40], { home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      host: api.url,
      machine: `127.0.0.1:${api.port}`,
      source: "argument",
      stored: true,
      netrc: join(home, ".netrc"),
      verified: true,
      username: "alice",
      entity: "acme",
      teams: ["acme", "ml-team"],
    });
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("Currently logged in as");
  });

  test("without --verify the identity is null, and a found key is not stored", async () => {
    const home = tempDir();
    const r = await runInProcess(["--json"], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      host: "https://api.wandb.ai",
      machine: "api.wandb.ai",
      source: "WANDB_API_KEY",
      stored: false,
      netrc: join(home, ".netrc"),
      verified: false,
      username: null,
      entity: null,
      teams: null,
    });
    expect(readdirSync(home)).toEqual([]);
  });

  test("failure: {error, code} and the exit code, for login and usage errors alike", async () => {
    const refused = await runInProcess(["--verify", "--json", "--host", api.url, "e".repeat(40)]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual({
      error: expect.stringContaining("Invalid API key for"),
      code: 1,
    });
    const usage = await runInProcess(["--json", "--bogus"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: "Unknown option --bogus.", code: 2 });
    const none = await runInProcess(["--json"]);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({
      code: 1,
      error: expect.stringContaining("No API key configured"),
    });
  });
});

describe("verifyKey, with a fake fetch", () => {
  const viewer = {
    username: "alice",
    entity: "acme",
    teams: { edges: [{ node: { name: "acme" } }, { node: { name: "ml" } }] },
  };
  const fakeFetch = (answer: () => Response | Promise<Response>) =>
    (async () => answer()) as unknown as typeof fetch;
  const NOW = Date.parse("2026-12-01T12:00:00Z");
  const verifyWith = (answer: () => Response | Promise<Response>, host = "http://h", env = {}) =>
    verifyKey(host, KEY40, { env, fetch: fakeFetch(answer), fs, now: () => NOW, cwd: tempDir() });

  test.each([
    ["120", "Try again in 120 seconds."],
    ["Tue, 01 Dec 2026 12:01:30 GMT", "Try again in 90 seconds."],
    [null, "Try again later."],
  ])("429 with Retry-After %p: the server is rate-limiting, and when to retry", async (after, when) => {
    const headers: Record<string, string> = after === null ? {} : { "retry-after": after };
    const answer = () => new Response("slow down", { status: 429, headers });
    await expect(verifyWith(answer)).rejects.toThrow(
      `http://h is rate-limiting requests (HTTP 429 Too Many Requests). ${when}`,
    );
  });

  test("a 407 is the proxy's, named without its user info (all of it, up to the last @)", async () => {
    const answer = () => new Response("", { status: 407 });
    const env = { HTTP_PROXY: "http://user:p@ss@w0rd@proxy.example:3128" };
    const error = await verifyWith(answer, "http://h", env).catch((e: Error) => e.message);
    expect(error).toBe(
      "The proxy http://proxy.example:3128 refused the request: it wants credentials (HTTP 407). " +
        "Check the user and password in HTTPS_PROXY or HTTP_PROXY.",
    );
    expect(error).not.toContain("w0rd");
  });

  test("a non-null viewer is a valid key", async () => {
    expect(await verifyWith(() => Response.json({ data: { viewer } }))).toEqual({
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
    await expect(verifyWith(answer)).rejects.toThrow(message);
  });
  test("a redirect is not followed: the error names where it points", async () => {
    const redirect = () =>
      new Response("", { status: 307, headers: { location: "http://127.0.0.1:9/other/graphql" } });
    await expect(verifyWith(redirect, "https://h")).rejects.toThrow(
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
    await expect(verifyWith(() => new Response("x".repeat(2 << 20)))).rejects.toThrow(/more than 1 MiB/);
  });
  test("WANDB_HTTP_TIMEOUT: seconds up to 3600, anything else warned about and 10", () => {
    expect(httpTimeout({})).toEqual({ seconds: 10 });
    expect(httpTimeout({ WANDB_HTTP_TIMEOUT: "2.5" })).toEqual({ seconds: 2.5 });
    for (const bad of ["Infinity", "0", "-1", "abc", "3601", "1e9"]) {
      expect(httpTimeout({ WANDB_HTTP_TIMEOUT: bad }).warning).toContain(`WANDB_HTTP_TIMEOUT=${bad} is not`);
    }
  });
  test("only refusals of the key itself are InvalidKeyError (the prompt asks again for those)", async () => {
    await expect(verifyWith(() => new Response("", { status: 403 }))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(verifyWith(() => new Response("", { status: 500 }))).rejects.not.toBeInstanceOf(
      InvalidKeyError,
    );
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
});
