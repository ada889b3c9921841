// Attacks on the writer and the process: concurrency, locks, links, permissions, hostile files,
// hostile environments, signals. Each would fail without the protection it names.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { netrcLookup, parseNetrc, removeNetrcEntry, updateNetrc, updateSettings } from "../login";
import { referenceParse } from "./reference-netrc";
import {
  BIN,
  has,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  modeOf,
  testIf,
  read,
  runCli,
  runCliAsync,
  tempDir,
} from "./helpers";

const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;
const keyFor = (i: number) => `${String(i).padStart(4, "0")}${"k".repeat(40)}`;

describe("concurrent runs", () => {
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

  test("a stale lock (its process gone) is broken, not waited on", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "999999999"); // no such pid
    const started = Date.now();
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  test("a lock older than the timeout is broken even when its pid is alive", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), String(process.pid));
    utimesSync(join(home, ".netrc.lock"), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });
});

describe("links, folders and permissions", () => {
  test("a symlinked netrc stays a link and its target is updated", () => {
    const home = tempDir();
    mkdirSync(join(home, "dotfiles"));
    writeFileSync(join(home, "dotfiles", "netrc"), "machine a login b password c\n");
    symlinkSync("dotfiles/netrc", join(home, ".netrc"));
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(lstatSync(join(home, ".netrc")).isSymbolicLink()).toBe(true);
    expect(read(join(home, "dotfiles", "netrc"))).toBe(
      `machine a login b password c\n${entry("api.wandb.ai", KEY40)}`,
    );
    expect(modeOf(join(home, "dotfiles", "netrc"))).toBe(0o600);
  });

  test("a netrc below a regular file: exit 1, one line naming the path and the cause, nothing else changes", () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "x");
    const r = runCli([KEY40], { home, env: { NETRC: join(home, "file", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${join(home, "file", "netrc")}`);
    expect(r.stderr).toMatch(/not a directory|ENOTDIR|ENOENT|EEXIST/);
    expect(r.stderr.split("\n").filter((l) => l.includes("ERROR"))).toHaveLength(1);
    expect(readdirSync(home)).toEqual(["file"]);
  });

  testIf(
    has("setpriv"),
    "unwritable folder test",
    "setpriv not installed",
  )("a folder we cannot write: exit 1 naming the cause", () => {
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

  test("a settings folder that cannot be written fails the login before the netrc is touched", () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "x");
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n");
    const r = runCli(["--host", "http://h:1", KEY40], {
      home,
      env: { WANDB_CONFIG_DIR: join(home, "file", "cfg") },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${join(home, "file", "cfg", "settings")}`);
    expect(read(join(home, ".netrc"))).toBe("machine a login b password c\n");
  });

  test("a looser netrc is tightened to 0600, with a note", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n");
    chmodSync(join(home, ".netrc"), 0o644);
    const r = runCli([KEY40], { home });
    expect(r.code).toBe(0);
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(r.stderr).toContain("from 0644 to 0600");
  });

  test("new settings files and folders are private to the user", () => {
    const home = tempDir();
    expect(
      runCli(["--host", "http://h:1", KEY40], { home, env: { WANDB_CONFIG_DIR: join(home, "a", "b") } }).code,
    ).toBe(0);
    expect(modeOf(join(home, "a"))).toBe(0o700);
    expect(modeOf(join(home, "a", "b"))).toBe(0o700);
    expect(modeOf(join(home, "a", "b", "settings"))).toBe(0o600);
  });
});

// --- hostile netrc content ---

const MACHINE = "api.wandb.ai";
const tokenArb = fc.oneof(
  fc.constantFrom(
    "machine",
    "default",
    "login",
    "password",
    "account",
    "macdef",
    MACHINE,
    "user",
    "#",
    "# c",
    '"q q"',
    '""',
    '"open',
    "\\",
    "x\\ y",
  ),
  fc.stringMatching(/^[a-z0-9.:_-]{1,8}$/),
);
const gapArb = fc.constantFrom(" ", "  ", "\t", "\n", "\r\n", "\n\n", " \n");
const netrcArb = fc
  .array(fc.tuple(tokenArb, gapArb), { maxLength: 30 })
  .map((parts) => parts.map(([t, g]) => t + g).join(""));
