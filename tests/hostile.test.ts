// Issue 11: files that are not files, locks that outlive a crash, hostile servers and terminals,
// keys in the wrong place, root over a user's files. Each runs the compiled binary.
import { describe, expect, test } from "bun:test";
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  BIN,
  fakeApi,
  has,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  modeOf,
  pythonNetrc,
  pythonSettings,
  read,
  runCli,
  runCliAsync,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const isRoot = process.getuid?.() === 0;
const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;

/** A device or FIFO made in a temp folder: never the real /dev/null. */
function special(kind: "null" | "zero" | "fifo"): string {
  const path = join(tempDir(), kind);
  const args = kind === "fifo" ? ["mkfifo", path] : ["mknod", path, "c", "1", kind === "null" ? "3" : "5"];
  const made = Bun.spawnSync(args, { stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`${args.join(" ")}: ${made.stderr}`);
  return path;
}
const canMknod = isRoot && has("mknod");
const canMount = isRoot && has("unshare") && Bun.spawnSync(["unshare", "-m", "true"]).exitCode === 0;

describe("netrc paths that are not regular files", () => {
  testIf(
    canMknod,
    "device nodes",
    "needs root and mknod",
  )("a device as NETRC is never replaced: login exits 1 with what to do, the device stays a device", () => {
    const dev = special("null");
    const r = runCli([KEY40], { env: { NETRC: dev } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot store the key in ${dev}: not a regular file. Set NETRC to a file.`);
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(readdirSync(join(dev, ".."))).toEqual(["null"]);
  });

  testIf(
    canMknod,
    "device nodes",
    "needs root and mknod",
  )("~/.netrc linked to a device (netrc switched off): login refuses, status and logout find no key", () => {
    const home = tempDir();
    const dev = special("null");
    symlinkSync(dev, join(home, ".netrc"));
    const login = runCli([KEY40], { home });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("not a regular file");
    const status = runCli(["status"], { home });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("not a regular file");
    const logout = runCli(["logout"], { home });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain("nothing to remove");
    expect(statSync(dev).isCharacterDevice()).toBe(true);
  });

  testIf(
    canMknod,
    "device nodes",
    "needs root and mknod",
  )("a zero device is never read: status ends at once", () => {
    const started = Date.now();
    const r = runCli(["status", "--json"], { env: { NETRC: special("zero") } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).netrc).toMatchObject({ regular: false, exists: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  testIf(has("mkfifo"), "FIFO test", "mkfifo not installed")(
    "a FIFO as NETRC: login, status and logout end at once and leave no lock",
    async () => {
      const fifo = special("fifo");
      const runs = await Promise.all([
        runCliAsync([KEY40], { env: { NETRC: fifo } }),
        runCliAsync(["status"], { env: { NETRC: fifo } }),
        runCliAsync(["logout"], { env: { NETRC: fifo } }),
      ]);
      expect(runs.map((r) => r.code)).toEqual([1, 1, 0]);
      expect(readdirSync(join(fifo, ".."))).toEqual(["fifo"]);
    },
    10_000,
  );

  test("a folder as NETRC is refused the same way", () => {
    const dir = tempDir();
    const r = runCli([KEY40], { env: { NETRC: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a regular file");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("locks that outlive a crash", () => {
  test("an empty lock (its writer died before writing its pid) is broken after 2 s, not 30", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "");
    const started = Date.now();
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readdirSync(home).sort()).toEqual([".netrc"]);
  });

  test("an old empty lock is broken at once", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "");
    utimesSync(join(home, ".netrc.lock"), new Date(Date.now() - 5000), new Date(Date.now() - 5000));
    const started = Date.now();
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  testIf(
    canMount,
    "full-disk test",
    "needs root and unshare -m",
  )("a full disk between creating the lock and writing the pid leaves no lock behind", () => {
    const dir = tempDir();
    const script = `mount -t tmpfs -o size=64k tmpfs "$1" && (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true)
        NETRC="$1/.netrc" HOME="$1" "$2" "$3"; echo "rc=$?"; ls -A "$1"`;
    const r = Bun.spawnSync(["unshare", "-m", "sh", "-c", script, "sh", dir, BIN, KEY40], {
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toContain("no space left on device (ENOSPC)");
    expect(r.stdout.toString().trim().split("\n")).toEqual(["rc=1", "fill"]);
  });
});

describe("a native crash prints no key and sends nothing", () => {
  for (const signal of ["SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE"] as const) {
    test(`${signal} during --verify: the key is not in stderr`, async () => {
      const reports: string[] = [];
      const collector = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (req) => {
          reports.push(req.url);
          return new Response("ok");
        },
      });
      let seen = () => {};
      const arrived = new Promise<void>((resolve) => {
        seen = resolve;
      });
      const api = fakeApi({
        answer: () => {
          seen();
          return new Promise<Response>(() => {}); // never answers
        },
      });
      try {
        const proc = Bun.spawn([BIN, "--verify", "--host", api.url, KEY_V1], {
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: tempDir(),
            BUN_CRASH_REPORT_URL: `http://127.0.0.1:${collector.port}`,
            BUN_ENABLE_CRASH_REPORTING: "1",
          },
          stdout: "pipe",
          stderr: "pipe",
        });
        await arrived;
        proc.kill(signal);
        const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
        expect(code).not.toBe(0);
        expect(leaks(stderr, KEY_V1)).toBe(false);
        expect(stderr).not.toContain(KEY_V1.slice(9, 30));
        await Bun.sleep(200);
        expect(reports).toEqual([]);
      } finally {
        api.stop();
        collector.stop(true);
      }
    }, 15_000);
  }
});

