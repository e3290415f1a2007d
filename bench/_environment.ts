// What every benchmark prints before its figures, and the rules its ratios obey: the machine (CPU, vector flags,
// cores, peak fp32 FLOP/s from bench/_peak_flops.c), what the PyTorch baseline ran on (bench/_baseline.py), the load
// average, and the CPU time other processes took during the run. A ratio is withheld, with the reason, when the
// baseline runs on the reference BLAS or is far below the machine's peak, when the machine was busy at the start, or
// when other processes took a share of the cores while it ran: each of those has produced figures that flattered us.
// The benchmarks read /proc, so they run with -A.

import { join } from "node:path";
import { PYTHON, torchBaseline } from "./_torch.ts";

/** The PyTorch baseline as bench/_baseline.py reports it. */
export interface Baseline {
  torch: string;
  blas_built: string;
  blas_library: string | null;
  blas: string;
  blas_threads: number | null;
  torch_threads: number;
  matmul_gflops: number;
}

/** Other processes may take this many cores' worth of CPU time on average before ratios are withheld. */
const NOISE_CORES = 0.25;
/** A baseline whose 2048^3 matmul reaches less than this fraction of peak is broken (the reference BLAS: ~1%). */
const SLOW_BASELINE = 0.05;

/** Busy jiffies of the machine (all but idle, iowait and steal) and of this process with its waited children. */
function cpuTicks(): { machine: number; ours: number } {
  const [, ...fields] = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq] = fields.map(Number);
  // /proc/self/stat: the fields after the command's closing parenthesis; utime is the 12th of them
  const self = Deno.readTextFileSync("/proc/self/stat");
  const after = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number);
  const [utime, stime, cutime, cstime] = after.slice(11, 15);
  return { machine: user + nice + system + irq + softirq, ours: utime + stime + cutime + cstime };
}