/** Files of plain entries, as most netrc files are, with the odd value that looks like something else. */
const wordArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9.:_-]{1,8}$/),
  fc.constantFrom(MACHINE, "machine", "default", "login", "password", 'a"b', "#x", "x#", "a\\b", '"q"'),
);
const plainArb = fc
  .array(
    fc.tuple(
      fc.oneof(
        wordArb.map((w) => `machine ${w}`),
        fc.constant(`machine ${MACHINE}`),
        fc.constant("default"),
      ),
      fc.array(fc.tuple(fc.constantFrom("login", "user", "account", "password"), wordArb), { maxLength: 3 }),
      gapArb,
    ),
    { maxLength: 12 },
  )
  .map((entries) =>
    entries
      .map(([head, pairs, gap]) => [head, ...pairs.flat()].join(gap === "\n" ? "\n  " : " ") + gap)
      .join(""),
  );
const junkArb = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("latin1"));

/**
 * The update must equal the file minus our old entries, with our entry (and at most a separator)
 * added, or refuse a file that Python cannot parse either.
 */
function assertOnlyOurEntryChanged(before: string, key: string): void {
  let after: string;
  try {
    after = updateNetrc(before, MACHINE, key).text;
  } catch (e) {
    expect((e as Error).message).toMatch(/^Cannot add an entry to this netrc file/);
    expect(parseNetrc(removeNetrcEntry(before, MACHINE).text).error).toBeDefined();
    return;
  }
  const base = removeNetrcEntry(before, MACHINE).text;
  const ours = /machine api\.wandb\.ai\r?\n {2}login user\r?\n {2}password \S+\r?\n/.exec(after);
  expect(ours).not.toBeNull();
  const rest = after.slice(0, ours!.index) + after.slice(ours!.index + ours![0].length);
  expect([base, `${base}\n`, `${base}\r\n`, `${base}\n\n`, `${base}\r\n\r\n`]).toContain(rest);
  expect(
    netrcLookup(after, MACHINE).error
      ? parseNetrc(after)
          .entries.filter((e) => e.name === MACHINE)
          .at(-1)?.password
      : netrcLookup(after, MACHINE).entry?.password,
  ).toBe(key);
}

/**
 * Writes each sample and its update, then lets Python read both with `readBody` (the body of
 * `def read(path):`); gives [before, after] per sample, each `{ error }` when Python raised.
 */
