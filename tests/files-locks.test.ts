// Files and locks: links, modes, owners, paths that are not regular files, locks that outlive a
// crash, and runs that race or die mid-write. In-process where one run shows it; separate processes
// (the binary) for real concurrency, kill -9, another uid, mounts, and whatever a regression would
// turn into a read that never returns (a FIFO, a zero device), which would hang the test runner.
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import * as fs from "node:fs";
import { join, posix } from "node:path";
import fc from "fast-check";
import { netrcLookup, pendingCopy, posixPaths } from "../login";
import {
  BIN,
  entry,
  exists,
  has,
  isRoot,
  KEY40,
  MACHINE,
  modeOf,
  read,
  runCli,
  runCliAsync,
  runInProcess,
  sleepyClock,
  tempDir,
  testIf,
} from "./helpers";

const keyFor = (i: number) => `${String(i).padStart(4, "0")}${"k".repeat(40)}`;
const canMknod = isRoot && has("mknod");
const canMount = isRoot && has("unshare") && Bun.spawnSync(["unshare", "-m", "true"]).exitCode === 0;
const asAnotherUser = testIf(has("setpriv"), "tests as another uid", "setpriv not installed");
const inOwnMounts = testIf(canMount, "tests in a mount namespace", "needs root and unshare -m");

