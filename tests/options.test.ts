// The option table: every (command, option) pair, flags without values, help pages and completions
// derived from the one table, citty's parser as the judge of values, `token` and `whoami`.
import { describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ArgDef, type ArgsDef, parseArgs } from "citty";
import fc from "fast-check";
import { COMMANDS, type Command, OPTIONS, type OptionDef, optionList, parseCommandLine } from "../login";
import { completionScript, helpPage } from "../scripts/texts";
import {
  entry,
  fakeApi,
  has,
  KEY40,
  KEY_V1,
  leaks,
  runCli,
  runCliAsync,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";

const COMMAND_NAMES = [
  "login",
  "status",
  "logout",
  "token",
  "whoami",
  "identity",
  "accounts",
  "switch",
  "exec",
  "completion",
] as const;
type Name = (typeof COMMAND_NAMES)[number];
const options = Object.entries(OPTIONS) as [string, OptionDef][];
const takes = (command: Name, def: OptionDef) => (def.commands as string[]).includes(command);
const spellings = (name: string, def: OptionDef) =>
  [name, ...(def.alias ?? []), ...(def.negatable ? [`no-${name}`] : [])].map((n) => `--${n}`);
/** The command's words before an option: completion needs its shell, identity its source, switch a name. */
const words = (command: Name) =>
  ({
    completion: ["completion", "bash"],
    identity: ["identity", "--github-actions"],
    switch: ["switch", "work"],
  })[command as string] ?? [command];
/** What follows the options: exec's command. */
const after = (command: Name) => (command === "exec" ? ["--", "true"] : []);
const valueFor = (def: OptionDef) => (def.type === "string" ? ["http://127.0.0.1:9"] : []);

/** The options `command` takes, as citty's ArgsDef: citty's parser is the judge of ours. */
function argsFor(command: Command): ArgsDef {
  const args: ArgsDef = {};
  for (const [name, def] of optionList()) {
    if (def.commands.includes(command)) args[name] = { type: def.type, alias: def.alias } as ArgDef;
  }
  return args;
}

describe("every (command, option) pair, through the binary", () => {
  const pairs = COMMAND_NAMES.flatMap((command) =>
    options.flatMap(([name, def]) => spellings(name, def).map((spelled) => [command, spelled, def] as const)),
  );
  test.each(pairs)("%s %s", (command, spelled, def) => {
    const home = tempDir();
    const r = runCli([...words(command), spelled, ...valueFor(def), ...after(command)], {
      home,
      env: { NETRC: join(home, "netrc") },
    });
    if (takes(command, def)) {
      expect(r.stderr).not.toContain("is not an option");
      // identity's own rule: one of --github-actions and --token-file, --audience with the first
      if (r.code === 2)
        expect([command, r.stderr]).toEqual([
          command,
          expect.stringMatching(/`identity` takes --github-actions or --token-file|--audience goes with/),
        ]);
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `wandb: ERROR ${spelled} is not an option of \`wandb-login ${command}\`. ` +
          `See \`wandb-login ${command} --help\`.\n`,
      );
      // --json asked for JSON, so even its own usage error comes as JSON
      if (spelled === "--json") expect(JSON.parse(r.stdout)).toMatchObject({ code: 2 });
      else expect(r.stdout).toBe("");
      expect(readdirSync(home)).toEqual([]); // nothing read into being, nothing written
    }
  });

  const flags = options.filter(([, def]) => def.type === "boolean");
  test.each(flags.flatMap(([name]) => ["0", "1", "false", "true", "no", ""].map((v) => [name, v] as const)))(
    "--%s=%s is a usage error: a flag takes no value",
    (name, value) => {
      const home = tempDir();
      const command = COMMAND_NAMES.find((c) => takes(c, OPTIONS[name as keyof typeof OPTIONS]))!;
      const r = runCli([...words(command), `--${name}=${value}`, KEY40, ...after(command)], { home });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`Option --${name} does not take a value.`);
      expect(readdirSync(home)).toEqual([]);
    },
  );

  test("--host=URL and --host URL are the same", () => {
    const [a, b] = [
      ["--host=http://h:1", KEY40],
      ["--host", "http://h:1", KEY40],
    ].map((argv) => {
      const home = tempDir();
      expect(runCli(argv, { home }).code).toBe(0);
      return readdirSync(home).sort();
    });
    expect(a).toEqual(b);
  });
});

