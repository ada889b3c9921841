// The netrc: reading it as Python's `netrc` does, writing our entry while keeping every other byte,
// property tests that hold the fast paths to the plain ones, and real clients (Python, curl) as judges.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { netrcLookup, parseNetrc, removeNetrcEntry, toBytes, updateNetrc, utf8Problem } from "../login";
import { referenceParse } from "./reference-netrc";
import {
  entry,
  exists,
  hasCurl,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  modeOf,
  pythonBeforeAfter,
  pythonNetrc,
  pythonNetrcAll,
  pythonSettings,
  read,
  runInProcess,
  tempDir,
  testIf,
} from "./helpers";

const judgedByPython = testIf(hasPython, "tests judged by Python's netrc", "python3 not installed");

describe("reading", () => {
  test("lookup reads what Python reads: quotes, comments, the last duplicate, no fallback to default", () => {
    const text = `# c\nmachine "h" login user password "k 1"\nmachine h password k2 # trailing\ndefault login d password dp\n`;
    expect(netrcLookup(text, "h").entry).toMatchObject({ login: "", password: "k2" });
    expect(netrcLookup(text, "other").entry).toBeUndefined();
  });
  test("a default entry is the fallback, as Python's authenticators() has it", () => {
    const found = netrcLookup(`machine a login b password c\ndefault login d password ${KEY40}\n`, "x");
    expect(found.entry).toBeUndefined();
    expect(found.fallback?.password).toBe(KEY40);
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
  test("a file that is not UTF-8 is named with the byte and its line", () => {
    expect(utf8Problem("machine h login u password p\n")).toBeUndefined();
    expect(utf8Problem(toBytes("# ünïcode ✓ 😀\n"))).toBeUndefined();
    expect(utf8Problem("a\nb\xffc")).toBe("'utf-8' codec can't decode byte 0xff in position 3 (line 2)");
    expect(utf8Problem("\xc3(")).toMatch(/byte 0xc3 in position 0/);
  });
});

describe("writing", () => {
  test("a new file is upstream's three-line entry", () => {
    expect(updateNetrc("", MACHINE, KEY40).text).toBe(entry(MACHINE, KEY40));
  });
  test("other entries, comments and blank lines are kept byte for byte; ours is replaced and goes last", () => {
    const before = `# my netrc\nmachine api.wandb.ai\n  login user\n  password OLD\n\nmachine github.com login me password gh\n`;
    expect(updateNetrc(before, MACHINE, KEY40).text).toBe(
      `# my netrc\n\nmachine github.com login me password gh\n${entry(MACHINE, KEY40)}`,
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
  test("remove reports what it removed and keeps the rest, with the parse of what is left", () => {
    const removed = removeNetrcEntry(`${entry("a", "1")}${entry("h", "2")}default login x\n`, "h");
    expect(removed).toMatchObject({ text: `${entry("a", "1")}default login x\n`, removed: 1 });
    expect(removed.rest).toEqual(parseNetrc(removed.text, "h"));
    expect(removeNetrcEntry(entry("a", "1"), "h")).toMatchObject({ text: entry("a", "1"), removed: 0 });
  });
});

describe("storing a key", () => {
  test("fresh HOME: creates ~/.netrc, mode 0600, upstream's layout, and says so", async () => {
    const home = tempDir();
    const r = await runInProcess([KEY_V1], { home });
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY_V1));
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(r.stderr).toContain("No netrc file found, creating one.");
    expect(r.stderr).toContain(`Appending key for api.wandb.ai to your netrc file: ${join(home, ".netrc")}`);
    expect(r.stdout).toBe("");
    expect(leaks(r.stdout + r.stderr, KEY_V1)).toBe(false);
    expect(readdirSync(home)).toEqual([".netrc"]);
  });

  const personal = [
    "# personal netrc",
    "machine github.com login me password ghp_x",
    "",
    "machine api.wandb.ai",
    "  login user",
    `  password ${"o".repeat(40)}`,
    "machine   odd.example\tlogin  a   password b",
    "default login anonymous password guest@",
    "",
  ].join("\n");
  /** A personal netrc with an old key for us, after storing KEY40. */
  const storedOverPersonal = async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), personal, { mode: 0o600 });
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    return join(home, ".netrc");
  };

  test("existing netrc: every other byte kept, old entry replaced", async () => {
    expect(read(await storedOverPersonal())).toBe(
      [
        "# personal netrc",
        "machine github.com login me password ghp_x",
        "",
        "machine   odd.example\tlogin  a   password b",
        ...entry(MACHINE, KEY40).trimEnd().split("\n"),
        "default login anonymous password guest@",
        "",
      ].join("\n"),
    );
  });

  judgedByPython("existing netrc: Python reads every entry", async () => {
    expect(pythonNetrcAll(await storedOverPersonal(), [MACHINE, "github.com", "odd.example"])).toEqual([
      ["user", "", KEY40],
      ["me", "", "ghp_x"],
      ["a", "", "b"],
    ]);
  });

  test("replacing an existing key says 'Replacing', a new one 'Appending'", async () => {
    const home = tempDir();
    expect((await runInProcess([KEY40], { home })).stderr).toContain("Appending key for api.wandb.ai");
    const again = await runInProcess(["--relogin", KEY_V1], { home });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(
      `Replacing the key for api.wandb.ai in your netrc file: ${join(home, ".netrc")}`,
    );
    expect(again.stderr).not.toContain("Appending");
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY_V1));
  });

  const crlf = `machine ${MACHINE}\r\n\tlogin user\r\n\tpassword OLD1\r\nmacdef m\r\nmachine ${MACHINE} login x password y\r\n\r\nmachine b login c password d\r\nmachine ${MACHINE} password OLD2`;
  const storedOverCrlf = async () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), crlf);
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    return join(home, ".netrc");
  };

  test("CRLF, tabs, no final newline, duplicates and macdefs mentioning our machine", async () => {
    expect(read(await storedOverCrlf())).toBe(
      `macdef m\r\nmachine ${MACHINE} login x password y\r\n\r\nmachine b login c password d\r\n${entry(MACHINE, KEY40).replaceAll("\n", "\r\n")}`,
    );
  });

  judgedByPython("CRLF, tabs, no final newline…: Python's netrc reads our entry", async () => {
    expect(pythonNetrc(await storedOverCrlf(), MACHINE)).toEqual(["user", "", KEY40]);
  });

  test("a huge netrc (5 MB) keeps every byte", async () => {
    const home = tempDir();
    const big = Array.from(
      { length: 60_000 },
      (_, i) => `machine m${i}.example login u${i} password p${i}\n`,
    ).join("");
    writeFileSync(join(home, ".netrc"), big);
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(big + entry(MACHINE, KEY40));
  });

  test("a non-ASCII --host is stored as UTF-8 bytes, and found again", async () => {
    const home = tempDir();
    const r = await runInProcess(["--host", "https://例え.jp", KEY40], { home });
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry(toBytes("例え.jp"), KEY40));
    expect((await runInProcess(["status"], { home })).code).toBe(0);
  });

  judgedByPython(
    "a non-ASCII --host is stored as UTF-8: configparser and Python's netrc read it back",
    async () => {
      const home = tempDir();
      expect((await runInProcess(["--host", "https://例え.jp", KEY40], { home })).code).toBe(0);
      expect(pythonSettings(join(home, ".config", "wandb", "settings"))).toEqual({
        base_url: "https://例え.jp",
      });
      expect(pythonNetrc(join(home, ".netrc"), "例え.jp")).toEqual(["user", "", KEY40]);
    },
  );
});

