// npm run bench: whole-process wall time and peak memory of dist/wandb-login, each row as a ratio
// against a bare Bun binary built with the same Bun and flags, measured in the same run,
// interleaved, with the target beside it; "floor" programs for what the design cannot avoid (the
// netrc write alone; node:fs and consola with one line, and with the write); then how a store and
// a lookup scale with the netrc's size (plain, off the fast path, broken), beside the floor of
// reading and rewriting that file and Python's netrc parsing it; then the release's download sizes (after `npm run
// release`). Every binary is measured in the same page-cache state, said in the output. Not a
// test: it prints each target and whether it held, and writes dist/bench/results.json.
// `bun scripts/bench.ts --readme` (npm run bench:readme) prints the tables of docs/performance.md from
// that JSON.
// BENCH_RUNS (default 100) sets the runs of each start-up row; 10 gives a quick look.
// BENCH_CACHE=pre-read: pre-read each binary instead of dropping the page cache (where allowed).
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "./build";

const RESULTS = "dist/bench/results.json";
const KEY = "0123456789abcdef0123456789abcdef01234567";
const ENTRY = `machine api.wandb.ai\n  login user\n  password ${KEY}\n`;

// --- what a run of the bench leaves in results.json ---

interface Target {
  ratio?: number; // ≤ this × bare Bun's wall
  ms?: number; // ≤ this wall
  mb?: number; // ≤ this peak RSS
}
interface Row {
  name: string;
  ms: number;
  rss: number; // MB
  runs: number;
  exit?: number; // when it is not 0
  target?: Target;
  held?: boolean;
  note?: string;
}
interface ScalingRow {
  name: string;
  bytes: number;
  store: Row;
  floor?: Row; // read the file, write it back with our entry, fsync, rename
  lookup: Row;
  python: Row | null;
}
interface Results {
  date: string;
  bun: string;
  cores: number;
  runs: number;
  timer: string;
  cache: string;
  python: string | null;
  startup: Row[];
  scaling: ScalingRow[];
  checks: { text: string; held: boolean }[];
  downloads: { asset: string; raw: number; gz: number | null; xz: number | null }[];
}

// --- the markdown, from results alone (also for --readme) ---

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
const mb = (x: number) => `${x.toFixed(1)} MB`;
const check = (ok: boolean) => (ok ? "held" : "**missed**");

/** A markdown table with its columns padded, as docs/performance.md keeps them. */
function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i])).join(" | ")} |`;
  return [line(head), line(width.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function targetText(t: Target | undefined, row: Row): string {
  if (!t) return "";
  const parts = [
    t.ratio !== undefined ? `≤ ${t.ratio.toFixed(2)}×` : "",
    t.ms !== undefined ? `≤ ${ms(t.ms)}` : "",
    t.mb !== undefined ? `≤ ${t.mb} MB peak` : "",
  ].filter(Boolean);
  return `${parts.join(", ")} ${check(Boolean(row.held))}`;
}

function render(r: Results): string {
  const bare = r.startup.find((s) => s.name === "bare Bun binary")!;
  const out: string[] = [];
  out.push(
    `Bun ${r.bun}, ${r.cores} cores, ${r.date}; ${bare.runs} runs of each start-up row, interleaved, timed by ${r.timer}; peak RSS by GNU time; page cache: ${r.cache}; Python: ${r.python ?? "none"}; medians.`,
    "",
    table(
      ["run", "wall", "vs bare", "target", "peak RSS", "vs bare"],
      r.startup.map((s) => [
        s.name,
        ms(s.ms),
        `${(s.ms / bare.ms).toFixed(2)}×`,
        s.note ?? targetText(s.target, s),
        mb(s.rss),
        `${(s.rss / bare.rss).toFixed(2)}×`,
      ]),
    ),
    "",
    table(
      [
        "netrc",
        "size",
        "store",
        "store RSS",
        "target",
        "floor: read, write, fsync, rename",
        "lookup (`status`)",
        "lookup RSS",
        "Python `netrc` parse",
        "Python RSS",
      ],
      r.scaling.map((s) => [
        s.name,
        `${(s.bytes / 1e6).toFixed(2)} MB`,
        ms(s.store.ms),
        mb(s.store.rss),
        targetText(s.store.target, s.store),
        s.floor ? ms(s.floor.ms) : "–",
        `${ms(s.lookup.ms)}${s.lookup.exit ? ` (exit ${s.lookup.exit})` : ""}`,
        mb(s.lookup.rss),
        s.python ? `${ms(s.python.ms)}${s.python.runs === 1 ? " (1 run)" : ""}` : "–",
        s.python ? mb(s.python.rss) : "–",
      ]),
    ),
    "",
    ...r.checks.map((c) => `- ${c.text}: ${check(c.held)}`),
  );
  if (r.downloads.length) {
    const size = (x: number | null) => (x === null ? "–" : `${(x / 1e6).toFixed(1)} MB`);
    out.push(
      "",
      table(
        ["asset", "raw", ".gz", ".xz"],
        r.downloads.map((d) => [d.asset, size(d.raw), size(d.gz), size(d.xz)]),
      ),
    );
  } else out.push("", "Download sizes: run `npm run release` first.");
  return out.join("\n");
}

if (process.argv.includes("--readme")) {
  if (!existsSync(RESULTS)) throw new Error(`${RESULTS} not found: run \`npm run bench\` first`);
  console.log(render(JSON.parse(readFileSync(RESULTS, "utf8"))));
  process.exit(0);
}