/** A device or FIFO made in a temp folder: never the real /dev/null. */
function special(kind: "null" | "zero" | "fifo"): string {
  const path = join(tempDir(), kind);
  const args = kind === "fifo" ? ["mkfifo", path] : ["mknod", path, "c", "1", kind === "null" ? "3" : "5"];
  const made = Bun.spawnSync(args, { stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`${args.join(" ")}: ${made.stderr}`);
  return path;
}

describe("links", () => {
  test.each([
    ["dangling, absolute, named by NETRC", "", true],
    ["relative, to an existing file", "machine a login b password c\n", false],
  ])("a symlinked netrc (%s) stays a link and its target is written", async (_, before, dangling) => {
    const home = tempDir();
    const target = join(home, "dotfiles", "netrc");
    mkdirSync(join(home, "dotfiles"));
    if (dangling) symlinkSync(target, join(home, ".netrc"));
    else {
      writeFileSync(target, before);
      symlinkSync("dotfiles/netrc", join(home, ".netrc"));
    }
    const env = dangling ? { NETRC: join(home, ".netrc") } : {};
    expect((await runInProcess([KEY40], { home, env })).code).toBe(0);
    expect(lstatSync(join(home, ".netrc")).isSymbolicLink()).toBe(true);
    expect(read(target)).toBe(before + entry(MACHINE, KEY40));
    expect(modeOf(target)).toBe(0o600);
    expect(readdirSync(join(home, "dotfiles"))).toEqual(["netrc"]);
    expect(readdirSync(home).sort()).toEqual([".netrc", "dotfiles"]);
  });
});

describe("netrc paths that are not regular files", () => {
  const devices = testIf(canMknod, "device nodes", "needs root and mknod");

  devices(
    "a device as NETRC is never replaced: login exits 1 with what to do, the device stays a device",
    async () => {
      const dev = special("null");
      const r = await runInProcess([KEY40], { env: { NETRC: dev } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Cannot store the key in ${dev}: not a regular file. Set NETRC to a file.`);
      expect(statSync(dev).isCharacterDevice()).toBe(true);
      expect(readdirSync(join(dev, ".."))).toEqual(["null"]);
    },
  );

  devices(
    "~/.netrc linked to a device (netrc switched off): login refuses, status and logout find no key",
    async () => {
      const home = tempDir();
      const dev = special("null");
      symlinkSync(dev, join(home, ".netrc"));
      const login = await runInProcess([KEY40], { home });
      expect(login.code).toBe(1);
      expect(login.stderr).toContain("not a regular file");
      const status = await runInProcess(["status"], { home });
      expect(status.code).toBe(1);
      expect(status.stderr).toContain("not a regular file");
      const logout = await runInProcess(["logout"], { home });
      expect(logout.code).toBe(0);
      expect(logout.stderr).toContain("nothing to remove");
      expect(statSync(dev).isCharacterDevice()).toBe(true);
      expect(readdirSync(join(dev, ".."))).toEqual(["null"]);
    },
  );

  devices("a zero device is never read: status ends at once", () => {
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

  test("a folder as NETRC is refused the same way", async () => {
    const dir = tempDir();
    const r = await runInProcess([KEY40], { env: { NETRC: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a regular file");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("folders and permissions", () => {
  test("a netrc below a regular file: exit 1, one line naming the path and the cause, nothing else changes", async () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "x");
    const r = await runInProcess([KEY40], { home, env: { NETRC: join(home, "file", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${join(home, "file", "netrc")}`);
    expect(r.stderr).toMatch(/not a directory|ENOTDIR|ENOENT|EEXIST/);
    expect(r.stderr.split("\n").filter((l) => l.includes("ERROR"))).toHaveLength(1);
    expect(readdirSync(home)).toEqual(["file"]);
  });

  test("nothing says 'Appending' when the write then fails", async () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "");
    const r = await runInProcess([KEY40], { home, env: { NETRC: join(home, "file", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("Appending");
    expect(exists(join(home, "file", "netrc"))).toBe(false);
  });

  test("a looser netrc is tightened to 0600, with a note", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n");
    chmodSync(join(home, ".netrc"), 0o644);
    const r = await runInProcess([KEY40], { home });
    expect(r.code).toBe(0);
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(r.stderr).toContain("from 0644 to 0600");
  });

  asAnotherUser("a folder we cannot write: exit 1 naming the cause", () => {
    const home = tempDir();
    chmodSync(home, 0o755); // root's, so uid 12345 cannot write it
    const proc = Bun.spawnSync(
      ["setpriv", "--reuid", "12345", "--regid", "12345", "--clear-groups", BIN, KEY40],
      {
        env: { PATH: process.env.PATH!, HOME: home },
        cwd: "/",
        stderr: "pipe",
      },
    );
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain(
      `Cannot write ${join(home, ".netrc")}: permission denied (EACCES).`,
    );
    expect(readdirSync(home)).toEqual([]);
  });

  test("HOME that cannot be written: a clear error", () => {
    // the binary: in-process runs keep to temp folders
    const r = runCli([KEY40], { home: "/proc", cwd: "/" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Cannot write /proc/.netrc");
  });

  asAnotherUser("no HOME and no passwd entry: works with NETRC, else exit 1 naming NETRC and HOME", () => {
    const asNobody = (env: Record<string, string>, args: string[]) =>
      Bun.spawnSync(["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups", BIN, ...args], {
        env: { PATH: process.env.PATH!, ...env },
        cwd: "/",
        stderr: "pipe",
        stdout: "pipe",
      });
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const without = asNobody({}, [KEY40]);
    expect(without.exitCode).toBe(1);
    expect(without.stderr.toString()).toMatch(/set NETRC .*or set HOME/);
    const withNetrc = asNobody({ NETRC: join(dir, "netrc") }, [KEY40]);
    expect(withNetrc.exitCode).toBe(0);
    expect(read(join(dir, "netrc"))).toBe(entry(MACHINE, KEY40));
  });
});

describe("root over a user's files, and bind mounts", () => {
  const asRoot = testIf(isRoot, "ownership test", "needs root");
  asRoot("rewriting keeps the netrc's and settings' owner and group", async () => {
    const home = tempDir();
    const cfg = join(home, ".config", "wandb");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n", { mode: 0o600 });
    writeFileSync(join(cfg, "settings"), "[default]\nmode = online\n", { mode: 0o600 });
    for (const f of [join(home, ".netrc"), join(cfg, "settings")]) chownSync(f, 12345, 23456);
    const r = await runInProcess(["--host", "https://w.example", KEY40], { home });
    expect(r.code).toBe(0);
    for (const f of [join(home, ".netrc"), join(cfg, "settings")]) {
      expect([statSync(f).uid, statSync(f).gid, modeOf(f)]).toEqual([12345, 23456, 0o600]);
    }
  });

  inOwnMounts("a bind-mounted netrc (docker run -v ~/.netrc:/root/.netrc) is rewritten in place", () => {
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
    expect(read(outside)).toBe(`machine a login b password c\n${entry(MACHINE, KEY40)}`);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });
});

describe("locks that outlive a crash", () => {
  test("a stale lock (its process gone) is broken, not waited on", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "999999999"); // no such pid
    const started = Date.now();
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  test("a lock older than the timeout is broken even when its pid is alive", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), String(process.pid));
    utimesSync(join(home, ".netrc.lock"), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  test("an empty lock (its writer died before writing its pid) is broken after 2 s, not 30", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "");
    const clock = sleepyClock(); // the program's clock: its two seconds take none
    const r = await runInProcess([KEY40], { home, world: clock });
    expect(r.code).toBe(0);
    expect(clock.slept()).toBeGreaterThanOrEqual(1900); // 2 s after the lock's mtime, a tick before ours
    expect(clock.slept()).toBeLessThan(3000);
    expect(readdirSync(home).sort()).toEqual([".netrc"]);
  });

  test("an old empty lock is broken at once", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "");
    utimesSync(join(home, ".netrc.lock"), new Date(Date.now() - 5000), new Date(Date.now() - 5000));
    const clock = sleepyClock();
    const started = Date.now();
    expect((await runInProcess([KEY40], { home, world: clock })).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(clock.slept()).toBe(0);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  test("with no lock left (its breaker was killed mid-break), dead runs' leftovers go; a live run's stay", async () => {
    const home = tempDir();
    const netrc = join(home, ".netrc");
    const complete = entry("a.example", keyFor(1));
    writeFileSync(netrc, complete.slice(0, 20)); // torn by an in-place rewrite that died
    writeFileSync(pendingCopy(netrc, 999999998, Buffer.from(complete)), complete);
    writeFileSync(`${netrc}.lock.stale-999999997`, "999999999"); // the breaker's, set aside
    writeFileSync(`${netrc}.tmp-999999999-abc`, "half a file");
    const live = Bun.spawn(["sleep", "30"]);
    try {
      writeFileSync(`${netrc}.tmp-${live.pid}-abc`, "a live run's, being written");
      expect((await runInProcess([KEY40], { home })).code).toBe(0);
      expect(read(netrc)).toBe(complete + entry(MACHINE, KEY40));
      expect(readdirSync(home).sort()).toEqual([".netrc", `.netrc.tmp-${live.pid}-abc`]);
    } finally {
      live.kill();
    }
  });

  test("a dead run's temp file is removed with its stale lock", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "999999999");
    writeFileSync(join(home, ".netrc.tmp-999999999-abc"), "half a file");
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  inOwnMounts("a full disk between creating the lock and writing the pid leaves no lock behind", () => {
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

describe("another run at the same moment", () => {
  test("a settings folder another run makes at the same moment is used, and is not undone as ours", async () => {
    const home = tempDir();
    const racing = {
      ...fs,
      mkdirSync: ((path: string, options?: fs.MakeDirectoryOptions) => {
        fs.mkdirSync(path, options); // the other run, a moment before us
        throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${path}'`), { code: "EEXIST" });
      }) as typeof fs.mkdirSync,
    };
    const r = await runInProcess(["--host", "https://a.example", KEY40], { home, world: { fs: racing } });
    expect(r.code).toBe(0);
    expect(read(join(home, ".config", "wandb", "settings"))).toContain("base_url = https://a.example");
    expect(netrcLookup(read(join(home, ".netrc")), "a.example").entry?.password).toBe(KEY40);
  });
});

describe("runs in separate processes", () => {
  test("16 runs for different hosts at once all end up in the file; no temp or lock file is left", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine keep login me password mine\n");
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        runCliAsync(["--host", `http://host${i}.example`, keyFor(i)], { home }),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(16).fill(0));
    const text = read(join(home, ".netrc"));
    expect(text.startsWith("machine keep login me password mine\n")).toBe(true);
    for (let i = 0; i < 16; i++)
      expect(netrcLookup(text, `host${i}.example`).entry?.password).toBe(keyFor(i));
    expect(readdirSync(home).sort()).toEqual([".config", ".netrc"]);
  });

  const old = Array.from({ length: 40_000 }, (_, i) => `machine m${i} login u password p${i}\n`).join("");
  const fresh = old + entry(MACHINE, KEY40);
  const killAtRandom = async (home: string, signal: "SIGTERM" | "SIGKILL") => {
    const proc = Bun.spawn([BIN, KEY40], { env: { PATH: process.env.PATH!, HOME: home }, stderr: "ignore" });
    await Bun.sleep(2 + Math.random() * 40);
    proc.kill(signal);
    await proc.exited;
  };

  test.each([["SIGTERM"], ["SIGKILL"]] as const)(
    "%s at random points: the old file or the new one; the next run clears what a dead one left",
    async (signal) => {
      const home = tempDir();
      for (let i = 0; i < 10; i++) {
        writeFileSync(join(home, ".netrc"), old);
        await killAtRandom(home, signal);
        expect([old, fresh]).toContain(read(join(home, ".netrc")));
      }
      expect((await runInProcess([KEY40], { home })).code).toBe(0);
      expect(read(join(home, ".netrc"))).toBe(fresh);
      expect(readdirSync(home)).toEqual([".netrc"]);
    },
  );
});

describe("paths", () => {
  const segment = fc.constantFrom("", ".", "..", "a", "b", ".netrc", "c.d");
  const pathArb = fc
    .tuple(fc.boolean(), fc.array(segment, { maxLength: 6 }), fc.boolean())
    .map(([root, parts, trailing]) => `${root ? "/" : ""}${parts.join("/")}${trailing ? "/" : ""}`);
  const ours = posixPaths();

  test("the four POSIX functions give node:path's answers (node:path costs ≈2 ms of every start)", () => {
    fc.assert(
      fc.property(pathArb, pathArb, pathArb, (a, b, c) => {
        expect(ours.join(a, b, c)).toBe(posix.join(a, b, c));
        expect(ours.resolve(`/cwd${a}`, b)).toBe(posix.resolve(`/cwd${a}`, b));
        expect(ours.dirname(a)).toBe(posix.dirname(a));
        expect(ours.basename(a)).toBe(posix.basename(a));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("a full disk and a read-only mount (spec §5 [r4]): exit 1, every file as it was, nothing left", () => {
  /** Runs `script` in a mount namespace of its own: $1 a temp folder, $2 the binary, $3 a key. */
  const inMounts = (script: string, dir: string, key = KEY40) =>
    Bun.spawnSync(["unshare", "-m", "sh", "-c", script, "sh", dir, BIN, key], {
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
  const large = Array.from({ length: 13_000 }, (_, i) => entry(`host-${i}.example.com`, keyFor(i))).join("");

  inOwnMounts("a disk that fills during the last 1 MiB chunk of a large netrc's temp file", () => {
    const dir = tempDir();
    expect(large.length).toBeGreaterThan(1 << 20);
    // room for the netrc and most of its copy: the copy's second chunk is cut short, then ENOSPC
    const script = `mount -t tmpfs -o size=${Math.ceil((large.length * 1.9) / 4096) * 4}k tmpfs "$1" &&
        cat > "$1/.netrc" && HOME="$1" "$2" "$3"; echo "rc=$?"; ls -A "$1"; cat "$1/.netrc" | md5sum`;
    const r = Bun.spawnSync(["unshare", "-m", "sh", "-c", script, "sh", dir, BIN, KEY40], {
      env: { PATH: process.env.PATH ?? "" },
      stdin: Buffer.from(large),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [rc, files, sum] = r.stdout.toString().trim().split("\n");
    expect(r.stderr.toString()).toContain(`Cannot write ${dir}/.netrc: no space left on device (ENOSPC).`);
    expect(r.stderr.toString()).not.toContain("Stored");
    expect([rc, files]).toEqual(["rc=1", ".netrc"]);
    expect(sum).toBe(`${new Bun.CryptoHasher("md5").update(large).digest("hex")}  -`);
  });

  inOwnMounts(
    "a bind-mounted netrc on a full disk: the in-place rewrite fails, its old bytes go back",
    () => {
      const dir = tempDir();
      const old = entry("a.example", keyFor(1));
      // the mounted file's disk has room for its old bytes and little more
      const script = `mkdir "$1/disk" "$1/home" && mount -t tmpfs -o size=8k tmpfs "$1/disk" &&
        printf '${old}' > "$1/disk/netrc" && (dd if=/dev/zero of="$1/disk/fill" bs=1k 2>/dev/null; true) &&
        touch "$1/home/.netrc" && mount --bind "$1/disk/netrc" "$1/home/.netrc" &&
        HOME="$1/home" "$2" "$3"; echo "rc=$?"; ls -A "$1/home"; cat "$1/disk/netrc"`;
      const r = inMounts(script, dir, `wandb_v1_${"x".repeat(4000)}`);
      const out = r.stdout.toString();
      expect(r.stderr.toString()).toContain("no space left on device (ENOSPC)");
      expect(r.stderr.toString()).not.toContain("Stored");
      expect(out).toBe(`rc=1\n.netrc\n${old}`);
    },
  );

  inOwnMounts("a read-only bind-mounted netrc: nothing left that a later run could store", () => {
    const dir = tempDir();
    const old = entry("a.example", keyFor(1));
    writeFileSync(join(dir, "netrc"), old);
    const script = `mkdir "$1/home" && touch "$1/home/.netrc" && mount --bind "$1/netrc" "$1/home/.netrc" &&
        mount -o remount,bind,ro "$1/home/.netrc" && HOME="$1/home" "$2" "$3"; echo "rc=$?"; ls -A "$1/home"`;
    const r = inMounts(script, dir);
    expect(r.stderr.toString()).toContain("read-only file system (EROFS)");
    expect(r.stdout.toString()).toBe("rc=1\n.netrc\n");
    // the mount is gone, the file writable: a later run that writes must not store the failed key
    const later = runCli(["logout", "--host", "https://other.example"], {
      env: { NETRC: join(dir, "netrc") },
    });
    expect(later.code).toBe(0);
    expect(read(join(dir, "netrc"))).toBe(old);
  });
});

describe("paths are bytes (spec §5 [r4])", () => {
  test("a NETRC or HOME that is not UTF-8 is refused, naming it: no file under another name", () => {
    const dir = tempDir();
    for (const [name, path] of [
      ["NETRC", `${dir}/netrc-\\351`],
      ["HOME", `${dir}/home-\\351`],
    ]) {
      const script = `${name}="$(printf '${path}')" exec "$1" "$2"`;
      const r = Bun.spawnSync(["sh", "-c", script, "sh", BIN, KEY40], {
        env: { PATH: process.env.PATH ?? "", HOME: dir },
        stderr: "pipe",
      });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.toString()).toContain(`${name} is not valid UTF-8`);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});
