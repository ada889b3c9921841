// What reaches the terminal: the hidden prompt (the binary on a pseudo-terminal), colour, text from
// outside shown escaped, keys masked wherever they turn up, and failures as one line.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { basicAuth, escapeControls, keyShaped, maskKey, maskSecrets } from "../login";
import {
  entry,
  exists,
  fakeApi,
  hasPython,
  homeWith,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  onTerminal,
  read,
  runCli,
  runInProcess,
  tempDir,
  terminalWorld,
  testIf,
  VIEWER,
} from "./helpers";

const onPty = testIf(hasPython, "pseudo-terminal tests", "python3 not installed (it drives the terminal)");
const PROMPT = "Paste your API key and hit enter: ";
const asked = (screen: string) => screen.split("Paste your API key").length - 1;

describe("the interactive prompt", () => {
  onPty.each([
    [
      "hidden input with backspace stores the key and never echoes it",
      [],
      [`${KEY40}X\\x7f\\r`],
      "Create a new API key at: https://wandb.ai/authorize?ref=models",
    ],
    [
      "a malformed key is explained and asked for again",
      [],
      ["short\\r", `${KEY40}\\r`],
      "API key must have 40+ characters, has 5.",
    ],
    ["--stdin on a terminal asks, reads hidden, and stores", ["--stdin"], [`${KEY40}\\r`], PROMPT],
  ])("%s", async (_, args, keys, shown) => {
    const home = tempDir();
    const r = await onTerminal(args, keys, { home });
    expect(r.code).toBe(0);
    expect(r.screen).toContain(PROMPT);
    expect(r.screen).toContain(shown);
    expect(r.screen).not.toContain(KEY40.slice(0, 12));
    expect(r.echo).toBe(true);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });

  onPty.each([
    ["three bad keys end with exit 1 and no file", [], ["a\\r", "\\r", "b\\r"], 1, "API key is empty.", 3],
    [
      "Ctrl-C exits 130, restores the terminal and writes nothing",
      ["--relogin"],
      ["abc\\x03"],
      130,
      "Interrupted.",
      1,
    ],
    [
      "Ctrl-D cancels the prompt: exit 1, 'No key entered.', asked once, nothing written",
      [],
      ["abc\\x04"],
      1,
      "No key entered.",
      1,
    ],
  ])("%s", async (_, args, keys, code, shown, asks) => {
    const home = tempDir();
    const r = await onTerminal(args, keys, { home });
    expect(r.code).toBe(code);
    expect(r.screen).toContain(shown);
    expect(asked(r.screen)).toBe(asks);
    expect(r.echo).toBe(true); // raw mode undone: the shell gets its echo back
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  onPty("with --verify, a refused key is reported and asked for again", async () => {
    using api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    const home = tempDir();
    const r = await onTerminal(["--verify", "--host", api.url], [`${"d".repeat(40)}\\r`, `${KEY40}\\r`], {
      home,
    });
    expect(r.code).toBe(0);
    expect(r.screen).toContain(`Invalid API key for ${api.url}`);
    expect(r.screen).toContain("Credentials from: prompt");
    expect(asked(r.screen)).toBe(2);
    expect(api.seen).toHaveLength(2);
    expect(read(join(home, ".netrc"))).toBe(entry(`127.0.0.1:${api.port}`, KEY40));
  });

  onPty("colour on a terminal, none with NO_COLOR or when piped", async () => {
    const plain = "wandb: ERROR Unknown option --bogus. See `wandb-login --help`.";
    expect((await onTerminal(["--bogus"])).screen).toContain("\x1b[31mERROR");
    expect((await onTerminal(["--bogus"], [], { env: { NO_COLOR: "1" } })).screen).toBe(`${plain}\r\n`);
    expect(runCli(["--bogus"]).stderr).toBe(`${plain}\n`);
  });

  test("Ctrl-C at the prompt ends the run with exit code 130, in --json too", async () => {
    for (const args of [[], ["--json"]]) {
      const home = tempDir();
      const terminal = terminalWorld(["abc\x03"]);
      const r = await runInProcess(args, { home, world: terminal });
      expect(r.code).toBe(130);
      expect(r.stderr).toContain("Interrupted.");
      expect(terminal.rawModes).toEqual([true, false]);
      if (args.length) expect(JSON.parse(r.stdout)).toEqual({ error: "Interrupted.", code: 130 });
      else expect(r.stdout).toBe("");
      expect(readdirSync(home)).toEqual([]);
    }
  });

  test("--relogin with a stored key and no terminal says it needs a terminal and how to pass the key", async () => {
    const home = homeWith({ netrc: entry(MACHINE, KEY40) });
    const r = await runInProcess(["--relogin"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--relogin needs a terminal to prompt on; pass the key as an argument");
    expect(r.stderr).not.toContain("No API key configured");
    expect(readdirSync(home).sort()).toEqual([".config", ".netrc"]);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });
});

describe("text from outside reaches the terminal escaped", () => {
  test("control characters are shown, not obeyed", () => {
    expect(escapeControls("a\x1b]0;pwned\x07b\x1b[2Jc\nd\x9be\x7f")).toBe(
      "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x0ad\\x9be\\x7f",
    );
    expect(escapeControls("ünïcode ok")).toBe("ünïcode ok");
  });

  test("a username, entity and team with escape sequences are shown as \\xNN, not obeyed", async () => {
    const evil = "\x1b]0;pwned\x07\x1b[2J";
    const viewer = {
      ...VIEWER,
      username: `alice${evil}`,
      entity: "acme\nwandb: Stored the API key for evil",
      teams: { edges: [{ node: { name: "t\x9b31m" } }] },
    };
    using api = fakeApi({ viewers: { [KEY40]: viewer } });
    const r = await runInProcess(["--verify", "--host", api.url, KEY40]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/[\x1b\x07\x9b]/);
    expect(r.stderr).toContain("alice\\x1b]0;pwned\\x07\\x1b[2J");
    expect(r.stderr).toContain("acme\\x0awandb: Stored the API key for evil");
    expect(r.stderr.split("\n").filter((l) => l.startsWith("wandb: Stored"))).toEqual([]);
  });

  test("a repository's settings base_url with control characters is shown escaped by status", async () => {
    const home = tempDir();
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), "[default]\nbase_url = https://h.example/\x1b[31mred\n");
    const r = await runInProcess(["status"], { home });
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr).toContain("\\x1b[31mred");
  });
});

describe("keys are masked wherever they turn up; short values are not keys", () => {
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

  test("secrets are masked, the key and its Basic-auth form alike", () => {
    const text = `key ${KEY_V1} header ${basicAuth(KEY_V1)}`;
    expect(maskSecrets(text, [KEY_V1])).toBe(`key ${maskKey(KEY_V1)} header Basic …`);
  });

  test.each([
    ["--host KEY", ["--host", KEY_V1], {}],
    ["--KEY", [`--${KEY_V1}`], {}],
    ["WANDB_BASE_URL=KEY", [KEY40], { WANDB_BASE_URL: KEY_V1 }],
  ] as const)("%s: not in stderr nor in --json", async (_, args, env) => {
    const r = await runInProcess([...args, "--json"], { env });
    expect(r.code).not.toBe(0);
    expect(leaks(r.stderr + r.stdout, KEY_V1)).toBe(false);
    expect(r.stderr + r.stdout).toContain(`wandb_v1_…${KEY_V1.slice(-4)}`);
  });

  test("a one-letter key from stdin leaves the message readable", async () => {
    const r = await runInProcess(["--stdin"], { stdin: "e\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("API key must have 40+ characters, has 1.");
  });

  test("failures print one line, never a stack, never the key", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".netrc")); // a folder where the file should be
    const cases = [
      await runInProcess([KEY_V1], { home }),
      await runInProcess(["--verify", "--host", "http://127.0.0.1:1", KEY_V1]),
      await runInProcess(["--json", "--verify", KEY_V1], {
        env: { REQUESTS_CA_BUNDLE: "/nonexistent/ca.pem" },
      }),
      await runInProcess([`${KEY_V1}!`]),
      await runInProcess(["--json"], { env: { WANDB_API_KEY: `${KEY_V1}!` } }),
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
