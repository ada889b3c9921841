// Test helper: a private Secret Service (dbus-daemon + gnome-keyring-daemon) for Bun.secrets tests.
// Debian packages: dbus, gnome-keyring, libsecret-1-0, libsecret-tools (secret-tool), libglib2.0-bin (gdbus).
//
//   const kr = await startKeyring();            // or { locked: true }
//   Bun.spawnSync([binary, ...], { env: kr.env });
//   kr.secretTool(["lookup", "service", "wandb-login", "account", "alice"]);
//   await kr.stop();
//
// Everything lives under one mkdtemp folder in /tmp (HOME, XDG_*, the bus socket), both daemons
// are children of the test process (no --start/--daemonize, so nothing is re-parented or left
// behind), and the bus has no service files, so nothing is ever auto-activated on it.
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface Keyring {
  /** The whole environment to give a child process (no DISPLAY, no WAYLAND_DISPLAY). */
  env: Record<string, string>;
  /** Runs secret-tool on this bus; stdout and stderr together. Throws when it fails with a message
   *  (a `lookup` that finds nothing is "" with exit 1, no throw). */
  secretTool(args: string[]): string;
  /** Stops every process this helper started and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface KeyringOptions {
  /** Lock the login collection after start. */
  locked?: boolean;
}

/** A bus with gnome-keyring's Secret Service on it: `login` collection unlocked (or locked). */
export async function startKeyring(options: KeyringOptions = {}): Promise<Keyring> {
  const session = await startSession();
  try {
    await startGnomeKeyring(session);
    if (options.locked) lockLogin(session);
    return session.keyring;
  } catch (e) {
    await session.keyring.stop();
    throw e;
  }
}

/**
 * A bus where org.freedesktop.secrets is owned but never answers: gnome-keyring-daemon is
 * started, then SIGSTOPped. A get fails only after ≈50 s ("Timeout was reached", 2 × 25 s).
 */
export async function startSilentSecretService(): Promise<Keyring> {
  const session = await startSession();
  try {
    const daemon = await startGnomeKeyring(session);
    daemon.kill("SIGSTOP");
    return session.keyring;
  } catch (e) {
    await session.keyring.stop();
    throw e;
  }
}

/** A bus with no Secret Service on it (and no activation): Bun.secrets fails at once. */
export async function startBusWithoutSecretService(): Promise<Keyring> {
  return (await startSession()).keyring;
}

// --- internal ---

interface Session {
  keyring: Keyring;
  env: Record<string, string>;
  dir: string;
  children: Subprocess[];
}

const LOGIN = "/org/freedesktop/secrets/collection/login";
const READY_TIMEOUT_MS = 5000;

async function startSession(): Promise<Session> {
  const dir = mkdtempSync("/tmp/wandb-keyring-");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: "C.UTF-8",
    HOME: join(dir, "home"),
    XDG_RUNTIME_DIR: join(dir, "run"),
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CACHE_HOME: join(dir, "cache"),
  };
  for (const sub of ["home", "run", "config", "data", "cache", "services"]) {
    mkdirSync(join(dir, sub), { mode: 0o700 });
  }
  const children: Subprocess[] = [];
  const session: Session = { env, dir, children, keyring: makeKeyring(dir, env, children) };
  try {
    const config = join(dir, "bus.conf");
    writeFileSync(config, busConfig(dir));
    const bus = spawnLogged(
      ["dbus-daemon", `--config-file=${config}`, "--nofork", "--print-address=1"],
      env,
      dir,
      "pipe",
    );
    children.push(bus);
    const stdout = bus.stdout as ReadableStream<Uint8Array>;
    env.DBUS_SESSION_BUS_ADDRESS = await firstLine(stdout, READY_TIMEOUT_MS, "dbus-daemon address");
    return session;
  } catch (e) {
    await session.keyring.stop();
    throw e;
  }
}

