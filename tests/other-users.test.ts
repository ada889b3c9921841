// Running as root over other users' files, paths resolved as the kernel does, locks and torn files,
// secrets read from files, and the smaller hardening (spec §5, §7, §8 [r3]), through the binary.
// The "other user" is an unused uid the files are chowned to; without root these tests are skipped.
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pendingCopy } from "../login";
import {
  BIN,
  entry,
  fakeApi,
  has,
  hasPython,
  isRoot,
  KEY40,
  KEY_V1,
  leaks,
  modeOf,
  pythonNetrc,
  read,
  runCli,
  runCliAsync,
  snapshot,
  tempDir,
  testIf,
} from "./helpers";

const USER = 54321; // nobody has this uid: a user whose files root must not be tricked by
const asRoot = testIf(isRoot, "tests as root over another user's files", "they need root");
const KEY_B = "b".repeat(40);

/** A home folder owned by the other user, as /home/u is. */
function userHome(): string {
  const home = tempDir();
  chownSync(home, USER, USER);
  return home;
}

/** A file root owns, as /etc/passwd is: what a planted link would point root at. */
function rootFile(text = "root:x:0:0:root:/root:/bin/bash\n"): string {
  const path = join(tempDir(), "passwd");
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

/** A symlink at `link` to `target`, owned by the other user. */
function userLink(target: string, link: string): void {
  symlinkSync(target, link);
  lchownSync(link, USER, USER);
}

describe("root over another user's symlinks", () => {
  asRoot("a link to a file root owns is refused: nothing written, chmodded or printed from it", () => {
    const home = userHome();
    const target = rootFile();
    userLink(target, join(home, ".netrc"));
    for (const args of [[KEY40], ["status"], ["logout"]]) {
      const r = runCli(args, { home });
      expect(r.stderr).toContain(`Refusing to follow ${join(home, ".netrc")} as root`);
      expect(r.stderr).not.toContain("root:x:0:0");
      if (args[0] === KEY40) expect(r.code).toBe(1);
    }
    expect(read(target)).toBe("root:x:0:0:root:/root:/bin/bash\n");
    expect(modeOf(target)).toBe(0o644);
    expect(statSync(target).uid).toBe(0);
  });

  asRoot("a dangling link into a folder root owns creates nothing there", () => {
    const home = userHome();
    const rootDir = tempDir();
    userLink(join(rootDir, "sudoers-x"), join(home, ".netrc"));
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(1);
    expect(readdirSync(rootDir)).toEqual([]);
  });

  asRoot("a linked folder (~/.config/wandb, or NETRC's folder) into root's folder is refused", () => {
    const home = userHome();
    const rootDir = tempDir();
    mkdirSync(join(home, ".config"));
    chownSync(join(home, ".config"), USER, USER);
    userLink(rootDir, join(home, ".config", "wandb"));
    const settings = runCli(["--host", "https://wandb.example.com", KEY40], { home });
    expect(settings.code).toBe(1);
    expect(settings.stderr).toContain("Refusing to follow");
    expect(readdirSync(rootDir)).toEqual([]);
    expect(existsSync(join(home, ".netrc"))).toBe(false); // checked before anything was written
    userLink(rootDir, join(home, "d"));
    const netrc = runCli([KEY40], { home, env: { NETRC: join(home, "d", "netrc") } });
    expect(netrc.code).toBe(1);
    expect(readdirSync(rootDir)).toEqual([]);
  });

  asRoot("the user's own symlinked dotfiles keep working: the target is written, and stays theirs", () => {
    const home = userHome();
    mkdirSync(join(home, "dotfiles"));
    writeFileSync(join(home, "dotfiles", "netrc"), entry("other", KEY_B));
    chownSync(join(home, "dotfiles"), USER, USER);
    chownSync(join(home, "dotfiles", "netrc"), USER, USER);
    userLink("dotfiles/netrc", join(home, ".netrc"));
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(0);
    expect(readlinkSync(join(home, ".netrc"))).toBe("dotfiles/netrc");
    expect(read(join(home, "dotfiles", "netrc"))).toBe(entry("other", KEY_B) + entry("api.wandb.ai", KEY40));
    expect(statSync(join(home, "dotfiles", "netrc")).uid).toBe(USER);
  });
});

describe("root and files other users made", () => {
  asRoot("a netrc another user planted in a world-writable folder never gets root's key", () => {
    const shared = tempDir();
    chmodSync(shared, 0o1777);
    const planted = join(shared, "netrc");
    writeFileSync(planted, "");
    chownSync(planted, USER, USER);
    const r = runCli([KEY40], { env: { NETRC: planted } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Refusing to store a key in ${planted} as root: it belongs to uid ${USER}`);
    expect(read(planted)).toBe("");
  });

  asRoot("new files and folders in another user's home are that user's", () => {
    const home = userHome();
    const r = runCli(["--host", "https://wandb.example.com", KEY40], { home });
    expect(r.code).toBe(0);
    for (const path of [".netrc", ".config", ".config/wandb", ".config/wandb/settings"]) {
      const st = statSync(join(home, path));
      expect([path, st.uid, st.gid]).toEqual([path, USER, USER]);
    }
    expect(modeOf(join(home, ".config"))).toBe(0o700);
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
  });
});

describe("paths resolved as the kernel resolves them", () => {
  /** ~/dots -> /data/dots, and /data/dots/netrc -> ../secrets/netrc; the key stored through it. */
  function storedThroughLinks() {
    const home = tempDir();
    const data = tempDir();
    mkdirSync(join(data, "dots"));
    mkdirSync(join(data, "secrets"));
    symlinkSync(join(data, "dots"), join(home, "dots"));
    symlinkSync("../secrets/netrc", join(data, "dots", "netrc"));
    const env = { NETRC: join(home, "dots", "netrc") };
    return { home, data, env, run: runCli([KEY40], { home, env }) };
  }

  test("`..` in a link counts from the folder the link is in, after the folders before it", () => {
    const { home, data, env, run } = storedThroughLinks();
    expect(run.code).toBe(0);
    expect(read(join(data, "secrets", "netrc"))).toBe(entry("api.wandb.ai", KEY40));
    expect(existsSync(join(home, "secrets"))).toBe(false); // not the string-joined stray one
    expect(runCli(["status"], { home, env }).code).toBe(0);
  });

  testIf(
    hasPython,
    "Python netrc judge",
    "python3 not installed",
  )("Python reads the key where it went", () => {
    const { env } = storedThroughLinks();
    expect(pythonNetrc(env.NETRC, "api.wandb.ai")).toEqual(["user", "", KEY40]);
  });
});

/** A FIFO in `dir`: opening it for reading would wait for a writer. */
function fifoIn(dir: string): string {
  Bun.spawnSync(["mkfifo", join(dir, "fifo")]);
  return join(dir, "fifo");
}

describe("a failed login leaves every file as it was", () => {
  const settingsHome = () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    writeFileSync(
      join(home, ".config", "wandb", "settings"),
      "[default]\nbase_url = https://old.example.com\n",
    );
    mkdirSync(join(home, "wandb"));
    writeFileSync(
      join(home, "wandb", "settings"),
      "[default]\nbase_url = https://ws.example.com\nproject = p\n",
    );
    return home;
  };
  test.each([
    [
      "a NETRC in a missing folder",
      (home: string) => join(home, "nodir", "netrc"),
      ["--host", "https://new.example.com"],
    ],
    [
      "a FIFO netrc",
      () => fifoIn(tempDir()), // outside the home: snapshot reads every file
      ["--cloud"],
    ],
  ])("%s: exit 1 before the settings change", (_, netrc, args) => {
    const home = settingsHome();
    const path = netrc(home);
    const before = snapshot(home);
    const r = runCli([...args, KEY40], { home, env: { NETRC: path } });
    expect(r.code).toBe(1);
    expect(snapshot(home)).toBe(before);
  });

  test("a netrc write that fails after the settings were written puts them back, folders too", () => {
    const home = tempDir();
    mkdirSync(join(home, ".netrc.lock")); // the netrc's lock cannot be taken: found only while writing
    const before = snapshot(home);
    const r = runCli(["--host", "https://new.example.com", KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Cannot take the lock");
    expect(snapshot(home)).toBe(before);
    expect(existsSync(join(home, ".config"))).toBe(false);
  });
});

describe("secrets read from files are masked", () => {
  test("a stray key line in the netrc, quoted by the parse warning: masked in status, login, logout, --json", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), `${entry("api.wandb.ai", KEY40)}${KEY_B}\n`, { mode: 0o600 });
    for (const args of [["status"], ["status", "--json"], [], ["logout"], ["logout", "--json"], [KEY_V1]]) {
      const r = runCli(args, { home });
      expect([args, leaks(r.stdout + r.stderr, KEY_B)]).toEqual([args, false]);
    }
  });

  test("a key where a URL belongs (base_url = <key>) is masked in the error, --json too", () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    writeFileSync(join(home, ".config", "wandb", "settings"), `[default]\nbase_url = ${KEY_B}\n`);
    for (const args of [["status"], ["status", "--json"], [KEY40]]) {
      const r = runCli(args, { home });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Invalid host URL");
      expect([args, leaks(r.stdout + r.stderr, KEY_B)]).toEqual([args, false]);
    }
  });
});

describe("nothing but regular files is opened", () => {
  test("a FIFO planted as the lock: the run ends at once with a clear error", () => {
    const home = tempDir();
    Bun.spawnSync(["mkfifo", join(home, ".netrc.lock")]);
    const started = Date.now();
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot take the lock ${join(home, ".netrc.lock")}: it is not a regular file`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test.each([["status"], ["logout"], [KEY40]])("NETRC a FIFO: `%s` never opens it", async (command) => {
    const home = tempDir();
    const fifo = join(home, "fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    // a writer that gets through only when someone opens the FIFO for reading
    const writer = Bun.spawn(["sh", "-c", `exec 3> ${fifo}; touch ${join(home, "opened")}`]);
    await runCliAsync([command], { home, env: { NETRC: fifo } });
    await Bun.sleep(300);
    expect(existsSync(join(home, "opened"))).toBe(false);
    writer.kill();
  });
});

describe("locks and pids", () => {
  test("a fresh lock from another pid namespace is not judged by its pid: it is waited on", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "999999999 pid:[4026531000]"); // that pid is dead here
    const proc = Bun.spawn([BIN, KEY40], { env: { PATH: process.env.PATH!, HOME: home }, stderr: "pipe" });
    await Bun.sleep(2500); // past the 2 s of a lock without a pid, and the dead pid would be seen at once
    expect(proc.exitCode).toBeNull(); // still waiting: its pid means nothing in our namespace
    expect(existsSync(join(home, ".netrc"))).toBe(false);
    proc.kill();
    await proc.exited;
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(home, ".netrc.lock"), old, old);
    expect(runCli([KEY40], { home }).code).toBe(0); // old enough: broken
  });

  const canUnshare =
    isRoot && has("unshare") && Bun.spawnSync(["unshare", "-pf", "--mount-proc", "true"]).exitCode === 0;
  testIf(
    canUnshare,
    "pid-1 lock test",
    "needs root and unshare -p",
  )("a lock naming our own pid (pid 1, a restarted container) is stale at once", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "1");
    const started = Date.now();
    const r = Bun.spawnSync(["unshare", "-pf", "--mount-proc", BIN, KEY40], {
      env: { PATH: process.env.PATH!, HOME: home },
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });
});

describe("a crash during an in-place rewrite", () => {
  test("the next run finishes it from the complete copy the dead run left, then does its own work", () => {
    const home = tempDir();
    const netrc = join(home, ".netrc");
    const complete = entry("a.example", KEY_B) + entry("api.wandb.ai", KEY40);
    writeFileSync(netrc, complete.slice(0, 30), { mode: 0o600 }); // torn: part new, nothing else
    writeFileSync(pendingCopy(netrc, 999999999, Buffer.from(complete)), complete, { mode: 0o600 });
    writeFileSync(`${netrc}.lock`, "999999999"); // its dead writer
    const r = runCli(["--host", "https://b.example", KEY_V1], { home });
    expect(r.code).toBe(0);
    expect(read(netrc)).toBe(complete + entry("b.example", KEY_V1));
    expect(readdirSync(home).sort()).toEqual([".config", ".netrc"]);
  });
});

describe("links in a world-writable sticky folder (/tmp, a shared RUNNER_TEMP), as root", () => {
  /** A folder like /tmp (root's, 1777) holding a link the other user planted into a folder of theirs. */
  function plantedInTmp(name: string) {
    const tmp = tempDir();
    chmodSync(tmp, 0o1777);
    const theirs = userHome(); // the link's owner owns what it points to: the older rule lets it pass
    userLink(join(theirs, "loot"), join(tmp, name));
    return { tmp, loot: join(theirs, "loot") };
  }

  asRoot("NETRC=/tmp/netrc, a link the other user planted: refused, nothing written where it points", () => {
    const { tmp, loot } = plantedInTmp("netrc");
    const r = runCli([KEY40], { env: { NETRC: join(tmp, "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Refusing to follow ${join(tmp, "netrc")} as root`);
    expect(r.stderr).toContain("sticky");
    expect(existsSync(loot)).toBe(false);
  });

  asRoot(
    "identity --github-actions with a link planted as the token file: refused, GITHUB_ENV untouched",
    async () => {
      const { tmp, loot } = plantedInTmp("wandb-identity-token");
      const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 600 })).toString(
        "base64url",
      );
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: () => Response.json({ value: `e30.${payload}.s` }),
      });
      try {
        const githubEnv = join(tempDir(), "env");
        writeFileSync(githubEnv, "");
        const r = await runCliAsync(["identity", "--github-actions"], {
          env: {
            ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${server.port}/token?x=1`,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token",
            RUNNER_TEMP: tmp,
            GITHUB_ENV: githubEnv,
          },
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`Refusing to follow ${join(tmp, "wandb-identity-token")} as root`);
        expect(existsSync(loot)).toBe(false);
        expect(read(githubEnv)).toBe("");
      } finally {
        server.stop(true);
      }
    },
  );

  asRoot("a link root or the folder's owner made there is followed", () => {
    const tmp = tempDir();
    chmodSync(tmp, 0o1777);
    const target = join(tempDir(), "netrc");
    symlinkSync(target, join(tmp, "netrc"));
    const r = runCli([KEY40], { env: { NETRC: join(tmp, "netrc") } });
    expect(r.code).toBe(0);
    expect(read(target)).toBe(entry("api.wandb.ai", KEY40));
  });
});

describe("smaller things", () => {
  test("a proxy password holding @ is never shown", () => {
    const r = runCli(["--verify", "--host", "https://wandb.example.com", KEY40], {
      env: { HTTPS_PROXY: "http://user:P@ss-w0rd@127.0.0.1:9", WANDB_HTTP_TIMEOUT: "2" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("via proxy http://127.0.0.1:9");
    expect(r.stderr).not.toContain("w0rd");
  });

  test("a proxy's 407 names the proxy, not the W&B host", async () => {
    const { createServer } = await import("node:net");
    const proxy = createServer((c) =>
      c.once("data", () => c.end("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")),
    );
    await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
    const port = (proxy.address() as { port: number }).port;
    try {
      for (const host of ["https://wandb.example.com", "http://wandb.example.com"]) {
        const r = await runCliAsync(["--verify", "--host", host, KEY40], {
          env: {
            HTTPS_PROXY: `http://u:secret@127.0.0.1:${port}`,
            HTTP_PROXY: `http://u:secret@127.0.0.1:${port}`,
          },
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `The proxy http://127.0.0.1:${port} refused the request: it wants credentials (HTTP 407)`,
        );
        expect(r.stderr).not.toContain("secret");
      }
    } finally {
      proxy.close();
    }
  });

  test("status --json into a full disk (/dev/full) fails; into a closed pipe it does not", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY40), { mode: 0o600 });
    const full = Bun.spawnSync(["sh", "-c", `"${BIN}" status --json > /dev/full`], {
      env: { PATH: process.env.PATH!, HOME: home },
      stderr: "pipe",
    });
    expect(full.exitCode).not.toBe(0);
    expect(full.stderr.toString()).toContain("Cannot write to standard output");
    const closed = Bun.spawnSync(["sh", "-c", `"${BIN}" status --json | true`], {
      env: { PATH: process.env.PATH!, HOME: home },
    });
    expect(closed.exitCode).toBe(0);
  });

  test("REQUESTS_CA_BUNDLE a FIFO: refused at once, never opened (no hang past the timeout)", () => {
    const dir = tempDir();
    Bun.spawnSync(["mkfifo", join(dir, "ca")]);
    const started = Date.now();
    const r = runCli(["--verify", "--host", "https://127.0.0.1:9", KEY40], {
      env: { REQUESTS_CA_BUNDLE: join(dir, "ca"), WANDB_HTTP_TIMEOUT: "30" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a regular file");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('HOME="" : the SDK would look for /.netrc, so nothing is stored, and the message says why', () => {
    const r = runCli([KEY40], { env: { HOME: "" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HOME is set but empty: the W&B SDK would look for /.netrc");
    expect(existsSync("/.netrc") && read("/.netrc").includes(KEY40)).toBe(false);
  });

  test("a host named only by this folder's settings gets a warning before WANDB_API_KEY is sent to it", async () => {
    using api = fakeApi({
      viewers: { [KEY40]: { username: "alice", entity: "alice", teams: { edges: [] } } },
    });
    const home = tempDir();
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\nbase_url = ${api.url}\n`);
    const r = await runCliAsync(["--verify"], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`The host ${api.url} comes only from ${join(home, "wandb", "settings")}`);
    expect(r.stderr).toContain("which was not stored for that host");
  });
});
