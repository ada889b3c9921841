// Issue 13: a CLI you can guess. Command words and typos, per-command help, completion scripts
// judged by the shells themselves, every variable the code reads documented in the README.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { has, KEY40, KEY_V1, read, runCli, tempDir, testIf } from "./helpers";

const entry = (m: string, k: string) => `machine ${m}\n  login user\n  password ${k}\n`;

describe("command words", () => {
  test.each([
    ["stauts", 'Unknown command "stauts". Did you mean "status"?'],
    ["logut", 'Unknown command "logut". Did you mean "logout"?'],
    ["frobnicate", 'Unknown command "frobnicate".'],
  ])("a typo (%s) is a usage error with a suggestion, never a key", (word, message) => {
    const home = tempDir();
    const r = runCli([word], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("--help");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(home)).toEqual([]);
  });

  test("help and version work as words, like the flags", () => {
    const help = runCli(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(runCli(["--help"]).stdout);
    const version = runCli(["version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(runCli(["--version"]).stdout);
  });

  test("a leading `login` still works, and a key is still a key", () => {
    const home = tempDir();
    expect(runCli(["login", KEY40], { home }).code).toBe(0);
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
  });
});

describe("per-command help", () => {
  test.each([
    ["status", "wandb-login status [--host URL | --cloud] [--verify] [--json]", "--verify"],
    ["logout", "wandb-login logout [--host URL | --cloud] [--json]", "Example:"],
    ["completion", "wandb-login completion bash|zsh|fish", "fish"],
  ])("`%s --help` prints that command's usage, options and an example, exit 0", (command, usage, more) => {
    for (const args of [
      [command, "--help"],
      ["help", command],
      [command, "-h"],
    ]) {
      const r = runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(usage);
      expect(r.stdout).toContain(more);
      expect(r.stdout).toContain("Exit codes:");
      expect(r.stdout).not.toContain("--relogin");
    }
  });
});

describe("completion scripts", () => {
  testIf(
    has("bash"),
    "bash completion",
    "bash not installed",
  )("bash: commands, options, and shells after `completion`", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "c.bash"), runCli(["completion", "bash"]).stdout);
    const complete = (line: string) => {
      const words = line.split(" ");
      const script = `source "$1"; complete -p wandb-login; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _wandb_login; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = Bun.spawnSync(["bash", "-c", script, "bash", join(dir, "c.bash")], {
        stdout: "pipe",
        stderr: "pipe",
      });
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
    )(`${shell}: the script parses`, () => {
      const file = join(tempDir(), `c.${shell}`);
      writeFileSync(file, runCli(["completion", shell]).stdout);
      const r = Bun.spawnSync([shell, "-n", file], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
    });
  }

  test("an unknown shell is a usage error", () => {
    const r = runCli(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("choose bash, zsh or fish");
  });
});

describe("small things", () => {
  test("replacing an existing key says 'Replacing', a new one 'Appending'", () => {
    const home = tempDir();
    expect(runCli([KEY40], { home }).stderr).toContain("Appending key for api.wandb.ai");
    const again = runCli(["--relogin", KEY_V1], { home });
    expect(again.stderr).toContain(
      `Replacing the key for api.wandb.ai in your netrc file: ${join(home, ".netrc")}`,
    );
    expect(again.stderr).not.toContain("Appending");
    expect(read(join(home, ".netrc"))).toBe(entry("api.wandb.ai", KEY_V1));
  });
});

describe("every variable the binary reads is documented", () => {
  const root = join(import.meta.dir, "..");
  const code = readFileSync(join(root, "login.ts"), "utf8");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("### Environment variables"));
  const firstCells = [...table.matchAll(/^\| (`[^|]*)\|/gm)].map((m) => m[1]);
  const documented = new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1])),
  );

  test("each `env.X` in login.ts has a row in the README's table, and --help names it", () => {
    const read = new Set([...code.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]));
    expect(read.size).toBeGreaterThan(8);
    for (const name of read) {
      expect({ name, documented: documented.has(name) }).toEqual({ name, documented: true });
      if (!name.startsWith("BUN_")) expect(runCli(["--help"]).stdout).toContain(name);
    }
  });

  test("the variables Bun itself reads for us (proxies, CAs) are in the table too", () => {
    for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"]) {
      expect(documented.has(name)).toBe(true);
    }
  });
});