async function startGnomeKeyring(session: Session): Promise<Subprocess> {
  // --unlock reads the login password from stdin and creates the login keyring when missing.
  const command = ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"];
  const daemon = spawnLogged(command, session.env, session.dir, "log", "pipe");
  session.children.push(daemon);
  const stdin = daemon.stdin as import("bun").FileSink;
  stdin.write("test-password");
  await stdin.end();
  // Ask the bus first (a call to an unowned name could activate another daemon); the name is
  // owned before the login collection exists, so then wait for the `default` alias.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!secretsNameOwned(session.env) || readAlias(session.env) !== LOGIN) {
    if (daemon.exitCode !== null) throw new Error(`gnome-keyring-daemon exited ${daemon.exitCode}`);
    if (Date.now() > deadline) throw new Error("gnome-keyring-daemon: no unlocked login collection in 5 s");
    await Bun.sleep(20);
  }
  return daemon;
}

function lockLogin(session: Session): void {
  // Service.Lock needs no prompt in gnome-keyring; the reply is ([locked paths], prompt "/").
  const out = gdbus(session.env, "org.freedesktop.Secret.Service.Lock", `['${LOGIN}']`);
  if (!out.includes(LOGIN)) throw new Error(`could not lock the login collection: ${out}`);
}

function secretsNameOwned(env: Record<string, string>): boolean {
  const bus = ["--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus"];
  const method = ["--method", "org.freedesktop.DBus.NameHasOwner", "org.freedesktop.secrets"];
  const r = Bun.spawnSync(["gdbus", "call", "--session", ...bus, ...method], { env });
  return r.stdout.toString().includes("true");
}

function readAlias(env: Record<string, string>): string | undefined {
  const out = gdbus(env, "org.freedesktop.Secret.Service.ReadAlias", "default", false);
  return /objectpath '([^']+)'/.exec(out)?.[1];
}

function gdbus(env: Record<string, string>, method: string, arg: string, check = true): string {
  const args = [
    "call",
    "--session",
    "--dest",
    "org.freedesktop.secrets",
    "--object-path",
    "/org/freedesktop/secrets",
  ];
  const r = Bun.spawnSync(["gdbus", ...args, "--timeout", "2", "--method", method, arg], { env });
  if (check && r.exitCode !== 0) throw new Error(`gdbus ${method}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function makeKeyring(dir: string, env: Record<string, string>, children: Subprocess[]): Keyring {
  const secretTool = (args: string[]) => {
    // 2>&1: `search` prints the secret on stdout but the attribute lines on stderr.
    const command = ["sh", "-c", 'exec secret-tool "$@" 2>&1', "secret-tool", ...args];
    const r = Bun.spawnSync(command, { env, stdin: "ignore" });
    const out = r.stdout.toString();
    if (r.exitCode !== 0 && out.trim()) throw new Error(`secret-tool ${args[0]}: ${out.trim()}`);
    return out;
  };
  let stopped = false;
  // A test that throws or exits before stop() must not leave daemons behind.
  const onExit = () => {
    for (const child of children) {
      child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", onExit);
    // Keyring first, then the bus; SIGCONT so a stopped daemon can act on SIGTERM.
    for (const child of [...children].reverse()) await end(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { env, secretTool, stop };
}

async function end(child: Subprocess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGCONT");
  child.kill("SIGTERM");
  const gone = await Promise.race([child.exited.then(() => true), Bun.sleep(2000).then(() => false)]);
  if (!gone) {
    child.kill("SIGKILL");
    await child.exited;
  }
}

async function firstLine(stream: ReadableStream<Uint8Array>, ms: number, what: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), ms);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what}: no output within ${ms} ms`);
      text += decoder.decode(value, { stream: true });
    }
    return text.slice(0, text.indexOf("\n")).trim();
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

function spawnLogged(
  command: string[],
  env: Record<string, string>,
  dir: string,
  stdout: "pipe" | "log",
  stdin: "pipe" | "ignore" = "ignore",
): Subprocess {
  // Each child's output goes to <dir>/<program>.log, read when a start fails.
  const fd = openSync(join(dir, `${command[0]}.log`), "a");
  try {
    return Bun.spawn(command, { env, stdin, stdout: stdout === "pipe" ? "pipe" : fd, stderr: fd });
  } finally {
    closeSync(fd);
  }
}

function busConfig(dir: string): string {
  // A session bus listening in our folder; with only an empty service dir, nothing is activated.
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=${dir}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>${join(dir, "services")}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}
