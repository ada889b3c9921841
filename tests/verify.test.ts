// Black-box tests of --verify and --json against a fake W&B API on loopback.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BIN,
  fakeApi,
  has,
  KEY40,
  KEY_V1,
  leaks,
  testIf,
  read,
  runCliAsync,
  tempDir,
  VIEWER,
} from "./helpers";

const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;
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
    const r = await runCliAsync(["--verify", "--host", api.url, KEY40], { home });
    expect(r.code).toBe(0);
    const req = api.seen[before];
    expect(req.method).toBe("POST");
    expect(new URL(req.url).pathname).toBe("/graphql");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`api:${KEY40}`).toString("base64")}`);
    expect(req.headers["user-agent"]).toBe(`wandb-login/${require("../package.json").version}`);
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
    const r = await runCliAsync(["--verify", "--host", api.url, KEY_V1]);
    expect(r.stderr).toContain(`Currently logged in as: acme to ${api.url}.`);
  });

  test("a key found in WANDB_API_KEY is verified, named as the source, and not written", async () => {
    const home = tempDir();
    const r = await runCliAsync(["--verify", "--host", api.url], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Credentials from: WANDB_API_KEY");
    expect(readdirSync(home)).toEqual([]);
  });

  test("a key found in the netrc is verified and its path shown", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry(`127.0.0.1:${api.port}`, KEY40));
    const r = await runCliAsync(["--verify", "--host", api.url], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Credentials from: ${join(home, ".netrc")}`);
  });

  test("a refused key: exit 1, 'Invalid API key for <host>', no file changed", async () => {
    const home = homeWithNetrc();
    const refused = "f".repeat(40);
    const r = await runCliAsync(["--verify", "--host", api.url, refused], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Invalid API key for ${api.url}`);
    expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    expect(readdirSync(home)).toEqual([".netrc"]);
    expect(leaks(r.stderr, refused)).toBe(false);
  });

  const failing = (answer: () => Response) => fakeApi({ answer });
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
    const server = failing(answer);
    try {
      const home = homeWithNetrc();
      const r = await runCliAsync(["--verify", "--host", server.url, KEY40], { home });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain(server.url);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    } finally {
      server.stop();
    }
  });

  test("a server that hangs: gives up after WANDB_HTTP_TIMEOUT seconds", async () => {
    const server = fakeApi({ answer: () => new Promise<Response>(() => {}) });
    try {
      const started = Date.now();
      const r = await runCliAsync(["--verify", "--host", server.url, KEY40], {
        env: { WANDB_HTTP_TIMEOUT: "1" },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${server.url} did not answer within 1 second `);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      server.stop();
    }
  });

  test("connection refused and DNS failure are told apart", async () => {
    const closed = fakeApi();
    closed.stop();
    const refused = await runCliAsync(["--verify", "--host", closed.url, KEY40]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Could not connect to ${closed.url}: connection refused`);
    const dns = await runCliAsync(["--verify", "--host", "http://no-such-host.invalid", KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "5" },
    });
    expect(dns.code).toBe(1);
    expect(dns.stderr).toMatch(/no-such-host\.invalid.*(DNS lookup|did not answer)/);
  });

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
    const proxy = fakeApi({ answer: () => new Response("no", { status: 403 }) });
    try {
      const r = await runCliAsync(["--verify", "--host", "https://wandb.test", KEY40], {
        env: { HTTPS_PROXY: proxy.url },
      });
      expect(r.code).toBe(1);
      expect(proxy.seen.map((s) => s.method)).toContain("CONNECT");
      expect(r.stderr).toContain(`Could not connect to https://wandb.test via proxy ${proxy.url}`);
      expect(leaks(r.stderr, KEY40)).toBe(false);
    } finally {
      proxy.stop();
    }
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
  testIf(haveOpenssl, "TLS tests", "openssl not installed").each([
    ["SSL_CERT_FILE"],
    ["NODE_EXTRA_CA_CERTS"],
    ["REQUESTS_CA_BUNDLE"],
    [""],
  ])("private CA via %p", async (variable) => {
    const server = fakeApi({
      viewers: { [KEY40]: VIEWER },
      tls: { cert: read(join(dir, "cert.pem")), key: read(join(dir, "key.pem")) },
    });
    try {
      const r = await runCliAsync(["--verify", "--host", server.url, KEY40], {
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
    } finally {
      server.stop();
    }
  });
});

describe("--json", () => {
  test("success: exactly one object on stdout, shaped as the spec says", async () => {
    const home = tempDir();
    const r = await runCliAsync(["--verify", "--json", "--host", api.url, KEY40], { home });
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
    const r = await runCliAsync(["--json"], { home, env: { WANDB_API_KEY: KEY40 } });
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
  });

  test("failure: {error, code} and the exit code, for login and usage errors alike", async () => {
    const refused = await runCliAsync(["--verify", "--json", "--host", api.url, "e".repeat(40)]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual({
      error: expect.stringContaining("Invalid API key for"),
      code: 1,
    });
    const usage = await runCliAsync(["--json", "--bogus"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: "Unknown option --bogus.", code: 2 });
    const none = await runCliAsync(["--json"]);
    expect(JSON.parse(none.stdout)).toMatchObject({
      code: 1,
      error: expect.stringContaining("No API key configured"),
    });
  });
});

describe("the prompt with --verify", () => {
  testIf(
    has("python3"),
    "prompt test",
    "python3 not installed",
  )("a refused key is reported and asked for again", async () => {
    const home = tempDir();
    mkdirSync(join(home, "cwd"));
    const proc = Bun.spawn(
      ["python3", join(import.meta.dir, "terminal.py"), BIN, `${"d".repeat(40)}\\r`, `${KEY40}\\r`],
      {
        env: {
          PATH: process.env.PATH!,
          HOME: home,
          TERM: "xterm",
          PTY_ARGS: JSON.stringify(["--verify", "--host", api.url]),
        },
        stdout: "pipe",
      },
    );
    const r = JSON.parse(await new Response(proc.stdout).text());
    expect(r.code).toBe(0);
    expect(r.screen).toContain(`Invalid API key for ${api.url}`);
    expect(r.screen).toContain("Credentials from: prompt");
    expect(read(join(home, ".netrc"))).toBe(entry(`127.0.0.1:${api.port}`, KEY40));
  });
});