describe("text from outside reaches the terminal escaped", () => {
  test("a username, entity and team with escape sequences are shown as \\xNN, not obeyed", async () => {
    const evil = "\x1b]0;pwned\x07\x1b[2J";
    const viewer = {
      ...VIEWER,
      username: `alice${evil}`,
      entity: "acme\nwandb: Stored the API key for evil",
      teams: { edges: [{ node: { name: "t\x9b31m" } }] },
    };
    const api = fakeApi({ viewers: { [KEY40]: viewer } });
    try {
      const r = await runCliAsync(["--verify", "--host", api.url, KEY40]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/[\x1b\x07\x9b]/);
      expect(r.stderr).toContain("alice\\x1b]0;pwned\\x07\\x1b[2J");
      expect(r.stderr).toContain("acme\\x0awandb: Stored the API key for evil");
      expect(r.stderr.split("\n").filter((l) => l.startsWith("wandb: Stored"))).toEqual([]);
    } finally {
      api.stop();
    }
  });

  test.each([
    ["a control character", "https://h.example\x1b[2J", "control characters"],
    ["whitespace", "https://h.example /x", "whitespace"],
    ["a user and password", "https://me:secret@h.example", "user name or password"],
    ["a query", "https://h.example/?a=1", "query or fragment"],
    ["a fragment", "https://h.example#x", "query or fragment"],
  ])("--host with %s is refused with its reason; nothing is stored", (_, host, why) => {
    const home = tempDir();
    const r = runCli(["--host", host, KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(why);
    expect(r.stderr).not.toMatch(/[\x1b]/);
    expect(r.stderr).not.toContain("secret");
    expect(readdirSync(home)).toEqual([]);
  });

  test("a repository's settings base_url with control characters is shown escaped by status", () => {
    const home = tempDir();
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), "[default]\nbase_url = https://h.example/\x1b[31mred\n");
    const r = runCli(["status"], { home });
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr).toContain("\\x1b[31mred");
  });
});

