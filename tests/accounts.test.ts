// Several accounts, the OS keychain and exec (spec §12): in-process against a keychain in memory that
// fails on demand, and through the binary against a real Secret Service (gnome-keyring on a private
// D-Bus, judged by secret-tool) and real child processes.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../login";
import {
  BIN,
  entry,
  fakeApi,
  has,
  KEY40,
  KEY_V1,
  leaks,
  memoryKeychain,
  modeOf,
  read,
  runCli,
  runCliAsync,
  runInProcess,
  snapshot,
  tempDir,
  testIf,
  VIEWER,
} from "./helpers";
import { startBusWithoutSecretService, startKeyring, startSilentSecretService } from "./keyring";

const KEY_B = "b".repeat(40);
const KEY_C = `local-${"c".repeat(40)}`;
const CLOUD = "https://api.wandb.ai";

/** A home, and a run in it with the given keychain (one in memory by default). */
function machine(keychain = memoryKeychain()) {
  const home = tempDir();
  const accountsFile = join(home, ".config", "wandb-login", "accounts.json");
  const run = (args: string[], env: Env = {}, world = {}) =>
    runInProcess(args, { home, env, world: { keychain, ...world } });
  const accounts = async (args: string[] = []) => {
    const r = await run(["accounts", "--json", ...args]);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).accounts as {
      name: string | null;
      active: boolean;
      store: string;
      key: string;
    }[];
  };
  const netrc = () => read(join(home, ".netrc"));
  return { home, keychain, run, accounts, netrc, accountsFile };
}