describe("help pages and completions come from the one table", () => {
  test.each(COMMAND_NAMES)("%s: its help page lists exactly its own options", (command) => {
    const page = helpPage(command);
    const block = page.split("\nOptions:\n")[1].split("\n\n")[0];
    for (const [name, def] of options) {
      for (const spelled of spellings(name, def)) {
        const listed = new RegExp(`^  .*${spelled}\\b`, "m").test(block);
        expect([spelled, listed]).toEqual([spelled, takes(command, def) && !def.hidden]);
      }
    }
    // only login prompts, so only login can be interrupted
    if (command === "login") expect(page).toContain("130 interrupted");
    else expect(page).not.toContain("130");
  });

  test.each(COMMAND_NAMES.filter((c) => c !== "login"))(
    "`help COMMAND` and `COMMAND --help` print that page: %s",
    (command) => {
      const viaWord = runCli(["help", command]);
      const viaFlag = runCli([...words(command).slice(0, 1), "--help"]);
      expect(viaWord.code).toBe(0);
      expect(viaWord.stdout).toBe(`${helpPage(command)}\n`);
      expect(viaFlag.stdout).toBe(viaWord.stdout);
    },
  );

  test("the top-level page names every command", () => {
    const page = helpPage("login");
    for (const command of COMMAND_NAMES) expect(page).toMatch(new RegExp(`^  ${command} `, "m"));
  });

  test("an option added to the table shows in the parser, every help page and every completion", () => {
    const table = OPTIONS as Record<string, OptionDef>;
    table.frobnicate = { type: "boolean", description: "frob the knobs", commands: ["status"] };
    try {
      expect(parseCommandLine(["status", "--frobnicate"])).toMatchObject({ command: "status" });
      expect(() => parseCommandLine(["logout", "--frobnicate"])).toThrow(
        "not an option of `wandb-login logout`",
      );
      expect(helpPage("status")).toContain("--frobnicate");
      expect(helpPage("logout")).not.toContain("--frobnicate");
      for (const shell of ["bash", "zsh", "fish"]) expect(completionScript(shell)).toContain("frobnicate");
      expect(completionScript("bash")).toMatch(/status\) options="[^"]*--frobnicate/);
      expect(completionScript("bash")).not.toMatch(/logout\) options="[^"]*--frobnicate/);
    } finally {
      delete table.frobnicate;
    }
  });

  /** What bash's completion function offers after `line` (the last word is the one being completed). */
  function bashOffers(line: string[]): string[] {
    const script = join(tempDir(), "complete.bash");
    writeFileSync(script, completionScript("bash"));
    const program = [
      `source ${script}`,
      `COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${line.length - 1}`,
      `_wandb_login; printf '%s\\n' "\${COMPREPLY[@]}"`,
      "complete -p wandb-login wandb", // both names are registered
    ].join("\n");
    const r = Bun.spawnSync(["bash", "--norc", "-c", program], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString().trim().split("\n");
    expect(out.slice(-2)).toEqual(["complete -F _wandb_login wandb-login", "complete -F _wandb_login wandb"]);
    return out.slice(0, -2);
  }

  test.each(COMMAND_NAMES.filter((c) => c !== "completion"))(
    "bash offers `%s` exactly its options",
    (command) => {
      const expected = options
        .filter(([, def]) => takes(command, def) && !def.hidden)
        .flatMap(([name, def]) => spellings(name, def));
      expect(bashOffers(["wandb-login", command, "--"]).sort()).toEqual([...expected, "--help"].sort());
      if (command === "login")
        expect(bashOffers(["wandb-login", "--"]).sort()).toEqual([...expected, "--help"].sort());
      expect(bashOffers(["wandb", command, "--"]).sort()).toEqual([...expected, "--help"].sort()); // the alias
    },
  );

  test("bash completes the first word with the commands, and a host after --host", () => {
    expect(bashOffers(["wandb-login", "s"])).toEqual(["status", "switch"]);
    expect(bashOffers(["wandb-login", "status", "--host", "https://api"])).toEqual(["https://api.wandb.ai"]);
    expect(bashOffers(["wandb-login", "completion", ""]).sort()).toEqual(["bash", "fish", "zsh"]);
  });

  testIf(
    has("fish"),
    "fish completion",
    "fish is not installed",
  )("fish offers each command exactly its options", () => {
    const script = join(tempDir(), "complete.fish");
    writeFileSync(script, completionScript("fish"));
    for (const command of ["status", "logout", "token", "whoami"] as const) {
      const r = Bun.spawnSync(["fish", "-c", `source ${script}; complete -C 'wandb-login ${command} --'`], {
        stdout: "pipe",
      });
      const offered = r.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0])
        .filter((o) => o !== "--help");
      const expected = options
        .filter(([, d]) => takes(command, d) && !d.hidden)
        .flatMap(([n, d]) => spellings(n, d));
      expect(offered.sort()).toEqual(expected.sort());
    }
  });

  testIf(
    has("zsh"),
    "zsh completion",
    "zsh is not installed",
  )("the zsh script parses and lists options per command", () => {
    const script = join(tempDir(), "_wandb-login");
    writeFileSync(script, completionScript("zsh"));
    expect(Bun.spawnSync(["zsh", "-n", script]).exitCode).toBe(0);
    const lines = completionScript("zsh").split("\n");
    for (const command of COMMAND_NAMES) {
      const line = lines.find((l) => l.trimStart().startsWith(`${command}) _arguments`))!;
      for (const [name, def] of options)
        expect([name, line.includes(`'--${name}[`)]).toEqual([name, takes(command, def) && !def.hidden]);
    }
  });
});

