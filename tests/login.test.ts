// Black-box tests of `wandb-login [KEY]`: the compiled binary, a temp HOME, real clients as judges.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BIN,
  exists,
  hasCurl,
  hasPython,
  KEY40,
  KEY_V1,
  leaks,
  modeOf,
  noteSkip,
  testIf,
  pythonNetrc,
  pythonSettings,
  read,
  runCli,
  tempDir,
} from "./helpers";

const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;

describe("storing a key", () => {
  test("fresh HOME: creates ~/.netrc, mode 0600, upstream's layout, and says so", () => {
    const home = tempDir();
    const r = runCli([KEY_V1], { home });
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY_V1));
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
    expect(r.stderr).toContain("No netrc file found, creating one.");
    expect(r.stderr).toContain(`Appending key for api.wandb.ai to your netrc file: ${join(home, ".netrc")}`);
    expect(r.stdout).toBe("");
    expect(leaks(r.stdout + r.stderr, KEY_V1)).toBe(false);
    expect(readdirSync(home).sort()).toEqual([".netrc"]);
  });

  test("existing netrc: every other byte kept, old entry replaced, Python reads every entry", () => {
    const home = tempDir();
    const before = [
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
    writeFileSync(join(home, ".netrc"), before, { mode: 0o600 });
    expect(runCli([KEY40], { home }).code).toBe(0);
    const after = read(join(home, ".netrc"));
    expect(after).toBe(
      [
        "# personal netrc",
        "machine github.com login me password ghp_x",
        "",
        "machine   odd.example\tlogin  a   password b",
        ...entry("api.wandb.ai", KEY40).trimEnd().split("\n"),
        "default login anonymous password guest@",
        "",
      ].join("\n"),
    );
    if (!hasPython) return noteSkip("Python netrc judge", "python3 not installed");
    expect(pythonNetrc(join(home, ".netrc"), "api.wandb.ai")).toEqual(["user", "", KEY40]);
    expect(pythonNetrc(join(home, ".netrc"), "github.com")).toEqual(["me", "", "ghp_x"]);
    expect(pythonNetrc(join(home, ".netrc"), "odd.example")).toEqual(["a", "", "b"]);
  });

  test("--host with a port: machine keeps the port, settings name the host for Python's configparser", () => {
    const home = tempDir();
    const r = runCli(["--host", "http://localhost:8080/", KEY40], { home });
    expect(r.code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry("localhost:8080", KEY40));
    const settings = join(home, ".config", "wandb", "settings");
    expect(read(settings)).toBe("[default]\nbase_url = http://localhost:8080\n");
    expect(r.stderr).toContain(`Updated settings file ${settings}`);
    if (hasPython) expect(pythonSettings(settings)).toEqual({ base_url: "http://localhost:8080" });
    // The next run, with no flag, logs in to the same host.
    const again = runCli([], { home });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`W&B API key is configured (from ${join(home, ".netrc")})`);
  });

  test("--cloud removes base_url and anonymous, keeping other settings; workspace base_url goes too", () => {
    const home = tempDir();
    const cwd = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    mkdirSync(join(cwd, "wandb"));
    writeFileSync(
      join(home, ".config", "wandb", "settings"),
      "[default]\nbase_url = http://old\nanonymous = must\nmode = offline\n\n[extra]\nx = 1\n",
    );
    writeFileSync(join(cwd, "wandb", "settings"), "[default]\nbase_url = http://ws\nentity = team\n");
    const r = runCli(["--cloud", KEY40], { home, cwd });
    expect(r.code).toBe(0);
    expect(read(join(home, ".config", "wandb", "settings"))).toBe(
      "[default]\nmode = offline\n\n[extra]\nx = 1\n",
    );
    expect(read(join(cwd, "wandb", "settings"))).toBe("[default]\nentity = team\n");
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });

  test("a malformed settings file is warned about, ignored for reading, and kept when written", () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    const settings = join(home, ".config", "wandb", "settings");
    writeFileSync(settings, "base_url = http://no-section\n[default]\nmode = offline\n");
    const r = runCli(["--host", "http://h:1", KEY40], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Ignoring the settings file ${settings}`);
    expect(read(join(home, ".netrc"))).toBe(entry("h:1", KEY40));
    expect(read(settings)).toBe(
      "base_url = http://no-section\n[default]\nmode = offline\nbase_url = http://h:1\n",
    );
  });

  test("WANDB_CONFIG_DIR and NETRC (with ~) are honoured", () => {
    const home = tempDir();
    mkdirSync(join(home, "creds"));
    const r = runCli(["--host", "https://w.example", KEY40], {
      home,
      env: { NETRC: "~/creds/netrc", WANDB_CONFIG_DIR: join(home, "cfg") },
    });
    expect(r.code).toBe(0);
    expect(read(join(home, "creds", "netrc"))).toBe(entry("w.example", KEY40));
    expect(read(join(home, "cfg", "settings"))).toBe("[default]\nbase_url = https://w.example\n");
  });

  test("an existing settings file keeps its mode (only the netrc is made private)", () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "wandb"), { recursive: true });
    writeFileSync(join(home, ".config", "wandb", "settings"), "[default]\nmode = online\n", { mode: 0o644 });
    const r = runCli(["--host", "https://w.example", KEY40], { home });
    expect(r.code).toBe(0);
    expect(modeOf(join(home, ".config", "wandb", "settings"))).toBe(0o644);
    expect(r.stderr).not.toContain("Tightened");
    expect(modeOf(join(home, ".netrc"))).toBe(0o600);
  });

  test("an existing ~/_netrc is used when there is no ~/.netrc", () => {
    const home = tempDir();
    writeFileSync(join(home, "_netrc"), "machine x login y password z\n");
    expect(runCli([KEY40], { home }).code).toBe(0);
    expect(read(join(home, "_netrc"))).toBe(`machine x login y password z\n${entry("api.wandb.ai", KEY40)}`);
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  test("--stdin and `-` read the key from stdin, trimmed", () => {
    for (const args of [["--stdin"], ["-"]]) {
      const home = tempDir();
      const r = runCli(args, { home, stdin: `  ${KEY40}  \n` });
      expect(r.code).toBe(0);
      expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
    }
  });

  test("a bad key is refused with a complete sentence and nothing is written", () => {
    const home = tempDir();
    const r = runCli(["abc123"], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("API key must have 40+ characters, has 6.");
    expect(readdirSync(home)).toEqual([]);
    expect(runCli(["--stdin"], { home, stdin: "" }).stderr).toContain("API key is empty.");
  });

  test("extra keys are warned about, WANDB_API_KEY's precedence too", () => {
    const r = runCli([KEY40, "second"], { env: { WANDB_API_KEY: KEY_V1 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Only the first API key is used");
    expect(r.stderr).toMatch(/WANDB_API_KEY is set, and takes precedence/);
    expect(leaks(r.stderr, KEY_V1) || leaks(r.stderr, KEY40)).toBe(false);
  });

  test("`login` as the first word is skipped; --anonymously only warns", () => {
    const home = tempDir();
    const r = runCli(["login", "--anonymously", KEY40], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--anonymously has no effect");
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });
});

describe("finding stored credentials", () => {
  test("WANDB_API_KEY wins and nothing is written", () => {
    const home = tempDir();
    const r = runCli([], { home, env: { WANDB_API_KEY: KEY40 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "W&B API key is configured (from WANDB_API_KEY). Use `wandb-login --relogin` to force relogin.",
    );
    expect(readdirSync(home)).toEqual([]);
  });

  test("settings api_key comes next, workspace over system", () => {
    const home = tempDir();
    mkdirSync(join(home, "wandb"));
    writeFileSync(join(home, "wandb", "settings"), `[default]\napi_key = ${KEY40}\n`);
    writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY_V1));
    const r = runCli([], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`(from ${join(home, "wandb", "settings")})`);
  });

  test("netrc comes last; a malformed stored key names its source", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY40));
    expect(runCli([], { home }).stderr).toContain(`(from ${join(home, ".netrc")})`);
    const bad = runCli([], { home, env: { WANDB_API_KEY: "tooshort" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("WANDB_API_KEY invalid: API key must have 40+ characters, has 8.");
    expect(bad.stderr).not.toContain("tooshort");
  });

  test("no key and no terminal: exit 1 at once, naming the non-interactive ways, even with an open stdin", async () => {
    const home = tempDir();
    const proc = Bun.spawn([BIN], {
      env: { PATH: process.env.PATH!, HOME: home },
      stdin: "pipe",
      stderr: "pipe",
      stdout: "pipe",
    });
    const timer = setTimeout(() => proc.kill(), 5000);
    const [code, stderr] = [await proc.exited, await new Response(proc.stderr).text()];
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stderr).toContain("No API key configured.");
    expect(stderr).toContain("--stdin");
    expect(stderr).toContain("WANDB_API_KEY");
    expect(readdirSync(home)).toEqual([]);
  });

  test("a netrc Python cannot parse is warned about and skipped", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), `machine api.wandb.ai login user password ${KEY40} port 80\n`);
    const r = runCli([], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Failed to read netrc file");
  });
});

describe("usage errors", () => {
  test.each([
    [["--bogus"], "Unknown option --bogus."],
    [["--host"], "Option --host needs a value."],
    [["--host", "--cloud", KEY40], "Option --host needs a value."],
    [["--cloud", "--host", "http://x", KEY40], "Cannot use --host and --cloud together."],
    [["--stdin", KEY40], "Cannot use --stdin together with a KEY argument."],
  ])("%p exits 2 with one line and touches nothing", (args, message) => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine keep login me password mine\n", { mode: 0o644 });
    const r = runCli(args, { home, stdin: KEY40 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("--help");
    expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    expect(modeOf(join(home, ".netrc"))).toBe(0o644);
  });

  test("--help and --version print on stdout and exit 0", () => {
    const help = runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--relogin");
    expect(help.stdout).toContain("status");
    expect(help.stdout).not.toContain("\x1b[");
    const version = runCli(["--version"]);
    expect(version.stdout.trim()).toBe(require("../package.json").version);
  });

  test("an invalid host is exit 1 and writes nothing", () => {
    const home = tempDir();
    const r = runCli(["--host", "wandb.example.com", KEY40], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Invalid host URL");
    expect(readdirSync(home)).toEqual([]);
    expect(runCli(["--host", "https://wandb.ai", KEY40], { home }).stderr).toContain(
      "did you mean https://api.wandb.ai?",
    );
  });
});

describe("the interactive prompt", () => {
  const prompt = (home: string, keys: string[], args: string[] = []) => {
    const proc = Bun.spawnSync(["python3", join(import.meta.dir, "terminal.py"), BIN, ...keys], {
      env: { PATH: process.env.PATH!, HOME: home, TERM: "xterm", PTY_ARGS: JSON.stringify(args) },
      stdout: "pipe",
      stderr: "pipe",
    });
    return JSON.parse(proc.stdout.toString()) as { screen: string; code: number; echo: boolean | null };
  };

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("hidden input with backspace stores the key and never echoes it", () => {
    const home = tempDir();
    const r = prompt(home, [`${KEY40}X\\x7f\\r`]);
    expect(r.code).toBe(0);
    expect(r.screen).toContain("Create a new API key at: https://wandb.ai/authorize?ref=models");
    expect(r.screen).toContain("Paste your API key and hit enter: ");
    expect(r.screen).not.toContain(KEY40.slice(0, 12));
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("a malformed key is explained and asked for again", () => {
    const home = tempDir();
    const r = prompt(home, ["short\\r", `${KEY40}\\r`]);
    expect(r.code).toBe(0);
    expect(r.screen).toContain("API key must have 40+ characters, has 5.");
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("three bad keys end with exit 1 and no file", () => {
    const home = tempDir();
    const r = prompt(home, ["a\\r", "\\r", "b\\r"]);
    expect(r.code).toBe(1);
    expect(r.screen).toContain("API key is empty.");
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  testIf(
    hasPython,
    "terminal colour test",
    "python3 not installed",
  )("colour on a terminal, none with NO_COLOR or when piped", () => {
    const run = (env: Record<string, string>) =>
      JSON.parse(
        Bun.spawnSync(["python3", join(import.meta.dir, "terminal.py"), BIN], {
          env: { PATH: process.env.PATH!, HOME: tempDir(), TERM: "xterm", PTY_ARGS: '["--bogus"]', ...env },
          stdout: "pipe",
        }).stdout.toString(),
      ) as { screen: string; code: number };
    expect(run({}).screen).toContain("\x1b[31mERROR");
    expect(run({ NO_COLOR: "1" }).screen).toBe(
      "wandb: ERROR Unknown option --bogus. See `wandb-login --help`.\r\n",
    );
    expect(runCli(["--bogus"]).stderr).toBe(
      "wandb: ERROR Unknown option --bogus. See `wandb-login --help`.\n",
    );
  });

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("--stdin on a terminal asks, reads hidden, and stores", () => {
    const home = tempDir();
    const r = prompt(home, [`${KEY40}\\r`], ["--stdin"]);
    expect(r.code).toBe(0);
    expect(r.screen).toContain("Paste your API key and hit enter: ");
    expect(r.screen).not.toContain(KEY40.slice(0, 12));
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("Ctrl-C exits 130, restores the terminal and writes nothing", () => {
    const home = tempDir();
    const r = prompt(home, ["abc\\x03"], ["--relogin"]);
    expect(r.code).toBe(130);
    expect(r.echo).toBe(true); // raw mode undone: the shell gets its echo back
    expect(exists(join(home, ".netrc"))).toBe(false);
  });

  testIf(
    hasPython,
    "prompt test",
    "python3 not installed",
  )("Ctrl-D cancels the prompt: exit 1, 'No key entered.', asked once, nothing written", () => {
    const home = tempDir();
    const r = prompt(home, ["abc\\x04"]);
    expect(r.code).toBe(1);
    expect(r.screen).toContain("No key entered.");
    expect(r.screen.split("Paste your API key").length - 1).toBe(1);
    expect(r.echo).toBe(true);
    expect(exists(join(home, ".netrc"))).toBe(false);
  });
});

describe("real clients read what we wrote", () => {
  testIf(
    hasCurl,
    "curl judge",
    "curl not installed",
  )("curl --netrc-file sends user:key to the host, not the `default` entry", async () => {
    let seen = "";
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen = req.headers.get("authorization") ?? "";
        return new Response("ok");
      },
    });
    try {
      const home = tempDir();
      writeFileSync(
        join(home, ".netrc"),
        "machine other login a password b\ndefault login anon password guest\n",
      );
      // curl matches netrc entries by host name without the port, so the host is port-less here.
      expect(runCli(["--host", "http://wandb.test", KEY40], { home }).code).toBe(0);
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
    } finally {
      server.stop(true);
    }
  });

  test("a symlinked netrc is written through its link", () => {
    const home = tempDir();
    mkdirSync(join(home, "dotfiles"));
    symlinkSync(join(home, "dotfiles", "netrc"), join(home, ".netrc")); // dangling at first
    expect(runCli([KEY40], { home, env: { NETRC: join(home, ".netrc") } }).code).toBe(0);
    expect(read(join(home, "dotfiles", "netrc"))).toBe(entry("api.wandb.ai", KEY40));
    expect(readdirSync(join(home, "dotfiles"))).toEqual(["netrc"]);
  });
});
