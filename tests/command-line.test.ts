// The command line: command words and typos, options and usage errors, per-command help,
// completion scripts judged by the shells themselves, every variable the code reads documented, and
// the README short enough to read in one sitting, with every option and command in it or in docs/.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMMAND_NAMES, editDistance, OPTIONS, parseCommandLine, UsageError, VERSION } from "../login";
import { completionScript, helpPage } from "../scripts/texts";
import {
  entry,
  has,
  KEY40,
  KEY_V1,
  leaks,
  MACHINE,
  modeOf,
  read,
  runInProcess,
  tempDir,
  testIf,
} from "./helpers";

describe("parsing", () => {
  const parse = (...argv: string[]) => parseCommandLine(argv);
  const expectParse = (...argv: string[]) => expect(parse(...argv));
  test("a KEY and the defaults", async () => {
    expectParse(KEY40).toMatchObject({
      command: "login",
      key: KEY40,
      cloud: false,
      verify: false,
      stdin: false,
      extraKeys: 0,
    });
  });
  test("a leading `login` is skipped, `status` and `logout` are commands", async () => {
    expectParse("login", KEY40).toMatchObject({ command: "login", key: KEY40 });
    expectParse("status", "--verify").toMatchObject({
      command: "status",
      verify: true,
      key: undefined,
    });
    expectParse("--host", "http://x", "logout").toMatchObject({ command: "logout", host: "http://x" });
  });
  test("--base-url is --host, in both spellings", async () => {
    expectParse("--base-url", "http://a:1").toMatchObject({ host: "http://a:1" });
    expectParse("--host=http://b").toMatchObject({ host: "http://b" });
  });
  test("--no-verify and extra keys", async () => {
    expectParse("--verify", "--no-verify").toMatchObject({ verify: false });
    expectParse(KEY40, "b1", "c1").toMatchObject({ key: KEY40, extraKeys: 2 });
  });
  test("`-` and --stdin read stdin", async () => {
    expectParse("-").toMatchObject({ stdin: true, key: "-" });
    expectParse("--stdin").toMatchObject({ stdin: true, key: undefined });
  });
  test("help and version, as flags and as words; per-command help", async () => {
    expectParse("--help").toEqual({ help: "login" });
    expectParse("-h").toEqual({ help: "login" });
    expectParse("help").toEqual({ help: "login" });
    expectParse("status", "--help").toEqual({ help: "status" });
    expectParse("help", "logout").toEqual({ help: "logout" });
    expectParse("-v").toBe("version");
    expectParse("version").toBe("version");
  });
  test("a short lowercase word that is no command is a usage error with a suggestion", async () => {
    expect(() => parse("stauts")).toThrow('Unknown command "stauts". Did you mean "status"?');
    expect(() => parse("frobnicate")).toThrow(/^Unknown command "frobnicate"\.$/);
    expect(() => parse("help", "bogus")).toThrow(UsageError);
    expectParse("completion", "bash").toMatchObject({ command: "completion", word: "bash" });
    expect(() => parse("completion")).toThrow(UsageError);
    expect(editDistance("stauts", "status")).toBe(2);
    expect(editDistance("logot", "logout")).toBe(1);
  });
  test.each([
    [["--bogus"], /Unknown option --bogus/],
    [["-x"], /Unknown option -x/],
    [["--host"], /--host needs a value/],
    [["--host", "--cloud"], /--host needs a value/],
    [["--host="], /--host needs a value/],
    [["--cloud", "--host", "http://x"], /Cannot use --host and --cloud together/],
    [["--stdin", KEY40], /--stdin together with a KEY/],
    [["status", KEY40], /takes no KEY/],
    [["--no-host", "x"], /Unknown option --no-host/],
  ])("usage error: %p", async (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});

describe("command words", () => {
  test.each([
    ["stauts", 'Unknown command "stauts". Did you mean "status"?'],
    ["logut", 'Unknown command "logut". Did you mean "logout"?'],
    ["frobnicate", 'Unknown command "frobnicate".'],
  ])("a typo (%s) is a usage error with a suggestion, never a key", async (word, message) => {
    const home = tempDir();
    const r = await runInProcess([word], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("--help");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(home)).toEqual([]);
  });

  test("help and version work as words, like the flags", async () => {
    const help = await runInProcess(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await runInProcess(["--help"])).stdout);
    expect(help.stdout).toBe(`${helpPage("login")}\n`);
    const version = await runInProcess(["version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe((await runInProcess(["--version"])).stdout);
    expect(version.stdout).toBe(`${VERSION}\n`);
  });

  test("a leading `login` still works, and a key is still a key", async () => {
    const home = tempDir();
    expect((await runInProcess(["login", KEY40], { home })).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });

  test("`login` as the first word is skipped; --anonymously only warns", async () => {
    const home = tempDir();
    const r = await runInProcess(["login", "--anonymously", KEY40], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--anonymously has no effect");
    expect(read(join(home, ".netrc"))).toBe(entry(MACHINE, KEY40));
  });

  test("extra keys are warned about, WANDB_API_KEY's precedence too", async () => {
    const r = await runInProcess([KEY40, "second"], { env: { WANDB_API_KEY: KEY_V1 } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Only the first API key is used");
    expect(r.stderr).toMatch(/WANDB_API_KEY is set, and takes precedence/);
    expect(leaks(r.stderr, KEY_V1) || leaks(r.stderr, KEY40)).toBe(false);
  });
});

describe("usage errors", () => {
  test.each([
    [["--bogus"], "Unknown option --bogus."],
    [["--host"], "Option --host needs a value."],
    [["--host", "--cloud", KEY40], "Option --host needs a value."],
    [["--cloud", "--host", "http://x", KEY40], "Cannot use --host and --cloud together."],
    [["--stdin", KEY40], "Cannot use --stdin together with a KEY argument."],
  ])("%p exits 2 with one line and touches nothing", async (args, message) => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), "machine keep login me password mine\n", { mode: 0o644 });
    const r = await runInProcess(args, { home, stdin: KEY40 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("--help");
    expect(r.stdout).toBe("");
    expect(read(join(home, ".netrc"))).toBe("machine keep login me password mine\n");
    expect(modeOf(join(home, ".netrc"))).toBe(0o644);
  });
});

describe("per-command help", () => {
  test.each([
    ["status", "wandb-login status [--host URL | --cloud] [--verify] [--json]", "--verify"],
    ["logout", "wandb-login logout [--host URL | --cloud] [--json]", "Example:"],
    ["completion", "wandb-login completion bash|zsh|fish", "fish"],
  ])(
    "`%s --help` prints that command's usage, options and an example, exit 0",
    async (command, usage, more) => {
      for (const args of [
        [command, "--help"],
        ["help", command],
        [command, "-h"],
      ]) {
        const r = await runInProcess(args);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(usage);
        expect(r.stdout).toContain(more);
        expect(r.stdout).toContain("Exit codes:");
        expect(r.stdout).not.toContain("--relogin");
      }
    },
  );
});

describe("completion scripts", () => {
  test("completion scripts for bash, zsh and fish; anything else is a usage error", () => {
    for (const shell of ["bash", "zsh", "fish"]) expect(completionScript(shell)).toMatch(/-(-|l )host/);
    expect(() => completionScript("toString")).toThrow(UsageError);
  });

  /** The script `completion <shell>` prints, in a file. */
  const scriptFile = async (shell: string) => {
    const r = await runInProcess(["completion", shell]);
    expect(r.code).toBe(0);
    const file = join(tempDir(), `c.${shell}`);
    writeFileSync(file, r.stdout);
    return file;
  };

  testIf(
    has("bash"),
    "bash completion",
    "bash not installed",
  )("bash: commands, options, and shells after `completion`", async () => {
    const file = await scriptFile("bash");
    const complete = (line: string) => {
      const words = line.split(" ");
      const script = `source "$1"; complete -p wandb-login; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _wandb_login; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = Bun.spawnSync(["bash", "-c", script, "bash", file], { stdout: "pipe", stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      return r.stdout.toString().trim().split("\n");
    };
    expect(complete("wandb-login st")).toEqual(["complete -F _wandb_login wandb-login", "status"]);
    expect(complete("wandb-login --re").slice(1)).toEqual(["--relogin"]);
    expect(complete("wandb-login status --ho").slice(1)).toEqual(["--host"]);
    expect(complete("wandb-login --host https://api").slice(1)).toEqual(["https://api.wandb.ai"]);
    expect(complete("wandb-login completion f").slice(1)).toEqual(["fish"]);
  });

  for (const shell of ["zsh", "fish"]) {
    testIf(
      has(shell),
      `${shell} completion`,
      `${shell} not installed`,
    )(`${shell}: the script parses`, async () => {
      const r = Bun.spawnSync([shell, "-n", await scriptFile(shell)], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
    });
  }

  test("an unknown shell is a usage error", async () => {
    const r = await runInProcess(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("choose bash, zsh or fish");
    expect(r.stdout).toBe("");
  });
});

describe("every variable the binary reads is documented", () => {
  const root = join(import.meta.dir, "..");
  const code = readFileSync(join(root, "login.ts"), "utf8");
  const table = readFileSync(join(root, "docs", "environment.md"), "utf8");
  const firstCells = [...table.matchAll(/^\| (`[^|]*)\|/gm)].map((m) => m[1]);
  const documented = new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1])),
  );

  test("each `env.X` in login.ts has a row in docs/environment.md's table, and --help names it", async () => {
    const help = (await runInProcess(["--help"])).stdout;
    const names = new Set([...code.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]));
    expect(names.size).toBeGreaterThan(8);
    for (const name of names) {
      expect({ name, documented: documented.has(name) }).toEqual({ name, documented: true });
      if (!name.startsWith("BUN_"))
        expect({ name, inHelp: help.includes(name) }).toEqual({ name, inHelp: true });
    }
  });

  test("the variables Bun itself reads for us (proxies, CAs) are in the table too", () => {
    for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"]) {
      expect(documented.has(name)).toBe(true);
    }
  });
});

