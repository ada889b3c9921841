// Compiles login.ts into dist/wandb-login, and fails loudly where `bun build` only complains.
// Usage: bun scripts/build.ts [--target=bun-linux-x64 --outfile=dist/release/name]
import pkg from "../package.json";
import { renderTexts } from "./texts";

const FLAGS = [
  "--compile",
  "--production",
  "--minify",
  "--bytecode",
  "--format=esm", // without esm, bytecode fails (consola uses import.meta) and bun still exits 0
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig", // the user's .env must never leak in
  "--compile-jit-policy=10", // a one-shot CLI gains nothing from early JIT tiers: ≈1 MB less peak memory
  `--define=WANDB_LOGIN_VERSION=${JSON.stringify(pkg.version)}`,
];

export function build(outfile: string, target?: string, entry = "login.ts"): void {
  // every help page and completion script, rendered once here: the binary only prints them
  const baked =
    entry === "login.ts" ? [`--define=WANDB_LOGIN_TEXTS=${JSON.stringify(renderTexts(pkg.version))}`] : [];
  const args = [
    "build",
    entry,
    ...FLAGS,
    ...baked,
    ...(target ? [`--target=${target}`] : []),
    `--outfile=${outfile}`,
  ];
  const proc = Bun.spawnSync([process.execPath, ...args], { stdout: "pipe", stderr: "pipe" });
  const output = proc.stdout.toString() + proc.stderr.toString();
  if (proc.exitCode !== 0 || /error|failed/i.test(output)) {
    console.error(output);
    throw new Error(`bun build ${target ?? "native"} failed`);
  }
  if (!target && entry === "login.ts") smokeTest(outfile);
}

/** The native binary must start and report the version it was built with. */
export function smokeTest(binary: string): void {
  const proc = Bun.spawnSync([binary, "--version"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH },
  });
  const version = proc.stdout.toString().trim();
  if (proc.exitCode !== 0 || version !== pkg.version) {
    throw new Error(
      `${binary} --version gave ${JSON.stringify(version)} (exit ${proc.exitCode}): ${proc.stderr}`,
    );
  }
}

if (import.meta.main) {
  const opt = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  build(opt("outfile") ?? "dist/wandb-login", opt("target"));
}