/** The peak fp32 FLOP/s of all cores as the FMA loop measures it (best of two), or why there is none. */
async function peakGflops(): Promise<number | string> {
  const source = new URL("./_peak_flops.c", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "sae-peak-" });
  try {
    const binary = join(dir, "peak");
    const cc = Deno.env.get("CC") ?? "gcc";
    const built = await new Deno.Command(cc, {
      args: ["-O3", "-march=native", "-pthread", source, "-o", binary],
      stderr: "piped",
    }).output().catch((e: Error) => e);
    if (built instanceof Error || !built.success) return `n/a (no C compiler ${cc}: apt install gcc)`;
    let best = 0;
    for (let i = 0; i < 2; i++) {
      const out = await new Deno.Command(binary, { stdout: "piped" }).output();
      best = Math.max(best, JSON.parse(new TextDecoder().decode(out.stdout)).gflops);
    }
    return best;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The CPU's model name and the vector extensions a GEMM uses. */
function cpuModel(): { name: string; vectors: string[] } {
  const info = Deno.readTextFileSync("/proc/cpuinfo");
  const name = info.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  const family = info.match(/^cpu family\s*:\s*(\d+)$/m)?.[1];
  const flags = new Set(info.match(/^flags\s*:\s*(.*)$/m)?.[1].split(" ") ?? []);
  const vectors = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile"].filter((f) => flags.has(f));
  return { name: family ? `${name} (family ${family})` : name, vectors };
}

/**
 * Why no ratio of a run may stand, as known at its start: a 1-minute load average over the core count, a baseline on
 * the reference BLAS, or one whose matmul is under 5% of the machine's peak.
 *
 * @param baseline bench/_baseline.py's report, or why there is none (no ratio is printed then anyway).
 * @param peak The machine's peak GFLOP/s, or why it is unknown.
 * @param load The 1-minute load average at the start.
 * @param cores The machine's cores.
 */
export function startProblems(
  baseline: Baseline | string,
  peak: number | string,
  load: number,
  cores: number,
): string[] {
  const problems: string[] = [];
  if (load > cores) problems.push(`the load average was ${load.toFixed(2)} at the start, over the ${cores} cores`);
  if (typeof baseline === "string") return problems;
  if (baseline.blas === "reference") {
    problems.push(`PyTorch runs on the reference BLAS (${baseline.blas_library}): install libopenblas0-pthread`);
  } else if (typeof peak === "number" && baseline.matmul_gflops < SLOW_BASELINE * peak) {
    problems.push(
      `PyTorch's matmul reaches ${baseline.matmul_gflops.toFixed(1)} GFLOP/s, under ${
        SLOW_BASELINE * 100
      }% of the peak: a broken baseline`,
    );
  }
  return problems;
}

/**
 * The run's environment, measured at its start. `ratio()` gives each line's ratio or why it is withheld;
 * `achieved()` a rate of work as FLOP/s and a fraction of peak; `end()` prints the closing load figures.
 */
export class BenchEnvironment {
  readonly cores: number = navigator.hardwareConcurrency || 1;
  readonly startLoad: number[] = Deno.loadavg();
  readonly #start = { ticks: cpuTicks(), at: performance.now() };
  readonly #withheld: string[] = [];

  private constructor(
    readonly cpu: { name: string; vectors: string[] },
    readonly peak: number | string,
    readonly baseline: Baseline | string,
  ) {
    this.#withheld.push(...startProblems(baseline, peak, this.startLoad[0], this.cores));
  }

  /** Measures the machine and the baseline; call before any timed work. */
  static async measure(): Promise<BenchEnvironment> {
    const [peak, baseline] = await Promise.all([peakGflops(), torchBaseline<Baseline>("_baseline.py", [])]);
    const fromPython = typeof baseline === "string" || !("error" in baseline)
      ? baseline
      : (baseline as { error: string }).error;
    return new BenchEnvironment(cpuModel(), peak, fromPython as Baseline | string);
  }

  /** The lines saying what ran: the machine, its peak, the baseline, the load. */
  describe(ours: string): string[] {
    const b = this.baseline;
    const peak = typeof this.peak === "number" ? `${this.peak.toFixed(0)} GFLOP/s` : this.peak;
    return [
      `machine: ${this.cpu.name}, ${this.cores} cores, ${this.cpu.vectors.join(" ")}; peak fp32 ${peak} ` +
      `(bench/_peak_flops.c: FMA chains on every core)`,
      `sae: ${ours}`,
      typeof b === "string" ? `baseline: none (${b})` : `baseline: PyTorch ${b.torch} (${PYTHON}), BLAS ${b.blas} ` +
        `(${b.blas_library ?? "none loaded"}; built for ${b.blas_built}), ${b.torch_threads} torch threads, ` +
        `${b.blas_threads ?? "?"} BLAS threads; 2048^3 matmul ${b.matmul_gflops.toFixed(0)} GFLOP/s${
          typeof this.peak === "number" ? ` (${this.#percent(b.matmul_gflops)} of peak)` : ""
        }`,
      `load average at the start ${this.startLoad.map((l) => l.toFixed(2)).join(", ")}` +
      (this.#withheld.length ? `; ratios withheld: ${this.#withheld.join("; ")}` : ""),
    ];
  }

  /** ours / theirs with two decimals, or "withheld" (`end()` says why). */
  ratio(ours: number, theirs: number): string {
    return this.#whyWithheld() ? "withheld" : (ours / theirs).toFixed(2);
  }

  /** `flop` operations done in `seconds` as GFLOP/s and their fraction of the peak. */
  achieved(flop: number, seconds: number): string {
    const gflops = flop / seconds / 1e9;
    return `${gflops.toFixed(0)} GFLOP/s${typeof this.peak === "number" ? ` (${this.#percent(gflops)})` : ""}`;
  }

  /** The closing line: the load average now and the other processes' share of the cores during the run. */
  end(): string {
    const why = this.#whyWithheld();
    return `load average at the end ${Deno.loadavg().map((l) => l.toFixed(2)).join(", ")}; other processes took ${
      this.#othersCores().toFixed(2)
    } cores on average during the run${why ? `; no ratio of this run stands: ${why}` : ""}`;
  }

  #percent(gflops: number): string {
    return `${(100 * gflops / (this.peak as number)).toFixed(0)}%`;
  }

  /** Cores' worth of CPU time taken by processes other than this one and its children since the start. */
  #othersCores(): number {
    const now = cpuTicks();
    const ticksPerSecond = 100; // USER_HZ, fixed at 100 on Linux
    const elapsed = (performance.now() - this.#start.at) / 1000 * ticksPerSecond;
    const others = (now.machine - this.#start.ticks.machine) - (now.ours - this.#start.ticks.ours);
    return Math.max(0, others / elapsed);
  }

  #whyWithheld(): string | undefined {
    const reasons = [...this.#withheld];
    const others = this.#othersCores();
    if (others > NOISE_CORES) {
      reasons.push(`other processes took ${others.toFixed(2)} cores on average during the run`);
    }
    return reasons.length ? reasons.join("; ") : undefined;
  }
}
