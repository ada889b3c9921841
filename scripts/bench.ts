// npm run bench: whole-process wall time and peak memory of dist/wandb-login, as ratios against a
// bare Bun binary built with the same Bun and flags, measured in the same run, interleaved; then
// how store and lookup scale with the netrc's size, beside Python's netrc parsing the same file;
// then the download sizes of the release assets (after `npm run release`). Peak memory comes from
// /usr/bin/time (GNU time) where installed. Not a test: it prints each target and whether it held.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "./build";

const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const KEY = "0123456789abcdef0123456789abcdef01234567";
const BIN = "dist/wandb-login";
const BARE = "dist/bench/bare";
const HYPERFINE = Bun.which("hyperfine") !== null;
const HAS_TIME = existsSync("/usr/bin/time");
const PYTHON = Bun.which("python3");

mkdirSync("dist/bench", { recursive: true });
writeFileSync("dist/bench/bare.ts", 'console.log("x");\n');
build(BIN);
build(BARE, undefined, "dist/bench/bare.ts");

const api = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () =>
    Response.json({ data: { viewer: { id: "1", entity: "acme", username: "alice", teams: { edges: [] } } } }),
});
const home = mkdtempSync(join(tmpdir(), "wl-bench-"));
const env = { PATH: process.env.PATH!, HOME: home, NETRC: join(home, "netrc") };

interface Scenario {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  prepare?: [string, string]; // a file copied over another before each run
}

/** Wall times (ms) of `runs` runs: hyperfine -N where installed (no shell), else a spawn loop. */
async function wall(s: Scenario, runs: number): Promise<number[]> {
  const scenarioEnv = { ...env, ...s.env };
  if (!HYPERFINE) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (s.prepare) copyFileSync(...s.prepare);
      const started = performance.now();
      const proc = Bun.spawn(s.argv, { env: scenarioEnv, stdout: "ignore", stderr: "ignore" });
      if ((await proc.exited) !== 0) throw new Error(`${s.name} failed`);
      times.push(performance.now() - started);
    }
    return times;
  }
  const json = join(home, "hyperfine.json");
  const prepare = s.prepare ? ["--prepare", `cp ${s.prepare.join(" ")}`] : [];
  const args = [
    "-N",
    "--warmup",
    "1",
    "--runs",
    String(runs),
    ...prepare,
    "--export-json",
    json,
    s.argv.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" "), // hyperfine -N splits words, as a shell would
  ];
  const proc = Bun.spawn(["hyperfine", ...args], { env: scenarioEnv, stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0)
    throw new Error(`${s.name} failed: ${await new Response(proc.stderr).text()}`);
  return (await Bun.file(json).json()).results[0].times.map((t: number) => t * 1000);
}

