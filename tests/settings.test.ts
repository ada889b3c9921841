// The settings files (INI, as Python's configparser reads them): reading [default], editing
// base_url and anonymous in place after --host and --cloud, and configparser as the judge.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSettings, updateSettings } from "../login";
import {
  entry,
  hasPython,
  KEY40,
  MACHINE,
  modeOf,
  pythonBeforeAfter,
  pythonSettings,
  read,
  runInProcess,
  tempDir,
  testIf,
} from "./helpers";

const judgedByConfigparser = testIf(
  hasPython,
  "tests judged by Python's configparser",
  "python3 not installed",
);

describe("reading and editing", () => {
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
});

describe("--host and --cloud write the settings", () => {
  /** Stores KEY40 for http://localhost:8080 in a fresh home. */
  const storedWithPort = async () => {
    const home = tempDir();
    const r = await runInProcess(["--host", "http://localhost:8080/", KEY40], { home });
    return { home, r, settings: join(home, ".config", "wandb", "settings") };
  };

  test("--host with a port: machine keeps the port, settings name the host for Python's configparser", async () => {
    const { home, r, settings } = await storedWithPort();
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry("localhost:8080", KEY40));
    expect(read(settings)).toBe("[default]\nbase_url = http://localhost:8080\n");
    expect(r.stderr).toContain(`Updated settings file ${settings}`);
    // The next run, with no flag, logs in to the same host.
    const again = await runInProcess([], { home });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`W&B API key is configured (from ${join(home, ".netrc")})`);
  });

  judgedByConfigparser("--host with a port: configparser reads the base_url", async () => {
    const { settings } = await storedWithPort();
    expect(pythonSettings(settings)).toEqual({ base_url: "http://localhost:8080" });
  });

  test("--cloud removes base_url and anonymous, keeping other settings; workspace base_url goes too", async () => {
    const home = tempDir();
    const cwd = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    mkdirSync(join(cwd, "wandb"));
    writeFileSync(
      join(home, ".config", "wandb", "settings"),
      "[default]\nbase_url = http://old\nanonymous = must\nmode = offline\n\n[extra]\nx = 1\n",
    );
    writeFileSync(join(cwd, "wandb", "settings"), "[default]\nbase_url = http://ws\nentity = team\n");
    const r = await runInProcess(["--cloud", KEY40], { home, cwd });
    expect(r.code).toBe(0);
    expect(read(join(home, ".config", "wandb", "settings"))).toBe(
      "[default]\nmode = offline\n\n[extra]\nx = 1\n",
    );
    expect(read(join(cwd, "wandb", "settings"))).toBe("[default]\nentity = team\n");
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });

  test("a malformed settings file is warned about, ignored for reading, and kept when written", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    const settings = join(home, ".config", "wandb", "settings");
    writeFileSync(settings, "base_url = http://no-section\n[default]\nmode = offline\n");
    const r = await runInProcess(["--host", "http://h:1", KEY40], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Ignoring the settings file ${settings}`);
    expect(read(join(home, ".netrc"))).toBe(entry("h:1", KEY40));
    expect(read(settings)).toBe(
      "base_url = http://no-section\n[default]\nmode = offline\nbase_url = http://h:1\n",
    );
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

  judgedByConfigparser("set base_url, drop anonymous: configparser reads exactly that change", () => {
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

describe("modes", () => {
  test("an existing settings file keeps its mode (only the netrc is made private)", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    writeFileSync(join(home, ".config", "wandb", "settings"), "[default]\nmode = online\n", { mode: 0o644 });
    const r = await runInProcess(["--host", "https://w.example", KEY40], { home });
    expect(r.code).toBe(0);
    expect(modeOf(join(home, ".config", "wandb", "settings"))).toBe(0o644);
    expect(r.stderr).not.toContain("Tightened");
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
  });

  test("new settings files and folders are private to the user", async () => {
    const home = tempDir();
    const r = await runInProcess(["--host", "http://h:1", KEY40], {
      home,
      env: { WANDB_CONFIG_DIR: join(home, "a", "b") },
    });
    expect(r.code).toBe(0);
    expect(modeOf(join(home, "a"))).toBe(0o700);
    expect(modeOf(join(home, "a", "b"))).toBe(0o700);
    expect(modeOf(join(home, "a", "b", "settings"))).toBe(0o600);
  });

  test("a settings folder that cannot be written fails the login before the netrc is touched", async () => {
    const home = tempDir();
    writeFileSync(join(home, "file"), "x");
    writeFileSync(join(home, ".netrc"), "machine a login b password c\n");
    const r = await runInProcess(["--host", "http://h:1", KEY40], {
      home,
      env: { WANDB_CONFIG_DIR: join(home, "file", "cfg") },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${join(home, "file", "cfg", "settings")}`);
    expect(read(join(home, ".netrc"))).toBe("machine a login b password c\n");
  });
});