describe("the README is read in one sitting", () => {
  const root = join(import.meta.dir, "..");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"));
  const everything = [readme, ...docs.map((f) => readFileSync(join(root, "docs", f), "utf8"))].join("\n");

  test("README.md has at most 300 lines", () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(300);
  });

  test("every docs/*.md link in the README names a file that exists", () => {
    const links = [...readme.matchAll(/\]\((docs\/[^)#\s]+\.md)(#[^)\s]*)?\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links)
      expect({ link, exists: existsSync(join(root, link)) }).toEqual({ link, exists: true });
  });

  test("every link between the docs pages names a file that exists", () => {
    for (const page of docs) {
      const text = readFileSync(join(root, "docs", page), "utf8");
      for (const [, link] of text.matchAll(/\]\(([^)#\s:]+)(#[^)\s]*)?\)/g)) {
        expect({ page, link, exists: existsSync(join(root, "docs", link)) }).toEqual({
          page,
          link,
          exists: true,
        });
      }
    }
  });

  test("every option and every command is documented, in the README or in docs/", () => {
    for (const [name, def] of Object.entries(OPTIONS)) {
      if (def.hidden) continue;
      const documented = new RegExp(`--${name}(?![\\w-])`).test(everything);
      expect({ name, documented }).toEqual({ name, documented: true });
    }
    for (const command of COMMAND_NAMES) {
      const documented = new RegExp(`wandb-login \\[?${command}\\b`).test(everything);
      expect({ command, documented }).toEqual({ command, documented: true });
    }
  });
});