describe("where the netrc is", () => {
  test("WANDB_CONFIG_DIR and NETRC (with ~) are honoured", async () => {
    const home = tempDir();
    mkdirSync(join(home, "creds"));
    const r = await runInProcess(["--host", "https://w.example", KEY40], {
      home,
      env: { NETRC: "~/creds/netrc", WANDB_CONFIG_DIR: join(home, "cfg") },
    });
    expect(r.code).toBe(0);
    expect(read(join(home, "creds", "netrc"))).toBe(entry("w.example", KEY40));
    expect(read(join(home, "cfg", "settings"))).toBe("[default]\nbase_url = https://w.example\n");
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  test("an existing ~/_netrc is used when there is no ~/.netrc", async () => {
    const home = tempDir();
    writeFileSync(join(home, "_netrc"), "machine x login y password z\n");
    expect((await runInProcess([KEY40], { home })).code).toBe(0);
    expect(read(join(home, "_netrc"))).toBe(`machine x login y password z\n${entry(MACHINE, KEY40)}`);
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  test("NETRC in a folder that does not exist: exit 1 naming the folder, nothing created", async () => {
    const home = tempDir();
    const r = await runInProcess([KEY40], { home, env: { NETRC: join(home, "typo", "netrc") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the folder ${join(home, "typo")} does not exist`);
    expect(exists(join(home, "typo"))).toBe(false);
  });
});

describe("a netrc that Python cannot read", () => {
  const unreadable = [
    [
      "a comment after a blank line",
      "machine a login b password c\n\n# two words\nmachine d login e password f\n",
    ],
    ["a NUL byte", "machine a login b password c\n\0\n"],
    ["a byte that is not UTF-8", "machine a login b password c\xff\n"],
  ];
  const storedInto = async (before: string) => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), before, "latin1");
    const r = await runInProcess([KEY40], { home });
    return { r, netrc: join(home, ".netrc") };
  };

  test.each(unreadable)(
    "%s: the key is stored, with Python's error and the line to fix",
    async (_, before) => {
      const { r, netrc } = await storedInto(before);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /Python's netrc cannot read .*line \d+.*will not find the key until that line is fixed/,
      );
      expect(read(netrc)).toBe(before + entry(MACHINE, KEY40));
    },
  );

  judgedByPython.each(unreadable)("%s: Python's netrc does raise on the stored file", async (_, before) => {
    expect(pythonNetrc((await storedInto(before)).netrc, MACHINE)).toHaveProperty("error");
  });

  judgedByPython("a file Python reads gets no such warning", async () => {
    const { r, netrc } = await storedInto(toBytes("# ünïcode comment\nmachine a login b password c\n"));
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("cannot read");
    expect(pythonNetrc(netrc, MACHINE)).toEqual(["user", "", KEY40]);
  });
});

describe("curl reads what we wrote", () => {
  const judgedByCurl = testIf(hasCurl, "curl judge", "curl not installed");
  judgedByCurl("curl --netrc-file sends user:key to the host, not the `default` entry", async () => {
    let seen = "";
    using server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen = req.headers.get("authorization") ?? "";
        return new Response("ok");
      },
    });
    const home = tempDir();
    writeFileSync(
      join(home, ".netrc"),
      "machine other login a password b\ndefault login anon password guest\n",
    );
    // curl matches netrc entries by host name without the port, so the host is port-less here.
    expect((await runInProcess(["--host", "http://wandb.test", KEY40], { home })).code).toBe(0);
    const curl = Bun.spawn(
      [
        "curl",
        "-s",
        "--netrc-file",
        join(home, ".netrc"),
        "--connect-to",
        `wandb.test:80:127.0.0.1:${server.port}`,
        "http://wandb.test/",
      ],
      { stdout: "pipe" },
    );
    expect(await curl.exited).toBe(0);
    expect(seen).toBe(`Basic ${Buffer.from(`user:${KEY40}`).toString("base64")}`);
  });
});

// --- property tests: the fast paths against the plain ones, and Python against us ---

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

/** The text with our machine's entries gone, and the separators an update may add after it. */
const withoutOurs = (text: string) => {
  const base = removeNetrcEntry(text, MACHINE).text;
  return [base, `${base}\n`, `${base}\r\n`, `${base}\n\n`, `${base}\r\n\r\n`];
};

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
  const ours = /machine api\.wandb\.ai\r?\n {2}login user\r?\n {2}password \S+\r?\n/.exec(after);
  expect(ours).not.toBeNull();
  const rest = after.slice(0, ours!.index) + after.slice(ours!.index + ours![0].length);
  expect(withoutOurs(before)).toContain(rest);
  expect(
    netrcLookup(after, MACHINE).error
      ? parseNetrc(after)
          .entries.filter((e) => e.name === MACHINE)
          .at(-1)?.password
      : netrcLookup(after, MACHINE).entry?.password,
  ).toBe(key);
}

describe("hostile netrc content (property-based)", () => {
  const anyFile = fc.oneof(netrcArb, junkArb, plainArb);

  test("the slicing lexer and the plain reference parse agree on every file, token soup and junk", () => {
    fc.assert(
      fc.property(anyFile, (text) => {
        const { end, ...fast } = parseNetrc(text);
        const { openAtEof, ...reference } = referenceParse(text);
        expect(fast).toEqual(reference);
        expect(end === "open").toBe(openAtEof);
      }),
      { numRuns: 3000 },
    );
  });

  test("focused and plain parses agree with the full parse", () => {
    fc.assert(
      fc.property(anyFile, (text) => {
        const full = parseNetrc(text);
        const kept = (e: { kind: string; name: string }) => e.kind === "default" || e.name === MACHINE;
        const focused = parseNetrc(text, MACHINE); // plain files take the one-regex-per-entry path
        expect(focused).toEqual({
          ...full,
          entries: full.entries.filter(kept),
          visible: full.entries.slice(0, full.visible).filter(kept).length,
        });
      }),
      { numRuns: 3000 },
    );
  });

  test("the parse a removal hands on is the parse of what it left, for every file Python reads cleanly", () => {
    fc.assert(
      fc.property(fc.oneof(netrcArb, plainArb), (text) => {
        const before = parseNetrc(text, MACHINE);
        if (before.error || before.end !== "closed" || before.stopAt < text.length) return;
        const { text: left, rest } = removeNetrcEntry(text, MACHINE, before);
        const { error: _, ...again } = parseNetrc(left, MACHINE);
        const { error: __, ...shifted } = rest;
        expect(shifted).toEqual(again);
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

  test.each([
    ["token soup: no byte outside our entry is lost, and our entry is what a reader sees", netrcArb, 2000],
    ["binary junk: the same holds", junkArb, 1000],
  ] as const)("%s", (_, files, numRuns) => {
    fc.assert(
      fc.property(files, (text) => assertOnlyOurEntryChanged(text, KEY40)),
      { numRuns },
    );
  });

  test("removing what update added gives back the file minus our old entries", () => {
    fc.assert(
      fc.property(netrcArb, (text) => {
        let updated: string;
        try {
          updated = updateNetrc(text, MACHINE, KEY40).text;
        } catch {
          return;
        } // refusals are judged above
        expect(withoutOurs(text)).toContain(removeNetrcEntry(updated, MACHINE).text);
      }),
      { numRuns: 1000 },
    );
  });

  judgedByPython(
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

  judgedByPython("our parser and Python's agree on which files parse", () => {
    const dir = tempDir();
    const samples = fc.sample(netrcArb, 300);
    for (const [i, text] of samples.entries()) writeFileSync(join(dir, String(i)), text, "latin1");
    const script =
      "import netrc,sys,os,json\nr=[]\nfor i in range(int(sys.argv[2])):\n  try:\n    n=netrc.netrc(os.path.join(sys.argv[1],str(i)));r.append(n.hosts.get(sys.argv[3]) and list(n.hosts[sys.argv[3]]))\n  except Exception as e:\n    r.append('error')\nprint(json.dumps(r))";
    const proc = Bun.spawnSync(["python3", "-c", script, dir, String(samples.length), MACHINE], {
      stdout: "pipe",
    });
    const python = JSON.parse(proc.stdout.toString());
    expect(python).toHaveLength(samples.length);
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
});