function pythonBeforeAfter<T>(
  samples: string[],
  update: (text: string) => string,
  readBody: string,
): (T & { error?: string })[][] {
  const dir = tempDir();
  samples.forEach((text, i) => {
    writeFileSync(join(dir, `${i}.before`), text, "latin1");
    writeFileSync(join(dir, `${i}.after`), update(text), "latin1");
  });
  const script = `import configparser, json, netrc, os, sys
def read(path):${readBody}
out = []
for i in range(int(sys.argv[2])):
    res = []
    for name in ("before", "after"):
        try:
            res.append(read(os.path.join(sys.argv[1], f"{i}.{name}")))
        except Exception as e:
            res.append({"error": f"{type(e).__name__}: {e}"})
    out.append(res)
print(json.dumps(out))`;
  const proc = Bun.spawnSync(["python3", "-c", script, dir, String(samples.length)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return JSON.parse(proc.stdout.toString());
}

describe("hostile netrc content (property-based)", () => {
  test("the slicing lexer and the plain reference parse agree on every file, token soup and junk", () => {
    fc.assert(
      fc.property(fc.oneof(netrcArb, junkArb, plainArb), (text) => {
        const { end, ...fast } = parseNetrc(text);
        const { openAtEof, ...reference } = referenceParse(text);
        expect(fast).toEqual(reference);
        expect(end === "open").toBe(openAtEof);
        const kept = (e: { kind: string; name: string }) => e.kind === "default" || e.name === MACHINE;
        const focused = parseNetrc(text, MACHINE); // plain files take the one-regex-per-entry path
        expect(focused).toEqual({
          ...fast,
          end,
          entries: fast.entries.filter(kept),
          visible: fast.entries.slice(0, fast.visible).filter(kept).length,
        });
      }),
      { numRuns: 3000 },
    );
  });

  test("the fast placement gives the same bytes as trying every placement", () => {
    fc.assert(
      fc.property(fc.oneof(netrcArb, plainArb), (text) => {
        let slow: string | undefined;
        try {
          slow = updateNetrc(text, MACHINE, KEY40, false).text;
        } catch {}
        if (slow === undefined) expect(() => updateNetrc(text, MACHINE, KEY40)).toThrow();
        else expect(updateNetrc(text, MACHINE, KEY40).text).toBe(slow);
      }),
      { numRuns: 3000 },
    );
  });

  test("token soup: no byte outside our entry is lost, and our entry is what a reader sees", () => {
    fc.assert(
      fc.property(netrcArb, (text) => assertOnlyOurEntryChanged(text, KEY40)),
      { numRuns: 2000 },
    );
  });

  test("binary junk: the same holds", () => {
    fc.assert(
      fc.property(junkArb, (text) => assertOnlyOurEntryChanged(text, KEY40)),
      { numRuns: 1000 },
    );
  });

  test("removing what update added gives back the file minus our old entries", () => {
    fc.assert(
      fc.property(netrcArb, (text) => {
        const base = removeNetrcEntry(text, MACHINE).text;
        let updated: string;
        try {
          updated = updateNetrc(text, MACHINE, KEY40).text;
        } catch {
          return;
        } // refusals are judged above
        const again = removeNetrcEntry(updated, MACHINE).text;
        expect([base, `${base}\n`, `${base}\r\n`, `${base}\n\n`, `${base}\r\n\r\n`]).toContain(again);
      }),
      { numRuns: 1000 },
    );
  });

  testIf(
    hasPython,
    "Python netrc property test",
    "python3 not installed",
  )(
    "Python's netrc agrees: for every file it can parse, ours reads back and the others are unchanged",
    () => {
      const samples = fc.sample(netrcArb, 1500).filter((t) => !parseNetrc(t).error);
      type Read = { hosts: Record<string, string[]>; macros: unknown; error?: string };
      const results = pythonBeforeAfter<Read>(
        samples,
        (t) => updateNetrc(t, MACHINE, KEY40).text,
        `
    n = netrc.netrc(path)
    return {"hosts": {h: list(v) for h, v in n.hosts.items()}, "macros": n.macros}`,
      );
      let judged = 0;
      results.forEach(([before, after], i) => {
        if (before.error) return; // our parser and Python disagree on parseability: judged elsewhere
        judged++;
        expect(after.error).toBeUndefined();
        expect(after.hosts[MACHINE]).toEqual(["user", "", KEY40]);
        const others = (h: Record<string, string[]>) =>
          Object.fromEntries(Object.entries(h).filter(([k]) => k !== MACHINE));
        expect([i, others(after.hosts)]).toEqual([i, others(before.hosts)]);
        expect(after.macros).toEqual(before.macros);
      });
      expect(judged).toBeGreaterThan(50);
    },
  );

  testIf(
    hasPython,
    "parser agreement test",
    "python3 not installed",
  )("our parser and Python's agree on which files parse", () => {
    const dir = tempDir();
    const samples = fc.sample(netrcArb, 300);
    for (const [i, text] of samples.entries()) writeFileSync(join(dir, String(i)), text, "latin1");
    const script =
      "import netrc,sys,os,json\nr=[]\nfor i in range(int(sys.argv[2])):\n  try:\n    n=netrc.netrc(os.path.join(sys.argv[1],str(i)));r.append(n.hosts.get(sys.argv[3]) and list(n.hosts[sys.argv[3]]))\n  except Exception as e:\n    r.append('error')\nprint(json.dumps(r))";
    const proc = Bun.spawnSync(["python3", "-c", script, dir, String(samples.length), MACHINE], {
      stdout: "pipe",
    });
    const python = JSON.parse(proc.stdout.toString());
    samples.forEach((text, i) => {
      const ours = netrcLookup(text, MACHINE);
      const mine = ours.error
        ? "error"
        : ours.entry
          ? [ours.entry.login, ours.entry.account, ours.entry.password]
          : null;
      expect([i, JSON.stringify(text), mine]).toEqual([i, JSON.stringify(text), python[i] || null]);
    });
  });

  test("CRLF, tabs, no final newline, duplicates and macdefs mentioning our machine, through the binary", () => {
    const home = tempDir();
    const before = `machine ${MACHINE}\r\n\tlogin user\r\n\tpassword OLD1\r\nmacdef m\r\nmachine ${MACHINE} login x password y\r\n\r\nmachine b login c password d\r\nmachine ${MACHINE} password OLD2`;
    writeFileSync(join(home, ".netrc"), before);
    expect(runCli([KEY40], { home }).code).toBe(0);
    const after = read(join(home, ".netrc"));
    expect(after).toBe(
      `macdef m\r\nmachine ${MACHINE} login x password y\r\n\r\nmachine b login c password d\r\n${entry(MACHINE, KEY40).replaceAll("\n", "\r\n")}`,
    );
    if (hasPython) {
      const r = Bun.spawnSync(
        [
          "python3",
          "-c",
          `import netrc,sys;print(netrc.netrc(sys.argv[1]).authenticators('${MACHINE}'))`,
          join(home, ".netrc"),
        ],
        { stdout: "pipe" },
      );
      expect(r.stdout.toString().trim()).toBe(`('user', '', '${KEY40}')`);
    }
  });

  test("a huge netrc (5 MB) keeps every byte", () => {
    const home = tempDir();
    const big = Array.from(
      { length: 60_000 },
      (_, i) => `machine m${i}.example login u${i} password p${i}\n`,
    ).join("");
    writeFileSync(join(home, ".netrc"), big);
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(big + entry(MACHINE, KEY40));
  });
});

describe("hostile environment", () => {
  const asNobody = (env: Record<string, string>, args: string[]) =>
    Bun.spawnSync(["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups", BIN, ...args], {
      env: { PATH: process.env.PATH!, ...env },
      cwd: "/",
      stderr: "pipe",
      stdout: "pipe",
    });

  testIf(
    has("setpriv"),
    "no-passwd-entry test",
    "setpriv not installed",
  )("no HOME and no passwd entry: works with NETRC, else exit 1 naming NETRC and HOME", () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const without = asNobody({}, [KEY40]);
    expect(without.exitCode).toBe(1);
    expect(without.stderr.toString()).toMatch(/set NETRC .*or set HOME/);
    const withNetrc = asNobody({ NETRC: join(dir, "netrc") }, [KEY40]);
    expect(withNetrc.exitCode).toBe(0);
    expect(read(join(dir, "netrc"))).toBe(entry(MACHINE, KEY40));
  });

  test("HOME that cannot be written: a clear error", () => {
    const r = runCli([KEY40], { home: "/proc", cwd: "/" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Cannot write /proc/.netrc");
  });

  test("a closed stdout is not a crash", () => {
    for (const args of [["--help"], ["--json", KEY40]]) {
      const home = tempDir();
      const proc = Bun.spawnSync(
        ["bash", "-c", `"$0" "$@" | head -c0; echo "\${PIPESTATUS[0]}"`, BIN, ...args],
        { env: { PATH: process.env.PATH!, HOME: home }, stdout: "pipe", stderr: "pipe" },
      );
      expect(proc.stdout.toString().trim()).toBe("0");
      expect(proc.stderr.toString()).not.toMatch(/EPIPE|at |Error/);
    }
  });

  test("a .env and a bunfig.toml in the current folder are ignored", () => {
    const home = tempDir();
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), `WANDB_API_KEY=${KEY40}\nWANDB_BASE_URL=http://evil.example\n`);
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(
      join(cwd, "evil.ts"),
      `require("fs").writeFileSync(${JSON.stringify(join(cwd, "pwned"))}, "x");`,
    );
    const r = runCli([], { home, cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No API key configured");
    expect(readdirSync(cwd).sort()).toEqual([".env", "bunfig.toml", "evil.ts"]);
  });

  test("failures print one line, never a stack, never the key", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".netrc")); // a folder where the file should be
    const cases = [
      runCli([KEY_V1], { home }),
      runCli(["--verify", "--host", "http://127.0.0.1:1", KEY_V1], { home: tempDir() }),
      runCli(["--json", "--verify", KEY_V1], {
        home: tempDir(),
        env: { REQUESTS_CA_BUNDLE: "/nonexistent/ca.pem" },
      }),
      runCli([`${KEY_V1}!`], { home: tempDir() }),
      runCli(["--json"], { home: tempDir(), env: { WANDB_API_KEY: `${KEY_V1}!` } }),
    ];
    for (const r of cases) {
      expect(r.code).toBe(1);
      expect(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => !l.startsWith("wandb: ")),
      ).toEqual([]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(leaks(r.stdout + r.stderr, KEY_V1)).toBe(false);
    }
  });
});