// --- set-up ---

const RUNS = Math.max(2, Number(process.env.BENCH_RUNS ?? 100));
const BIN = "dist/wandb-login";
const BARE = "dist/bench/bare";
const FLOOR = "dist/bench/floor";
const FLOOR_READ = "dist/bench/floor-read";
const FLOOR_STORE = "dist/bench/floor-store";
const FLOOR_BIG = "dist/bench/floor-big";
const HAS_TIME = existsSync("/usr/bin/time");
if (!HAS_TIME) console.error("no /usr/bin/time (GNU time): peak RSS is not measured");

/** Python's interpreter itself: pyenv's `python3` is a bash shim that adds ≈0.2 s to every run. */
function realPython(): string | null {
  if (!Bun.which("python3")) return null;
  const proc = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stderr: "ignore" });
  const path = proc.stdout.toString().trim();
  return proc.exitCode === 0 && path && existsSync(path) ? path : null;
}
const PYTHON = realPython();

mkdirSync("dist/bench", { recursive: true });
writeFileSync("dist/bench/bare.ts", 'console.log("x");\n');
// The floors: what the design cannot avoid. The netrc write alone; node:fs (sync file I/O) and
// consola (output), the design card's, with one line, and with the write; a large file read back
// and rewritten.
const FS_IMPORTS = `import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";`;
const LOGGER = `const { createConsola, LogTypes } = require("consola/core");
const { info, success, warn, error } = LogTypes;
const reporters = [{ log: (e) => writeSync(2, \`wandb: \${e.args.join(" ")}\\n\`) }];
const log = createConsola({ reporters, level: 3, throttle: 0, types: { info, success, warn, error } });`;
const netrcWrite = (before = "") => `const netrc = process.env.NETRC!;
const temp = \`\${netrc}.tmp-\${process.pid}\`;
const fd = openSync(temp, "wx", 0o600);
${before}writeSync(fd, ${JSON.stringify(ENTRY)});
fsyncSync(fd);
closeSync(fd);
renameSync(temp, netrc);
`;
const floors: Record<string, string> = {
  [FLOOR]: netrcWrite(),
  [FLOOR_READ]: `${LOGGER}
if (!existsSync(process.env.HOME + "/.netrc")) log.info("W&B API key is configured (from WANDB_API_KEY).");\n`,
  [FLOOR_STORE]: `${LOGGER}\n${netrcWrite()}log.info("Stored the API key for https://api.wandb.ai.");\n`,
  [FLOOR_BIG]: netrcWrite("writeSync(fd, readFileSync(netrc));\n"),
};
build(BIN);
build(BARE, undefined, "dist/bench/bare.ts");
for (const [binary, body] of Object.entries(floors)) {
  writeFileSync(`${binary}.ts`, `${FS_IMPORTS}\n${body}`);
  build(binary, undefined, `${binary}.ts`);
}