/** Peak RSS in MB, from GNU time's %M (Bun's resourceUsage does not report the child's own peak). */
async function peakRss(s: Scenario): Promise<number> {
  if (!HAS_TIME) return Number.NaN;
  if (s.prepare) copyFileSync(...s.prepare);
  const proc = Bun.spawn(["/usr/bin/time", "-f", "%M", ...s.argv], {
    env: { ...env, ...s.env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const err = await new Response(proc.stderr).text();
  await proc.exited;
  return Number(err.trim().split("\n").at(-1)) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Medians of wall time and peak RSS, scenarios taking turns so a busy moment touches them all alike. */
async function measure(scenarios: Scenario[], runs: number, rounds: number) {
  const samples = scenarios.map(() => ({ ms: [] as number[], rss: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [j, s] of scenarios.entries()) {
      samples[j].ms.push(...(await wall(s, Math.ceil(runs / rounds))));
      samples[j].rss.push(await peakRss(s));
    }
  }
  return samples.map(({ ms, rss }) => ({ ms: median(ms), rss: median(rss), runs: ms.length }));
}

const check = (ok: boolean) => (ok ? "held" : "**missed**");
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

// --- start-up ---

const startup: (Scenario & { budget: number | "verify" })[] = [
  { name: "bare Bun binary", argv: [BARE], budget: 1 },
  { name: "--version", argv: [BIN, "--version"], budget: 2.0 },
  { name: "--help", argv: [BIN, "--help"], budget: 2.0 },
  // a key among the arguments also resets the crash signals (bun:ffi, ≈0.8 ms), so no crash report shows it
  { name: "store a key", argv: [BIN, KEY], budget: 3.0 },
  { name: "key already configured", argv: [BIN], env: { WANDB_API_KEY: KEY }, budget: 2.0 },
  {
    name: "--verify (loopback API)",
    argv: [BIN, "--verify", "--host", `http://127.0.0.1:${api.port}`, KEY],
    env: { WANDB_CONFIG_DIR: join(home, "verify") }, // its base_url must not become the other runs' host
    budget: "verify",
  },
];
const results = await measure(startup, RUNS, Math.ceil(RUNS / 2));
const [bare] = results;
const store = results[3];
console.log(
  `Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; ${bare.runs} runs of each, interleaved, by ${HYPERFINE ? "hyperfine -N" : "a spawn loop (no hyperfine installed)"}; peak RSS by ${HAS_TIME ? "GNU time" : "nothing (no /usr/bin/time)"}; medians\n`,
);
console.log("| run | wall | vs bare | peak RSS | vs bare | target | |");
console.log("|---|---|---|---|---|---|---|");
for (const [j, s] of startup.entries()) {
  const r = results[j];
  const ratio = r.ms / bare.ms;
  const [target, ok] =
    s.budget === "verify"
      ? [`≤ 1.5× store (${(r.ms / store.ms).toFixed(2)}×)`, r.ms <= 1.5 * store.ms]
      : [j === 0 ? "" : `≤ ${s.budget.toFixed(1)}x`, ratio <= s.budget];
  const rssRatio = (r.rss / bare.rss).toFixed(2);
  console.log(
    `| ${s.name} | ${ms(r.ms)} | ${ratio.toFixed(2)}x | ${r.rss.toFixed(1)} MB | ${rssRatio}x | ${target} | ${j ? check(ok) : ""} |`,
  );
}
api.stop(true);

// --- netrc size ---

/** A netrc of `entries` three-line entries for other hosts, or of about `bytes` bytes. */
function netrcFile(name: string, entries: number, bytes = 0): string {
  const path = join(home, name);
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; i < entries || size < bytes; i++) {
    const line = `machine host${i}.example.com\n  login user${i}\n  password ${(i * 7919).toString(16).padStart(40, "0")}\n`;
    lines.push(line);
    size += line.length;
  }
  writeFileSync(path, lines.join(""));
  return path;
}

const sizes = [
  { label: "10 entries", path: netrcFile("n10", 10), runs: 20 },
  { label: "1k entries", path: netrcFile("n1k", 1000), runs: 20 },
  { label: "100k entries", path: netrcFile("n100k", 100_000), runs: 3 },
  { label: "50 MB", path: netrcFile("n50m", 0, 50_000_000), runs: 3 },
];
console.log(
  `\nnetrc size: store a key (a new entry) and look it up (\`status\`), beside Python's \`netrc.netrc()\` parsing the same file (whole process); medians\n`,
);
console.log("| netrc | size | store | store RSS | lookup | lookup RSS | Python parse | Python RSS |");
console.log("|---|---|---|---|---|---|---|---|");
const scaling: { store: number; lookup: number; python: number; storeRss: number; bytes: number }[] = [];
for (const { label, path, runs } of sizes) {
  const work = `${path}.work`;
  const withOurs = `${path}.ours`; // what store leaves: the lookup finds its entry at the end
  writeFileSync(
    withOurs,
    `${readFileSync(path, "latin1")}machine api.wandb.ai\n  login user\n  password ${KEY}\n`,
  );
  const scenarios: Scenario[] = [
    { name: "store", argv: [BIN, KEY], env: { NETRC: work }, prepare: [path, work] },
    { name: "lookup", argv: [BIN, "status"], env: { NETRC: withOurs } },
  ];
  if (PYTHON)
    scenarios.push({
      name: "python",
      argv: [PYTHON, "-c", "import netrc,sys; netrc.netrc(sys.argv[1])", path],
    });
  copyFileSync(path, work);
  const [s, l, p] = await measure(scenarios, runs, 1);
  const bytes = statSync(path).size;
  scaling.push({ store: s.ms, lookup: l.ms, python: p?.ms ?? Number.NaN, storeRss: s.rss, bytes });
  const py = p ? `${ms(p.ms)} | ${p.rss.toFixed(1)} MB` : "no python3 | ";
  console.log(
    `| ${label} | ${(bytes / 1e6).toFixed(2)} MB | ${ms(s.ms)} | ${s.rss.toFixed(1)} MB | ${ms(l.ms)} | ${l.rss.toFixed(1)} MB | ${py} |`,
  );
}
const [ten, thousand, , big] = scaling;
const extra = (big.storeRss - bare.rss) / (big.bytes / 1e6);
console.log(
  `\n- 50 MB store ≤ Python's parse: ${ms(big.store)} vs ${ms(big.python)}, ${check(big.store <= big.python)}`,
);
console.log(
  `- 50 MB store peak RSS ≤ bare + 5 × size: ${extra.toFixed(2)} × size above bare, ${check(extra <= 5)}`,
);
console.log(
  `- 50 MB lookup ≤ half of Python's parse: ${ms(big.lookup)}, ${check(big.lookup <= big.python / 2)}`,
);
console.log(
  `- 1k entries store ≤ 1.2 × store on 10: ${(thousand.store / ten.store).toFixed(2)}×, ${check(thousand.store <= 1.2 * ten.store)}`,
);

// --- download sizes ---

const release = "dist/release";
const assets = existsSync(release)
  ? readdirSync(release).filter((f) => !/\.(gz|xz)$|SHA256SUMS/.test(f))
  : [];
if (assets.length === 0) console.log("\nDownload sizes: run `npm run release` first.");
else {
  console.log("\n| asset | raw | .gz | .xz |\n|---|---|---|---|");
  const mb = (f: string) => (existsSync(f) ? `${(statSync(f).size / 1e6).toFixed(1)} MB` : "–");
  for (const name of assets.sort()) {
    const file = join(release, name);
    console.log(`| ${name} | ${mb(file)} | ${mb(`${file}.gz`)} | ${mb(`${file}.xz`)} |`);
  }
}