describe("login --account: the key is an account of its host; nothing is ever lost", () => {
  test("the netrc entry is the SDK's source; the key it held before is kept as `default`", async () => {
    const m = machine();
    expect((await m.run([KEY40])).code).toBe(0);
    const r = await m.run(["--account", "work", KEY_V1]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `Stored the API key wandb_v1_…${KEY_V1.slice(-4)} for ${CLOUD} as account work.`,
    );
    expect(r.stderr).toContain("as account default");
    expect(m.netrc()).toBe(entry("api.wandb.ai", KEY_V1));
    expect([...m.keychain.entries]).toEqual([
      [`${CLOUD} default`, KEY40],
      [`${CLOUD} work`, KEY_V1],
    ]);
    expect(await m.accounts()).toEqual([
      { host: CLOUD, name: "default", active: false, store: "OS keychain", key: "…4567" },
      { host: CLOUD, name: "work", active: true, store: "OS keychain", key: `wandb_v1_…${KEY_V1.slice(-4)}` },
    ] as never);
    // the index names accounts and where their keys live; no key is in it
    expect(read(m.accountsFile)).not.toContain(KEY40);
    expect(leaks(r.stderr + r.stdout, KEY_V1) || leaks(r.stderr, KEY40)).toBe(false);
  });

  test("a second default is default-2; logging in as an existing account replaces its key", async () => {
    const m = machine();
    await m.run([KEY40]);
    await m.run(["--account", "work", KEY_V1]);
    await m.run(["--account", "work", KEY_B]); // the old work key is work's: not kept again
    expect((await m.accounts()).map((a) => [a.name, a.active])).toEqual([
      ["default", false],
      ["work", true],
    ]);
    writeFileSync(join(m.home, ".netrc"), entry("api.wandb.ai", KEY_C)); // a key set by hand
    await m.run(["--account", "ci", KEY40]);
    expect((await m.accounts()).map((a) => a.name)).toEqual(["default", "work", "default-2", "ci"]);
  });

  test.each([["a b"], ["x".repeat(65)], ["../etc"], ["work\n"]])(
    "the account name %j is refused, nothing written",
    async (name) => {
      const m = machine();
      const r = await m.run(["--account", name, KEY40]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Invalid account name");
      expect(snapshot(m.home)).toBe("");
    },
  );
});

describe("where account keys live: the OS keychain, else the accounts file (said)", () => {
  test("a keychain that fails: the key goes to the file (0600 in a 0700 folder), with a note, once", async () => {
    const m = machine(memoryKeychain({ fails: "Cannot autolaunch D-Bus without X11 $DISPLAY" }));
    await m.run([KEY40]);
    const r = await m.run(["--account", "work", KEY_V1]);
    expect(r.code).toBe(0);
    const notes = r.stderr.split("\n").filter((l) => l.includes("in plain text"));
    expect(notes).toEqual([
      `wandb: The OS keychain is not usable (Cannot autolaunch D-Bus without X11 $DISPLAY): the key of account default is kept in plain text in ${m.accountsFile} (mode 0600).`,
    ]);
    expect(m.keychain.calls).toBe(1); // the failure is remembered for the run: one wait, not one per account
    expect(modeOf(m.accountsFile)).toBe(0o600);
    expect(statSync(join(m.home, ".config", "wandb-login")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(read(m.accountsFile)).accounts.map((a: { key: string }) => a.key)).toEqual([
      KEY40,
      KEY_V1,
    ]);
    expect((await m.accounts()).map((a) => a.store)).toEqual(["accounts file", "accounts file"]);
  });

  test("WANDB_LOGIN_KEYCHAIN=0: the keychain is never called", async () => {
    const m = machine();
    const r = await m.run(["--account", "work", KEY40], { WANDB_LOGIN_KEYCHAIN: "0" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("turned off by WANDB_LOGIN_KEYCHAIN=0");
    expect(m.keychain.calls).toBe(0);
  });

  test("a locked keyring reads as empty and refuses writes: the file is used", async () => {
    const m = machine(memoryKeychain({ locked: true }));
    expect((await m.run(["--account", "work", KEY40])).code).toBe(0);
    expect((await m.accounts()).map((a) => [a.name, a.store, a.active])).toEqual([
      ["work", "accounts file", true],
    ]);
  });

  test("a machine with no accounts pays nothing: no keychain call, no accounts file", async () => {
    const m = machine();
    for (const args of [[KEY40], ["status"], ["token"], ["logout"], ["--host", "https://h.example", KEY_B]]) {
      await m.run(args);
    }
    expect(m.keychain.calls).toBe(0);
    expect(existsSync(join(m.home, ".config", "wandb-login"))).toBe(false);
  });

  test("an accounts file that is not ours is said, and never overwritten", async () => {
    const m = machine();
    mkdirSync(join(m.home, ".config", "wandb-login"), { recursive: true });
    writeFileSync(m.accountsFile, "{ not json");
    for (const args of [["--account", "work", KEY40], ["accounts"], ["switch", "work"], ["logout"]]) {
      const r = await m.run(args);
      expect([args, r.code]).toEqual([args, 1]);
      expect(r.stderr).toContain(`The accounts file ${m.accountsFile} is not what wandb-login writes`);
    }
    expect(read(m.accountsFile)).toBe("{ not json");
  });
});

describe("login --keychain-only: the keychain or nothing", () => {
  test("the key goes into the keychain only: no netrc entry, no key in any file", async () => {
    const m = machine();
    const r = await m.run(["--keychain-only", "--account", "vault", KEY_V1]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("in the OS keychain only");
    expect(existsSync(join(m.home, ".netrc"))).toBe(false);
    expect(read(m.accountsFile)).not.toContain(KEY_V1);
    expect(m.keychain.entries.get(`${CLOUD} vault`)).toBe(KEY_V1);
    expect((await m.accounts()).map((a) => [a.name, a.store, a.active])).toEqual([
      ["vault", "keychain only", false],
    ]);
    const s = await m.run(["switch", "vault"]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("kept in the OS keychain only");
  });

  test("without a usable keychain: exit 1 naming why, nothing written, no fall-back to a file", async () => {
    const m = machine(memoryKeychain({ fails: "it did not answer within 5 s" }));
    const r = await m.run(["--keychain-only", KEY_V1]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Cannot keep the key in the OS keychain: it did not answer within 5 s.");
    expect(snapshot(m.home)).toBe("");
  });
});

describe("switch, logout --account, token --account, WANDB_LOGIN_ACCOUNT", () => {
  async function twoAccounts(keychain = memoryKeychain()) {
    const m = machine(keychain);
    await m.run(["--account", "personal", KEY40]);
    await m.run(["--account", "work", KEY_V1]);
    return m;
  }

  test("switch writes the account's key into the netrc entry, says which was active", async () => {
    const m = await twoAccounts();
    const r = await m.run(["switch", "personal"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Switched ${CLOUD} to account personal (…4567); it had account work.`);
    expect(m.netrc()).toBe(entry("api.wandb.ai", KEY40));
    expect((await m.accounts()).map((a) => [a.name, a.active])).toEqual([
      ["personal", true],
      ["work", false],
    ]);
  });

  test("switch to an unknown name, or with no accounts: exit 1 listing the names", async () => {
    const m = await twoAccounts();
    const r = await m.run(["switch", "nobody"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${CLOUD} has no account nobody; it has: personal, work.`);
    const other = await m.run(["switch", "work", "--host", "https://other.example"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("https://other.example has no accounts");
    expect(m.netrc()).toBe(entry("api.wandb.ai", KEY_V1));
  });

  test("token --account prints that key; WANDB_LOGIN_ACCOUNT picks it for token and whoami", async () => {
    const m = await twoAccounts();
    expect((await m.run(["token", "--account", "personal"])).stdout).toBe(`${KEY40}\n`);
    expect((await m.run(["token"], { WANDB_LOGIN_ACCOUNT: "personal" })).stdout).toBe(`${KEY40}\n`);
    expect((await m.run(["token"])).stdout).toBe(`${KEY_V1}\n`); // the SDK's, as before
    using server = fakeApi({ viewers: { [KEY40]: { ...VIEWER, username: "me-personal" } } });
    const who = await m.run(["whoami", "--host", server.url], { WANDB_LOGIN_ACCOUNT: "personal" });
    expect(who.code).toBe(1); // personal is an account of the cloud, not of this host
    expect(who.stderr).toContain("has no accounts");
    await m.run(["--host", server.url, "--account", "mine", KEY40]);
    await m.run(["--host", server.url, "--account", "theirs", KEY_B]); // active now, unknown to the server
    const chosen = await m.run(["whoami", "--host", server.url], { WANDB_LOGIN_ACCOUNT: "mine" });
    expect([chosen.code, chosen.stdout]).toEqual([0, `me-personal (acme) at ${server.url}\n`]);
    expect(server.seen.at(-1)?.headers.authorization).toBe(`Basic ${btoa(`api:${KEY40}`)}`);
  });

  test("a keychain entry deleted behind our back: exit 1 saying so", async () => {
    const m = await twoAccounts();
    m.keychain.entries.delete(`${CLOUD} personal`);
    const r = await m.run(["token", "--account", "personal"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("The OS keychain holds no key for account personal");
    expect(r.stdout).toBe("");
  });

  test("logout --account forgets one; the active one's netrc entry goes with it; plain logout forgets the active", async () => {
    const m = await twoAccounts();
    await m.run(["--account", "other", KEY_B]);
    await m.run(["switch", "work"]);
    const r = await m.run(["logout", "--account", "personal"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Forgot account personal of ${CLOUD}.`);
    expect(m.netrc()).toBe(entry("api.wandb.ai", KEY_V1));
    expect(m.keychain.entries.has(`${CLOUD} personal`)).toBe(false);
    expect((await m.run(["logout"])).code).toBe(0); // work was active: its entry and account go
    expect(m.netrc()).toBe("");
    expect((await m.accounts()).map((a) => [a.name, a.active])).toEqual([["other", false]]);
    const unknown = await m.run(["logout", "--account", "work"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("has no account work; it has: other.");
  });
});

describe("status and completion know the accounts", () => {
  test("status lists the host's accounts: active, where each key lives, the chosen one, keychain-only", async () => {
    const m = machine();
    await m.run(["--account", "personal", KEY40]);
    await m.run(["--account", "work", KEY_V1]);
    await m.run(["--keychain-only", "--account", "vault", KEY_C]);
    const r = await m.run(["status"], { WANDB_LOGIN_ACCOUNT: "personal" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "Account personal: …4567 (OS keychain; chosen by --account or WANDB_LOGIN_ACCOUNT)",
    );
    expect(r.stderr).toContain(
      `Account work: wandb_v1_…${KEY_V1.slice(-4)} (OS keychain; active: its key is the netrc's)`,
    );
    expect(r.stderr).toContain(
      "Account vault: …cccc (keychain only; reaches the W&B SDK only through `wandb-login exec`)",
    );
    const json = JSON.parse((await m.run(["status", "--json"])).stdout);
    expect(json.accounts.map((a: { name: string; active: boolean }) => [a.name, a.active])).toEqual([
      ["personal", false],
      ["work", true],
      ["vault", false],
    ]);
  });

  testIf(
    has("bash"),
    "bash completion",
    "bash not installed",
  )("bash offers account names after --account and switch", () => {
    const home = tempDir();
    const env = { WANDB_LOGIN_KEYCHAIN: "0" };
    for (const [name, key] of [
      ["personal", KEY40],
      ["work", KEY_V1],
    ])
      runCli(["--account", name, key], { home, env });
    const script = join(home, "complete.bash");
    writeFileSync(script, runCli(["completion", "bash"]).stdout);
    const offers = (line: string[]) => {
      const words = line.map((w) => `'${w}'`).join(" ");
      const program = `source ${script}; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _wandb_login; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = Bun.spawnSync(["bash", "-c", program], {
        env: { PATH: `${join(BIN, "..")}:${process.env.PATH}`, HOME: home, ...env },
        stdout: "pipe",
      });
      return r.stdout.toString().trim().split("\n").sort();
    };
    expect(offers(["wandb-login", "switch", ""])).toEqual(["personal", "work"]);
    expect(offers(["wandb-login", "exec", "--account", "w"])).toEqual(["work"]);
    expect(offers(["wandb-login", "switch", "--"])).toContain("--host");
  });
});

describe("exec: the key in the command's environment only", () => {
  /** A spawn that records what it was asked to run, and exits with `code`. */
  function recorder(code = 0) {
    const calls: { argv: string[]; env: Env }[] = [];
    const spawn = async (argv: string[], env: Env) => {
      calls.push({ argv, env });
      return code;
    };
    return { calls, spawn };
  }

  test("the chosen account's key, the host's URL off the cloud, no identity token file; its exit code", async () => {
    const m = machine();
    await m.run(["--host", "https://wandb.example.com", "--account", "work", KEY_V1]);
    const child = recorder(7);
    const env = { WANDB_IDENTITY_TOKEN_FILE: "/x", OTHER: "kept" };
    const r = await m.run(["exec", "--host", "https://wandb.example.com", "--", "python3", "-V"], env, child);
    expect(r.code).toBe(7);
    expect(child.calls[0].argv).toEqual(["python3", "-V"]);
    expect(child.calls[0].env).toMatchObject({
      WANDB_API_KEY: KEY_V1,
      WANDB_BASE_URL: "https://wandb.example.com",
      WANDB_IDENTITY_TOKEN_FILE: undefined,
      OTHER: "kept",
    });
    expect(r.stdout + r.stderr).toBe("");
  });

  test("the default order: WANDB_LOGIN_ACCOUNT, the active account, what token prints, a keychain-only key", async () => {
    const m = machine();
    const sent = async (env: Env = {}) => {
      const child = recorder();
      const r = await m.run(["exec", "--", "true"], env, child);
      return r.code === 0 ? child.calls[0].env.WANDB_API_KEY : r.stderr;
    };
    expect(await sent()).toContain("No API key configured");
    await m.run(["--keychain-only", KEY_C]);
    expect(await sent()).toBe(KEY_C);
    expect(await sent({ WANDB_API_KEY: KEY_B })).toBe(KEY_B);
    await m.run(["--account", "work", KEY_V1]);
    await m.run(["--account", "personal", KEY40]);
    expect(await sent({ WANDB_API_KEY: KEY_B })).toBe(KEY40); // the active account first
    expect(await sent({ WANDB_LOGIN_ACCOUNT: "work" })).toBe(KEY_V1);
    expect(await m.run(["exec", "--account", "nobody", "--", "true"], {}, recorder())).toMatchObject({
      code: 1,
    });
  });

  test.each([
    [["exec"], "runs what follows `--`"],
    [["exec", "--"], "runs what follows `--`"],
    [["exec", "python3"], "runs what follows `--`"],
    [["exec", "--json", "--", "true"], "--json is not an option of `wandb-login exec`"],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    const r = await machine().run(args, {}, recorder());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

describe("exec, through the binary: real commands", () => {
  const home = tempDir();
  writeFileSync(join(home, ".netrc"), entry("api.wandb.ai", KEY40));
  const env = { WANDB_LOGIN_KEYCHAIN: "0" };

  testIf(
    has("python3"),
    "exec into python3",
    "python3 not installed",
  )("the child sees the key; the key is in no argument", () => {
    const r = runCli(
      [
        "exec",
        "--",
        "python3",
        "-c",
        "import os,sys; print(os.environ['WANDB_API_KEY'][-4:], len(sys.argv))",
      ],
      {
        home,
        env,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("4567 1\n");
  });

  test.each([
    ["sh", ["-c", "exit 7"], 7],
    ["a signal (SIGTERM) kills it", ["-c", "kill -TERM $$"], 143],
    ["not found", null, 127],
    ["not runnable", "file", 126],
  ] as const)("its exit status: %s", (_, args, code) => {
    const script = join(home, "not-executable.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n");
    chmodSync(script, 0o644);
    const argv = args === null ? ["no-such-command-here"] : args === "file" ? [script] : ["sh", ...args];
    const r = runCli(["exec", "--", ...argv], { home, env });
    expect(r.code).toBe(code);
    if (code === 126 || code === 127) expect(r.stderr).toContain(`Cannot run ${argv[0]}`);
  });

  test("SIGTERM, SIGINT, SIGHUP, SIGQUIT sent to wandb-login reach the command", async () => {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const) {
      const mark = join(home, `got-${signal}`);
      const name = signal.slice(3);
      const script = `trap 'echo ${name} > ${mark}; exit 3' ${name}; echo ready; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`;
      const proc = Bun.spawn([BIN, "exec", "--", "sh", "-c", script], {
        env: { PATH: process.env.PATH ?? "", HOME: home, ...env },
        stdout: "pipe",
      });
      const reader = proc.stdout.getReader();
      await reader.read(); // "ready": the trap is set
      proc.kill(signal);
      expect([signal, await proc.exited]).toEqual([signal, 3]);
      expect(readFileSync(mark, "utf8").trim()).toBe(name);
    }
  });
});

const canKeyring = ["dbus-daemon", "gnome-keyring-daemon", "secret-tool", "gdbus"].every(has);
const withKeyring = testIf(
  canKeyring,
  "tests with a real Secret Service",
  "gnome-keyring, dbus or secret-tool missing",
);

describe("a real Secret Service (gnome-keyring on a private D-Bus, secret-tool as the judge)", () => {
  withKeyring(
    "the README's session: two accounts, switch, exec into python3, logout of one, keychain-only",
    async () => {
      const keyring = await startKeyring();
      try {
        const env = keyring.env;
        const cli = (args: string[]) => runCli(args, { home: env.HOME, env });
        expect(cli(["--account", "personal", KEY40]).code).toBe(0);
        expect(cli(["--account", "work", KEY_V1]).code).toBe(0);
        const lookup = (name: string) =>
          keyring.secretTool(["lookup", "service", "wandb-login", "account", `${CLOUD} ${name}`]).trim();
        expect([lookup("personal"), lookup("work")]).toEqual([KEY40, KEY_V1]);
        const listed = cli(["accounts"]);
        expect(listed.stdout).toContain("* work");
        expect(listed.stdout).toContain("OS keychain");
        expect(cli(["switch", "personal"]).code).toBe(0);
        expect(read(join(env.HOME, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
        const py = cli([
          "exec",
          "--account",
          "work",
          "--",
          "python3",
          "-c",
          "import os; print(os.environ['WANDB_API_KEY'][-4:])",
        ]);
        expect(py.stdout).toBe(`${KEY_V1.slice(-4)}\n`);
        expect(cli(["logout", "--account", "work"]).code).toBe(0);
        expect(lookup("work")).toBe("");
        expect(cli(["--keychain-only", "--account", "vault", KEY_C]).code).toBe(0);
        expect(lookup("vault")).toBe(KEY_C);
        expect(read(join(env.HOME, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
        expect(readFileSync(join(env.XDG_CONFIG_HOME, "wandb-login", "accounts.json"), "utf8")).not.toContain(
          KEY_C,
        );
      } finally {
        await keyring.stop();
      }
    },
  );

  withKeyring(
    "a locked keyring: an account goes to the file; --keychain-only is exit 1, nothing written",
    async () => {
      const keyring = await startKeyring({ locked: true });
      try {
        const env = keyring.env;
        const ok = runCli(["--account", "work", KEY40], { home: env.HOME, env });
        expect(ok.code).toBe(0);
        expect(ok.stderr).toContain("locked collection");
        const refused = runCli(["--keychain-only", "--host", "https://h.example", KEY_B], {
          home: env.HOME,
          env,
        });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("Cannot keep the key in the OS keychain");
        expect(read(join(env.HOME, ".netrc"))).toBe(entry("api.wandb.ai", KEY40));
      } finally {
        await keyring.stop();
      }
    },
  );

  withKeyring(
    "no session bus, a bus without a Secret Service, one that never answers: the file, within the timeout",
    async () => {
      const home = tempDir();
      const noBus = runCli(["--account", "work", KEY40], {
        home,
        env: { DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined },
      });
      expect(noBus.code).toBe(0);
      expect(noBus.stderr).toContain("in plain text");
      const bare = await startBusWithoutSecretService(); // a session bus, but nobody keeps secrets on it
      try {
        const r = runCli(["--account", "work", KEY40], { home: bare.env.HOME, env: bare.env });
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("org.freedesktop.secrets was not provided");
      } finally {
        await bare.stop();
      }
      const silent = await startSilentSecretService();
      try {
        const started = Date.now();
        const r = await runCliAsync(["--account", "work", KEY40], { home: silent.env.HOME, env: silent.env });
        const took = Date.now() - started;
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("did not answer within 5 s");
        expect(took).toBeLessThan(9000); // one wait of 5 s, not one per call, and no hang
      } finally {
        await silent.stop();
      }
    },
    30_000,
  );
});
