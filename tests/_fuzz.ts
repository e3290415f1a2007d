// The fuzz tests' shared verdicts: each hostile input runs under a time limit and a memory bound, with the folder
// around it watched for files it should not create and the inputs' originals checked for damage. Every input ends
// in one of the outcomes below; only "success" (what its bytes mean, checked by the input's oracle) and "clean" (one
// line naming what is wrong, no runtime internals) are allowed.
import { mulberry32 } from "../core/util/mulberry32.ts";

/** What one input came to. */
export type FuzzOutcome = "success" | "clean" | "crash" | "hang" | "memory" | "escape" | "lost" | "wrong";

/** Every outcome, in the order the summary prints them. */
export const FUZZ_OUTCOMES: readonly FuzzOutcome[] = [
  "success",
  "clean",
  "crash",
  "hang",
  "memory",
  "escape",
  "lost",
  "wrong",
];

/** One hostile input. */
export interface FuzzCase {
  label: string;
  /** Runs the input; resolves to why its success is wrong, or undefined when right. */
  run: () => Promise<string | undefined>;
  /** What a clean error must name (a file or a field), when there is one. */
  mustName?: string;
  /** Unblocks a run stuck on the input (opens a FIFO's other end) so the test can end. */
  unblock?: () => Promise<void>;
}

/** SAE_FUZZ_SHOW=1 prints every input's outcome, to read what the clean errors say. */
const SHOW = Deno.env.get("SAE_FUZZ_SHOW") === "1";

/** Messages that are the runtime's or a library's internals, not ours. */
const INTERNALS =
  /Non-zero status code|onnxruntime|Cannot read propert|cannot be converted to a BigInt|is not a function|is not iterable|undefined \(reading|Maximum call stack|Invalid array length|\bat file:\/\//;

/** Whether an error is one clean line that names what it must. */
export function isCleanError(error: unknown, mustName?: string): boolean {
  if (!(error instanceof Error) || error.message.includes("\n") || INTERNALS.test(error.message)) return false;
  return mustName === undefined || error.message.includes(mustName);
}

/** Peak resident memory of this process since the last reset, in bytes (Linux's VmHWM). */
function peakRss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
}

/** Resets the peak to the current resident memory (clear_refs 5), where the kernel allows it. */
function resetPeakRss(): void {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  } catch {
    // without the reset the peak only rises: an input over the bound is still caught, later ones may be blamed
  }
}

/** Names in a folder, for noticing what an input created beside its own. */
async function entries(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const e of Deno.readDir(dir)) names.add(e.name);
  return names;
}

/** Settings of {@linkcode FuzzRun}. */
export interface FuzzRunOptions {
  /** An input with no answer after this long hangs. @default {5000} */
  hangMs?: number;
  /** An input whose peak memory grows past this many bytes over the start's is a memory failure. @default {512 MiB} */
  memoryBytes?: number;
  /** The folder the inputs live in: anything new in it besides `own` (each input's folder) escaped. */
  root?: string;
  /** Checks the inputs' originals are intact; resolves to what was lost. */
  intact?: () => Promise<string | undefined>;
}

/** Runs inputs one by one and tallies their outcomes. */
export class FuzzRun {
  readonly tally: Record<FuzzOutcome, number> = Object.fromEntries(FUZZ_OUTCOMES.map((o) => [o, 0])) as Record<
    FuzzOutcome,
    number
  >;
  /** The failures, with their labels and details. */
  readonly failures: string[] = [];
  readonly #options: Required<Omit<FuzzRunOptions, "root" | "intact">> & FuzzRunOptions;

  constructor(options: FuzzRunOptions = {}) {
    this.#options = { hangMs: 5000, memoryBytes: 512 * 2 ** 20, ...options };
  }

  /** Runs one input; `own` is its folder under `root`, if any. */
  async run(input: FuzzCase, own?: string): Promise<FuzzOutcome> {
    const { hangMs, memoryBytes, root, intact } = this.#options;
    const before = root ? await entries(root) : undefined;
    resetPeakRss();
    const start = peakRss();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), hangMs));
    let outcome: FuzzOutcome, detail = "";
    try {
      const why = await Promise.race([input.run(), hang]);
      if (why === "hang") {
        await input.unblock?.();
        outcome = "hang", detail = `no answer in ${hangMs} ms`;
      } else {
        outcome = why === undefined ? "success" : "wrong", detail = why ?? "";
      }
    } catch (error) {
      outcome = isCleanError(error, input.mustName) ? "clean" : "crash";
      detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } finally {
      clearTimeout(timer);
    }
    const grown = peakRss() - start;
    if ((outcome === "success" || outcome === "clean") && grown > memoryBytes) {
      outcome = "memory", detail = `peak memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB`;
    }
    if (before && (outcome === "success" || outcome === "clean")) {
      const created = [...await entries(root!)].filter((n) => !before.has(n) && n !== own);
      if (created.length) outcome = "escape", detail = `created ${created.join(", ")} beside its folder`;
    }
    if (intact && (outcome === "success" || outcome === "clean")) {
      const lost = await intact();
      if (lost) outcome = "lost", detail = lost;
    }
    this.tally[outcome]++;
    if (SHOW) console.log(`${outcome}: ${input.label}${detail ? `: ${detail}` : ""}`);
    if (outcome !== "success" && outcome !== "clean") this.failures.push(`${outcome}: ${input.label}: ${detail}`);
    return outcome;
  }

  /** One line: inputs tried and every outcome's count. */
  summary(name: string, seed: number): string {
    const total = FUZZ_OUTCOMES.reduce((n, o) => n + this.tally[o], 0);
    return `${name} (seed ${seed}): ${total} inputs, ${FUZZ_OUTCOMES.map((o) => `${this.tally[o]} ${o}`).join(", ")}`;
  }
}

/** A seeded source of choices, so a failing input can be replayed with its seed. */
export class FuzzRandom {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A number in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** One of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}