describe("signals during a write", () => {
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
      expect(runCli([KEY40], { home }).code).toBe(0);
      expect(read(join(home, ".netrc"))).toBe(fresh);
      expect(readdirSync(home)).toEqual([".netrc"]);
    },
  );

  test("a dead run's temp file is removed with its stale lock", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc.lock"), "999999999");
    writeFileSync(join(home, ".netrc.tmp-999999999-abc"), "half a file");
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });
});

describe("hostile settings content (property-based, configparser as the judge)", () => {
  const iniLine = fc.oneof(
    fc.constantFrom(
      "[default]",
      "[DEFAULT]",
      "[other]",
      "# comment",
      "; comment",
      "",
      "  indented continuation",
      "base_url = http://old",
      "anonymous = must",
    ),
    fc
      .tuple(
        fc.constantFrom("mode", "entity", "Base_URL", "project", "x"),
        fc.constantFrom(" = ", "=", ": ", " : "),
        fc.stringMatching(/^[a-z0-9:/.]{0,10}$/),
      )
      .map(([k, d, v]) => k + d + v),
  );
  const iniArb = fc
    .tuple(fc.array(iniLine, { maxLength: 14 }), fc.constantFrom("\n", "\r\n"))
    .map(([lines, eol]) => lines.join(eol) + eol);

  testIf(
    hasPython,
    "configparser property test",
    "python3 not installed",
  )("set base_url, drop anonymous: configparser reads exactly that change", () => {
    const samples = fc.sample(iniArb, 400);
    const results = pythonBeforeAfter<Record<string, Record<string, string>>>(
      samples,
      (t) => updateSettings(t, { base_url: "http://new:1/%7E", anonymous: null }),
      `
    c = configparser.ConfigParser()
    c.read(path)
    return {s: dict(c.items(s)) for s in c.sections()} | {"DEFAULT": dict(c.defaults())}`,
    );
    let judged = 0;
    results.forEach(([before, after], i) => {
      if (before.error) return; // configparser refuses it; we warn and keep it as it is
      judged++;
      const expected = structuredClone(before);
      expected.default = { ...(expected.default ?? {}), base_url: "http://new:1/%7E" };
      delete expected.default.anonymous;
      for (const [k, v] of Object.entries(expected.DEFAULT))
        if (expected.default[k] === undefined) expected.default[k] = v; // items() merges DEFAULT
      if (expected.DEFAULT.anonymous) expected.default.anonymous = expected.DEFAULT.anonymous; // DEFAULT's own value shows through
      for (const s of Object.keys(expected))
        if (s !== "default" && s !== "DEFAULT")
          for (const [k, v] of Object.entries(expected.DEFAULT)) expected[s][k] ??= v;
      expect([i, JSON.stringify(samples[i]), after]).toEqual([i, JSON.stringify(samples[i]), expected]);
    });
    expect(judged).toBeGreaterThan(50);
  });
});