describe("citty's parser is the judge of the values", () => {
  test("every valid command line reads the same to us and to citty", () => {
    // identity's one-of rule is its own, as --host with --cloud is
    const command = fc.constantFrom(...COMMAND_NAMES.filter((c) => c !== "completion" && c !== "identity"));
    const operands: Partial<Record<Name, string[]>> = { switch: ["work"], exec: ["--", "true"] };
    // each option once: repeats (the last counts for us; citty prefers --host over --base-url) are not its rule
    const line = command.chain((c) => {
      const own = options.filter(([, def]) => takes(c, def) && !(c === "login" && def.hidden));
      const render = ([name, def]: [string, OptionDef]) =>
        def.type === "string"
          ? fc.tuple(fc.constantFrom(...spellings(name, def)), fc.webUrl()).map(([s, url]) => [`${s}=${url}`])
          : fc.constantFrom(...spellings(name, def)).map((s) => [s]);
      const chosen = fc.uniqueArray(fc.constantFrom(...own), { maxLength: 5, selector: ([name]) => name });
      return fc.tuple(
        fc.constant(c),
        chosen.chain((list) => fc.tuple(...list.map(render))),
      );
    });
    fc.assert(
      fc.property(line, ([command, parts]) => {
        const argv = [command, ...parts.flat(), ...(operands[command] ?? [])];
        let ours: ReturnType<typeof parseCommandLine>;
        try {
          ours = parseCommandLine(argv);
        } catch (e) {
          // the one rule citty does not know
          expect(String(e)).toMatch(/Cannot use --host and --cloud together|--stdin/);
          return;
        }
        const theirs = parseArgs(argv.slice(1), argsFor(command));
        if (typeof ours !== "object" || "help" in ours) throw new Error("not a command");
        expect(ours.host).toBe(theirs.host as string | undefined);
        expect(ours.account).toBe(theirs.account as string | undefined);
        for (const flag of ["cloud", "relogin", "verify", "stdin", "json"] as const)
          expect([flag, ours[flag]]).toEqual([flag, Boolean(theirs[flag])]);
      }),
      { numRuns: 500 },
    );
  });

  test("the first words it knows are the table's", () => {
    expect([...COMMANDS]).toEqual([...COMMAND_NAMES, "help", "version"]);
  });
});

const KEY_B = "b".repeat(40);

describe("token: the key the W&B SDK would send, alone on stdout", () => {
  test.each([
    ["WANDB_API_KEY over the netrc", { WANDB_API_KEY: KEY_V1 }, KEY_V1],
    ["the netrc over the settings file", {}, KEY40],
  ])("%s", (_, env, expected) => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY40));
    Bun.spawnSync(["mkdir", "-p", join(home, ".config", "wandb")]);
    writeFileSync(join(home, ".config", "wandb", "settings"), `[default]\napi_key = ${KEY_B}\n`);
    const r = runCli(["token"], { home, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${expected}\n`);
    expect(leaks(r.stderr, expected)).toBe(false);
  });

  test("the host's own entry, for --host", () => {
    const home = tempDir();
    writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY40) + entry("wandb.example.com", KEY_B));
    const r = runCli(["token", "--host", "https://wandb.example.com"], { home });
    expect(r).toMatchObject({ code: 0, stdout: `${KEY_B}\n` });
  });

  test("no key: exit 1 with the reason on stderr, nothing on stdout", () => {
    const r = runCli(["token"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("No API key configured for https://api.wandb.ai");
  });

  test("a malformed key is not printed: the SDK would refuse it", () => {
    const r = runCli(["token"], { env: { WANDB_API_KEY: "not a key at all, far too long to be one" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("WANDB_API_KEY invalid");
  });
});

describe("whoami: who the server says the SDK's key belongs to", () => {
  test("one line on stdout; the server saw the SDK's key; --json has the identity and source", async () => {
    const api = fakeApi({ viewers: { [KEY40]: VIEWER } });
    try {
      const home = tempDir();
      writeFileSync(join(home, ".netrc"), entry(api.url.replace("http://", ""), KEY40));
      const r = await runCliAsync(["whoami", "--host", api.url], { home });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`alice (acme) at ${api.url}\n`);
      expect(api.seen.at(-1)!.headers.authorization).toBe(`Basic ${btoa(`api:${KEY40}`)}`);
      const json = await runCliAsync(["whoami", "--host", api.url, "--json"], { home });
      expect(JSON.parse(json.stdout)).toEqual({
        host: api.url,
        username: "alice",
        entity: "acme",
        teams: ["acme", "ml-team"],
        source: join(home, ".netrc"),
      });
      expect(leaks(r.stdout + r.stderr + json.stdout + json.stderr, KEY40)).toBe(false);
    } finally {
      api.stop();
    }
  });

  test("a refused key: exit 1, the reason on stderr, nothing on stdout", async () => {
    const api = fakeApi({ viewers: {} });
    try {
      const r = await runCliAsync(["whoami", "--host", api.url], { env: { WANDB_API_KEY: KEY40 } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`Invalid API key for ${api.url}`);
    } finally {
      api.stop();
    }
  });

  test("no key: exit 1 before any request", () => {
    const r = runCli(["whoami", "--host", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No API key configured for http://127.0.0.1:9");
  });
});