const api = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () =>
    Response.json({ data: { viewer: { id: "1", entity: "acme", username: "alice", teams: { edges: [] } } } }),
});
const home = mkdtempSync(join(tmpdir(), "wl-bench-"));
const env = { PATH: process.env.PATH!, HOME: home, NETRC: join(home, "netrc") };

// --- page cache: every binary in the same state ---

/** Drops the clean pages of the page cache where allowed (root with a writable /proc/sys/vm). */
function dropCaches(): boolean {
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "1\n");
    return true;
  } catch {
    return false;
  }
}
Bun.spawnSync(["sync"]); // the binaries just built are dirty pages, which no drop evicts
// BENCH_CACHE=pre-read keeps a shared machine's page cache: the drop is machine-wide
const DROP = process.env.BENCH_CACHE !== "pre-read" && dropCaches();
const CACHE = DROP
  ? "dropped (/proc/sys/vm/drop_caches) before each binary's runs, then one untimed run"
  : `each binary's file read fully right before its runs (${process.env.BENCH_CACHE === "pre-read" ? "BENCH_CACHE=pre-read" : "/proc/sys/vm/drop_caches is not writable here"})`;
const chunk = new Uint8Array(1 << 22);

/** Reads a file to its end, so that all of it is in the page cache. */
function preRead(path: string): void {
  const fd = openSync(path, "r");
  try {
    while (readSync(fd, chunk) > 0) {}
  } finally {
    closeSync(fd);
  }
}

// --- measuring ---

interface Scenario {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  prepare?: [string, string]; // a file copied over another before each run
  exit?: number; // the exit code it is expected to end with (default 0)
  long?: string[]; // runs of seconds: wall and peak RSS from the same run, after this warm-up command
}

