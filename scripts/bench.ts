// npm run bench: whole-process wall time and peak memory of dist/wandb-login, as ratios against a
// bare Bun binary built with the same Bun and flags, measured in the same run, interleaved.
// Peak memory comes from /usr/bin/time (GNU time) where installed. Not a test: nothing here
// passes or fails on a number.
import { mkdtempSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "./build";

const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const KEY = "0123456789abcdef0123456789abcdef01234567";
const BIN = "dist/wandb-login";
const BARE = "dist/bench/bare";

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
  budget: string;
}
const scenarios: Scenario[] = [
  { name: "bare Bun binary", argv: [BARE], budget: "" },
  { name: "--help", argv: [BIN, "--help"], budget: "≤ 2.0x" },
  { name: "store a key", argv: [BIN, KEY], budget: "≤ 2.5x" },
  { name: "key already configured", argv: [BIN], env: { WANDB_API_KEY: KEY }, budget: "≤ 2.0x" },
  {
    name: "--verify (loopback API)",
    argv: [BIN, "--verify", "--host", `http://127.0.0.1:${api.port}`, KEY],
    budget: "≤ store + 10 ms",
  },
];

/** Wall times (ms) of `runs` runs: hyperfine -N where installed (no shell), else a spawn loop. */
async function wall(s: Scenario, runs: number): Promise<number[]> {
  const scenarioEnv = { ...env, ...s.env };
  if (!HYPERFINE) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const proc = Bun.spawn(s.argv, { env: scenarioEnv, stdout: "ignore", stderr: "ignore" });
      if ((await proc.exited) !== 0) throw new Error(`${s.name} failed`);
      times.push(performance.now() - started);
    }
    return times;
  }
  const json = join(home, "hyperfine.json");
  const proc = Bun.spawn(
    ["hyperfine", "-N", "--warmup", "1", "--runs", String(runs), "--export-json", json, s.argv.join(" ")],
    { env: scenarioEnv, stdout: "ignore", stderr: "pipe" },
  );
  if ((await proc.exited) !== 0)
    throw new Error(`${s.name} failed: ${await new Response(proc.stderr).text()}`);
  return (await Bun.file(json).json()).results[0].times.map((t: number) => t * 1000);
}

/** Peak RSS in MB, from GNU time's %M (Bun's resourceUsage does not report the child's own peak). */
async function peakRss(s: Scenario): Promise<number> {
  const proc = Bun.spawn(["/usr/bin/time", "-f", "%M", ...s.argv], {
    env: { ...env, ...s.env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const err = await new Response(proc.stderr).text();
  await proc.exited;
  return Number(err.trim().split("\n").at(-1)) / 1024;
}

const HYPERFINE = Bun.which("hyperfine") !== null;
const HAS_TIME = await Bun.file("/usr/bin/time").exists();
const ROUNDS = Math.ceil(RUNS / 2); // scenarios take turns, two runs at a time, so a busy moment touches them all alike
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = scenarios.map(() => ({ ms: [] as number[], rss: [] as number[] }));
for (let round = 0; round < ROUNDS; round++) {
  for (const [j, s] of scenarios.entries()) {
    samples[j].ms.push(...(await wall(s, Math.ceil(RUNS / ROUNDS))));
    if (HAS_TIME) samples[j].rss.push(await peakRss(s));
  }
}
api.stop(true);

const bare = { ms: median(samples[0].ms), rss: median(samples[0].rss) };
const store = median(samples[2].ms),
  verify = median(samples[4].ms);
console.log(
  `Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; ${samples[0].ms.length} runs of each, in ${ROUNDS} interleaved rounds, measured by ${HYPERFINE ? "hyperfine -N" : "a spawn loop (no hyperfine installed)"}; peak RSS by ${HAS_TIME ? "GNU time" : "nothing (no /usr/bin/time)"}; medians`,
);
console.log("| run | wall | vs bare | peak RSS | vs bare | budget |");
console.log("|---|---|---|---|---|---|");
for (const [j, s] of scenarios.entries()) {
  const ms = median(samples[j].ms),
    rss = median(samples[j].rss);
  console.log(
    `| ${s.name} | ${ms.toFixed(1)} ms | ${(ms / bare.ms).toFixed(2)}x | ${rss.toFixed(1)} MB | ${(rss / bare.rss).toFixed(2)}x | ${s.budget} |`,
  );
}
console.log(`--verify minus store: ${(verify - store).toFixed(1)} ms (budget ≤ 10 ms)`);
console.log(`binary size: ${(statSync(BIN).size / 1e6).toFixed(1)} MB`);