describe("keys in the wrong place are masked; short values are not keys", () => {
  test.each([
    ["--host KEY", ["--host", KEY_V1], {}],
    ["--KEY", [`--${KEY_V1}`], {}],
    ["WANDB_BASE_URL=KEY", [KEY40], { WANDB_BASE_URL: KEY_V1 }],
  ] as const)("%s: not in stderr nor in --json", (_, args, env) => {
    const r = runCli([...args, "--json"], { env });
    expect(r.code).not.toBe(0);
    expect(leaks(r.stderr + r.stdout, KEY_V1)).toBe(false);
    expect(r.stderr + r.stdout).toContain(`wandb_v1_…${KEY_V1.slice(-4)}`);
  });

  test("a one-letter key from stdin leaves the message readable", () => {
    const r = runCli(["--stdin"], { stdin: "e\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("API key must have 40+ characters, has 1.");
  });
});

describe("hostile servers", () => {
  test("an endless body is cut off at 1 MiB: exit 1, one line, nothing stored", async () => {
    const api = fakeApi({
      answer: () =>
        new Response(
          new ReadableStream({
            pull: (c) => c.enqueue(new TextEncoder().encode("x".repeat(65536))),
          }),
        ),
    });
    try {
      const home = tempDir();
      const r = await runCliAsync(["--verify", "--host", api.url, KEY40], { home });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("answered with more than 1 MiB");
      expect(readdirSync(home)).toEqual([]);
    } finally {
      api.stop();
    }
  });

  test("a gzip bomb is cut off after decompression", async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 32));
    const api = fakeApi({
      answer: () =>
        new Response(bomb, { headers: { "content-encoding": "gzip", "content-type": "application/json" } }),
    });
    try {
      const proc = Bun.spawn(["/usr/bin/time", "-f", "%M", BIN, "--verify", "--host", api.url, KEY40], {
        env: { PATH: process.env.PATH ?? "", HOME: tempDir() },
        stderr: "pipe",
      });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(1);
      expect(stderr).toContain("more than 1 MiB");
      expect(Number(stderr.trim().split("\n").at(-1)) / 1024).toBeLessThan(200); // MB, far from 64 MB × copies
    } finally {
      api.stop();
    }
  });

  test("a redirect is not followed: its target never sees the key, the error names it", async () => {
    const other = fakeApi({ viewers: { [KEY40]: { ...VIEWER, username: "mallory" } } });
    const api = fakeApi({
      answer: () => new Response("", { status: 307, headers: { location: `${other.url}/graphql` } }),
    });
    try {
      const home = tempDir();
      const r = await runCliAsync(["--verify", "--host", api.url, KEY40], { home });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${api.url} redirected to ${other.url}/graphql. Log in with --host ${other.url}`,
      );
      expect(r.stderr).not.toContain("mallory");
      expect(other.seen).toEqual([]);
      expect(readdirSync(home)).toEqual([]);
    } finally {
      api.stop();
      other.stop();
    }
  });

  test.each([['{"data":{"viewer":true}}'], ['{"data":{"viewer":{"id":"1"}}}'], ['{"data":{"viewer":[1]}}']])(
    "a viewer of the wrong shape (%s) is not a W&B server",
    async (body) => {
      const api = fakeApi({
        answer: () => new Response(body, { headers: { "content-type": "application/json" } }),
      });
      try {
        const r = await runCliAsync(["--verify", "--host", api.url, KEY40]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`${api.url} did not answer like a W&B server`);
        expect(r.stderr).not.toMatch(/TypeError|at /);
      } finally {
        api.stop();
      }
    },
  );

  test("WANDB_HTTP_TIMEOUT=Infinity is warned about and the default used", async () => {
    const api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    try {
      const r = await runCliAsync(["--verify", "--host", api.url, KEY40], {
        env: { WANDB_HTTP_TIMEOUT: "Infinity" },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("WANDB_HTTP_TIMEOUT=Infinity is not a number of seconds");
    } finally {
      api.stop();
    }
  });

  test("--verify over plain http to a host off this machine warns that the key travels unencrypted", () => {
    const r = runCli(["--verify", "--host", "http://wandb.invalid", KEY40], {
      env: { WANDB_HTTP_TIMEOUT: "2" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("http://wandb.invalid is plain http: the key travels unencrypted");
  });
});

describe("root over a user's files, and bind mounts", () => {
  testIf(
    isRoot,
    "ownership test",
    "needs root",
  )("rewriting keeps the netrc's and settings' owner and group", () => {
    const home = tempDir();
    const cfg = join(home, ".config", "wandb");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n", { mode: 0o600 });
    writeFileSync(join(cfg, "settings"), "[default]\nmode = online\n", { mode: 0o600 });
    for (const f of [join(home, ".netrc"), join(cfg, "settings")]) chownSync(f, 12345, 23456);
    const r = runCli(["--host", "https://w.example", KEY40], { home });
    expect(r.code).toBe(0);
    for (const f of [join(home, ".netrc"), join(cfg, "settings")]) {
      expect([statSync(f).uid, statSync(f).gid, modeOf(f)]).toEqual([12345, 23456, 0o600]);
    }
  });

  const canMount = isRoot && has("unshare") && Bun.spawnSync(["unshare", "-m", "true"]).exitCode === 0;
  testIf(
    canMount,
    "bind-mount test",
    "needs root and unshare -m",
  )("a bind-mounted netrc (docker run -v ~/.netrc:/root/.netrc) is rewritten in place", () => {
    const outside = join(tempDir(), "netrc");
    const home = tempDir();
    writeFileSync(outside, "machine a login b password c\n");
    writeFileSync(join(home, ".netrc"), "");
    const script = `mount --bind "$1" "$2/.netrc" && HOME="$2" "$3" "$4"`;
    const r = Bun.spawnSync(["unshare", "-m", "sh", "-c", script, "sh", outside, home, BIN, KEY40], {
      env: { PATH: process.env.PATH ?? "" },
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.toString()).toContain("is a mount point: rewrote it in place");
    expect(read(outside)).toBe(`machine a login b password c\n${entry("api.wandb.ai", KEY40)}`);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });
});

describe("non-ASCII hosts and the smaller items", () => {
  testIf(
    hasPython,
    "configparser judge",
    "python3 not installed",
  )("a non-ASCII --host is stored as UTF-8: configparser and Python's netrc read it back", () => {
    const home = tempDir();
    const r = runCli(["--host", "https://例え.jp", KEY40], { home });
    expect(r.code).toBe(0);
    expect(pythonSettings(join(home, ".config", "wandb", "settings"))).toEqual({
      base_url: "https://例え.jp",
    });
    expect(pythonNetrc(join(home, ".netrc"), "例え.jp")).toEqual(["user", "", KEY40]);
    expect(runCli(["status"], { home }).code).toBe(0);
  });

  test("http://api.wandb.ai. (trailing dot) is still refused as insecure", () => {
    const r = runCli(["--host", "http://api.wandb.ai.", KEY40]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("http is not secure");
  });

  test("--stdin < /dev/zero stops at 64 KiB", () => {
    const proc = Bun.spawnSync([BIN, "--stdin"], {
      env: { PATH: process.env.PATH ?? "", HOME: tempDir() },
      stdin: Bun.file("/dev/zero"),
      stderr: "pipe",
      timeout: 10_000,
    });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain("No key line found in the first 64 KiB of standard input.");
  });

  test("nothing says 'Appending' when the write then fails", () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "");
    const r = runCli([KEY40], { home, env: { NETRC: join(home, "file", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("Appending");
    expect(existsSync(join(home, "file", "netrc"))).toBe(false);
  });
});