/** One whole-process run (no shell): wall ms, and peak RSS in MB when `timed` by GNU time. */
async function once(s: Scenario, timed = false): Promise<{ ms: number; rss: number }> {
  if (s.prepare) copyFileSync(...s.prepare);
  const argv = timed ? ["/usr/bin/time", "-f", "%M", ...s.argv] : s.argv;
  const started = performance.now();
  const proc = Bun.spawn(argv, {
    env: { ...env, ...s.env },
    stdout: "ignore",
    stderr: timed ? "pipe" : "ignore",
  });
  const err = timed ? await new Response(proc.stderr).text() : "";
  const code = await proc.exited;
  const elapsed = performance.now() - started;
  if (code !== (s.exit ?? 0)) throw new Error(`${s.name}: exit ${code}`);
  // GNU time's %M: Bun's resourceUsage does not report the child's own peak
  return { ms: elapsed, rss: timed ? Number(err.trim().split("\n").at(-1)) / 1024 : Number.NaN };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Medians of wall time and peak RSS over `runs` runs of each scenario, taking turns in `rounds`
 * rounds so that a busy moment touches them all alike; each turn starts from the same cache state.
 */
async function measure(scenarios: Scenario[], runs: number, rounds: number): Promise<Row[]> {
  const samples = scenarios.map(() => ({ ms: [] as number[], rss: [] as number[] }));
  const perRound = Math.ceil(runs / rounds);
  for (let round = 0; round < rounds; round++) {
    for (const [j, s] of scenarios.entries()) {
      if (DROP) {
        dropCaches();
        await once(s.long ? { ...s, argv: s.long, exit: 0 } : s);
      } else preRead(s.argv[0]);
      for (let i = 0; i < perRound; i++) {
        const run = await once(s, Boolean(s.long) && HAS_TIME);
        samples[j].ms.push(run.ms);
        if (s.long) samples[j].rss.push(run.rss);
      }
      if (!s.long) samples[j].rss.push(HAS_TIME ? (await once(s, true)).rss : Number.NaN);
    }
  }
  return scenarios.map((s, j) => ({
    name: s.name,
    ms: median(samples[j].ms),
    rss: median(samples[j].rss),
    runs: samples[j].ms.length,
    ...(s.exit ? { exit: s.exit } : {}),
  }));
}

// --- start-up ---

const netrcWithKey = join(home, "netrc.key"); // our entry alone: what status reads, what logout removes
writeFileSync(netrcWithKey, ENTRY);
const startup: (Scenario & { target?: Target; note?: string })[] = [
  { name: "bare Bun binary", argv: [BARE] },
  { name: "spawn and wait: /bin/true", argv: ["/bin/true"], note: "the timer's own cost" },
  {
    name: "floor: netrc write only",
    argv: [FLOOR],
    env: { NETRC: join(home, "floor") },
    note: "open temp, write, fsync, rename",
  },
  {
    name: "floor: node:fs, consola, one line",
    argv: [FLOOR_READ],
    note: "what a run that looks for a file and says so cannot avoid",
  },
  {
    name: "floor: node:fs, consola, netrc write",
    argv: [FLOOR_STORE],
    env: { NETRC: join(home, "floor-store") },
    note: "what a store cannot avoid",
  },
  { name: "--help", argv: [BIN, "--help"], target: { ratio: 1.1 } },
  { name: "--version", argv: [BIN, "--version"], target: { ratio: 1.1 } },
  {
    name: "store a KEY",
    argv: [BIN, KEY],
    env: { NETRC: join(home, "store") },
    prepare: [netrcWithKey, join(home, "store")],
    target: { ratio: 1.8 },
  },
  { name: "key from WANDB_API_KEY", argv: [BIN], env: { WANDB_API_KEY: KEY }, target: { ratio: 1.5 } },
  { name: "status", argv: [BIN, "status"], env: { NETRC: netrcWithKey }, target: { ratio: 1.6 } },
  {
    name: "status --json",
    argv: [BIN, "status", "--json"],
    env: { NETRC: netrcWithKey },
    target: { ratio: 1.7 },
  },
  {
    name: "logout",
    argv: [BIN, "logout"],
    env: { NETRC: join(home, "logout") },
    prepare: [netrcWithKey, join(home, "logout")],
    target: { ratio: 1.8 },
  },
  {
    name: "--verify (loopback Bun.serve)",
    argv: [BIN, "--verify", "--host", `http://127.0.0.1:${api.port}`, KEY],
    // its own netrc and settings: its base_url must not become the other runs' host
    env: { NETRC: join(home, "verify-netrc"), WANDB_CONFIG_DIR: join(home, "verify") },
    target: { ratio: 2.5 },
  },
];
const startupRows = await measure(startup, RUNS, Math.ceil(RUNS / 2));
const bare = startupRows[0];
for (const [j, row] of startupRows.entries()) {
  const { target, note } = startup[j];
  if (note) row.note = note;
  if (target?.ratio !== undefined) Object.assign(row, { target, held: row.ms <= target.ratio * bare.ms });
}
api.stop(true);

// --- netrc size ---

/** Netrc text of `entries` three-line entries for other hosts, or of about `bytes` bytes. */
function netrcLines(entries: number, bytes = 0): string[] {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; i < entries || size < bytes; i++) {
    const line = `machine host${i}.example.com\n  login user${i}\n  password ${(i * 7919).toString(16).padStart(40, "0")}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines;
}
/** `lines` with `extra` put in the middle: the harder place, half the file on either side. */
const withMiddle = (lines: string[], extra: string) => {
  const mid = lines.length >> 1;
  return [...lines.slice(0, mid), extra, ...lines.slice(mid)];
};

const SMALL = Math.min(20, RUNS);
const BIG = Math.max(1, Math.min(3, Math.round(RUNS / 10)));
const big = netrcLines(0, 50_000_000);
const files: { name: string; lines: string[]; runs: number; target?: Target }[] = [
  { name: "10 entries", lines: netrcLines(10), runs: SMALL },
  { name: "1k entries", lines: netrcLines(1000), runs: SMALL },
  { name: "100k entries", lines: netrcLines(100_000), runs: BIG },
  { name: "50 MB, plain", lines: big, runs: BIG, target: { ms: 200 } },
  {
    name: "50 MB, a comment mid-file (lexer)",
    lines: withMiddle(big, "# a comment\n"),
    runs: BIG,
    target: { ms: 450 },
  },
  {
    name: "50 MB, a bad token mid-file",
    lines: withMiddle(big, "garbage\n"),
    runs: BIG,
    target: { ms: 1000, mb: 300 },
  },
];
const PY_PARSE = "import netrc,sys\ntry: netrc.netrc(sys.argv[1])\nexcept netrc.NetrcParseError: pass";
const scaling: ScalingRow[] = [];
for (const [i, f] of files.entries()) {
  const path = join(home, `n${i}`);
  const text = f.lines.join("");
  writeFileSync(path, text);
  const withOurs = `${path}.ours`; // what a store leaves: the lookup finds its entry at the end
  writeFileSync(withOurs, `${text}${ENTRY}`);
  const broken = f.name.includes("bad token");
  const scenarios: Scenario[] = [
    {
      name: `store in ${f.name}`,
      argv: [BIN, KEY],
      env: { NETRC: `${path}.work` },
      prepare: [path, `${path}.work`],
    },
    // past a bad token Python sees no entry, so neither does status: exit 1 is the right answer
    { name: `lookup in ${f.name}`, argv: [BIN, "status"], env: { NETRC: withOurs }, exit: broken ? 1 : 0 },
    {
      name: `floor for ${f.name}`,
      argv: [FLOOR_BIG],
      env: { NETRC: `${path}.floor` },
      prepare: [path, `${path}.floor`],
    },
  ];
  const [store, lookup, floor] = await measure(scenarios, f.runs, f.runs);
  if (f.target)
    Object.assign(store, {
      target: f.target,
      held:
        (f.target.ms === undefined || store.ms <= f.target.ms) &&
        (f.target.mb === undefined || store.rss <= f.target.mb),
    });
  // Python's parse of a 50 MB file takes seconds: one run is enough beside ours
  const py = PYTHON
    ? {
        name: `Python parse of ${f.name}`,
        argv: [PYTHON, "-c", PY_PARSE, path],
        long: [PYTHON, "-c", "import netrc"],
      }
    : null;
  const [python] = py ? await measure([py], text.length > 1e6 ? 1 : f.runs, 1) : [null];
  scaling.push({ name: f.name, bytes: text.length, store, floor, lookup, python });
}
const [ten, thousand, , plain] = scaling;
const aboveBare = (plain.store.rss - bare.rss) / (plain.bytes / 1e6);
const checks = [
  {
    text: `1k entries store ≤ 1.2 × a store in 10 entries (${(thousand.store.ms / ten.store.ms).toFixed(2)}×)`,
    held: thousand.store.ms <= 1.2 * ten.store.ms,
  },
  {
    text: `50 MB plain store peak RSS ≤ bare + 5 × the file's size (${aboveBare.toFixed(2)} ×)`,
    held: aboveBare <= 5,
  },
  ...(plain.python
    ? [
        {
          text: `50 MB lookup ≤ half of Python's parse (${ms(plain.lookup.ms)} vs ${ms(plain.python.ms)})`,
          held: plain.lookup.ms <= plain.python.ms / 2,
        },
      ]
    : []),
];
const targeted = [...startupRows, ...scaling.map((s) => s.store)].filter((r) => r.target);
const missed = targeted.filter((r) => !r.held).map((r) => r.name);
checks.unshift({
  text: `targets held: ${targeted.length - missed.length} of ${targeted.length}${missed.length ? ` (missed: ${missed.join(", ")})` : ""}`,
  held: missed.length === 0,
});

// --- download sizes ---

const release = "dist/release";
const assets = existsSync(release)
  ? readdirSync(release).filter((f) => !/\.(gz|xz)$|SHA256SUMS/.test(f))
  : [];
const sizeOf = (f: string) => (existsSync(f) ? statSync(f).size : null);
const downloads = assets.sort().map((asset) => {
  const file = join(release, asset);
  return { asset, raw: statSync(file).size, gz: sizeOf(`${file}.gz`), xz: sizeOf(`${file}.xz`) };
});

const results: Results = {
  date: new Date().toISOString().slice(0, 10),
  bun: Bun.version,
  cores: navigator.hardwareConcurrency,
  runs: RUNS,
  timer: "a Bun.spawn loop (performance.now around spawn and exit)",
  cache: CACHE,
  python: PYTHON,
  startup: startupRows,
  scaling,
  checks,
  downloads,
};
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(render(results));
console.log(`\n(${RESULTS}; \`npm run bench:readme\` prints these tables again from it)`);
