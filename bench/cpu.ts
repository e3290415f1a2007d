/**
 * The cpu device (onnxruntime-node's native kernels) next to PyTorch CPU (OpenBLAS, all cores) doing the same work in
 * the same run. Each line prints sae's figure, PyTorch's, and `ratio` = sae / PyTorch (higher is better for sae),
 * with the issue's target in brackets; nothing is asserted.
 *
 * - `encode`: SAE encode, d_in 768, d_sae 24576, 4096 tokens, standard and TopK (k = 32), timed until the
 *   features are in host memory; best of 3 after a warm-up (bench/encode_torch.py).
 * - `step`: one training step (forward, loss, backward, clipping, Adam, the step's statistics), d_in 768,
 *   d_sae 24576, 4096 tokens, standard and TopK (k = 32; sae from the kept latents, PyTorch's dense TopK step);
 *   best of 2 after a warm-up step (bench/_step_rate.ts, bench/train_torch.py).
 * - `fixture-step`: the same step at the fixture model's size: d_in 128, d_sae 1024, 4096 tokens; best of 5.
 * - `train`: a whole `sae train --device cpu` run (trainSae) of a standard SAE (d_sae 1024) at
 *   blocks.2.hook_resid_pre of the fixture model on the sotu corpus, 204,800 tokens in steps of 4096, rows of 128,
 *   32 rows per model run, 8 runs in the mixing buffer, no evals; training tokens/s including the model's forward
 *   and the activation store, from the end of the first step to the end of the last (start-up, loading, b_dec's
 *   initialisation and saving left out on both sides). PyTorch: bench/train_run_torch.py, a GPT-2 forward to the
 *   hook, the same buffer and bench/_sae_step.py's step, on the same token rows (bench/_train_run.ts).
 * - `eval`: `sae eval --device cpu` (a child `deno run cli/main.ts eval ... --json`) of a standard SAE
 *   (d_sae 24576) at blocks.8.hook_resid_pre of a GPT-2-small-shaped model with random weights (written to a
 *   temporary folder of ~500 MB, removed at the end), 10 batches of 8 rows of 128 tokens; tokens/s of the eval
 *   alone (sae: from its "; reading" log line to its exit) and of the whole command (start to exit, with loading).
 *   PyTorch: bench/eval_torch.py, SAELens's evals on the same rows (CE orig, spliced, zero-ablated, both KLs,
 *   L0, explained variance); both sides' metrics are printed to compare. Also sae's peak RSS (the child's VmHWM)
 *   against 2 × (model + SAE weight bytes) + 1 GiB (bench/_eval_run.ts).
 *
 * - `train-eval`: the evaluation `sae train` runs during training (core/train/training_evals.ts, in this process, on the
 *   cpu device, its sessions built by an earlier evaluation as in a run) of a random standard SAE (d_sae 1024) at
 *   blocks.2.hook_resid_pre of the fixture model, 5 batches of 32 rows of 128 tokens (20,480 tokens, the size
 *   whose evaluations took 70-90 s in issue 25); PyTorch: bench/eval_torch.py on the same model, SAE and rows.
 *
 * Run: `deno task bench:cpu [--only encode,step,fixture-step,train,eval,train-eval] [--small]` (needs Debian's python3-torch and
 * libopenblas0-pthread for the baselines). `--small` runs every line at toy sizes, to check the benchmark itself in
 * seconds; its figures mean nothing. The full run took 5 min 39 s on 2 cores; run it on a quiet machine: the
 * load average it prints includes whatever else runs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CPU_THREADS } from "../core/cpu/ort_node.ts";
import type { CpuTensor } from "../core/cpu/cpu_tensor.ts";
import { parseSaeLensConfig } from "../core/sae/config.ts";
import { SAE } from "../core/sae/sae.ts";
import { random, randomSaeWeights } from "./_encode_inputs.ts";
import { evalRates, trainingEvalRates } from "./_eval_run.ts";
import { FIXTURE_MODEL } from "./_random_gpt2.ts";
import { stepRate } from "./_step_rate.ts";
import { BenchEnvironment } from "./_environment.ts";
import { encodeFlopPerToken, stepFlopPerToken } from "./_flops.ts";
import { torchBaseline } from "./_torch.ts";
import { trainRunRates } from "./_train_run.ts";

const LINES = ["encode", "step", "fixture-step", "train", "eval", "train-eval"];
const { values } = parseArgs({ args: Deno.args, options: { only: { type: "string" }, small: { type: "boolean" } } });
const only = values.only?.split(",") ?? LINES;
for (const name of only) {
  if (!LINES.includes(name)) throw new RangeError(`--only takes ${LINES.join(", ")}: current value is ${name}`);
}
const small = values.small ?? false;
const K = 32;
const [D_IN, D_SAE, TOKENS] = small ? [64, 512, 256] : [768, 24576, 4096];
const FIXTURE_STEP = small ? { dSae: 1024, tokens: 512, steps: 1 } : { dSae: 1024, tokens: 4096, steps: 5 };
const TRAIN_RUN = small
  ? { dSae: 256, trainingTokens: 8192, batchTokens: 1024, contextSize: 128, storeRows: 8, nBatchesInBuffer: 4 }
  : { dSae: 1024, trainingTokens: 204_800, batchTokens: 4096, contextSize: 128, storeRows: 32, nBatchesInBuffer: 8 };
const EVAL = small
  ? { nLayer: 2, dModel: 64, nHead: 4, layer: 1, dSae: 256, batches: 2, batchSize: 2, contextSize: 32 }
  : { nLayer: 12, dModel: 768, nHead: 12, layer: 8, dSae: 24576, batches: 10, batchSize: 8, contextSize: 128 };

const env = await BenchEnvironment.measure();
for (const line of env.describe(`cpu device (onnxruntime-node, ${CPU_THREADS} threads)`)) console.log(line);
if (small) console.log("--small sizes: the figures mean nothing");

/**
 * One line: sae's figure, PyTorch's (or why there is none) and their ratio, with the target; given the work's
 * FLOPs per token, each side's achieved FLOP/s and fraction of the peak on a second line.
 */
function report(
  label: string,
  ours: number | string,
  theirs: number | string,
  unit: string,
  target: string,
  flopPerToken?: number,
): void {
  const figure = (v: number | string) => typeof v === "string" ? "n/a" : `${v.toFixed(v < 100 ? 2 : 0)} ${unit}`;
  const ratio = typeof ours === "number" && typeof theirs === "number" ? env.ratio(ours, theirs) : "n/a";
  console.log(
    `${label.padEnd(50)} sae ${figure(ours).padStart(16)}   torch ${figure(theirs).padStart(16)}   ratio ${
      ratio.padStart(5)
    } [${target}]`,
  );
  if (flopPerToken !== undefined) {
    const rate = (v: number | string) => typeof v === "string" ? "n/a" : env.achieved(flopPerToken * v, 1);
    console.log(`${"".padEnd(50)} sae ${rate(ours)}, torch ${rate(theirs)}`);
  }
  for (const why of [ours, theirs].filter((v) => typeof v === "string")) console.log(`  n/a: ${why}`);
}

/** Best of three encodes after a warm-up, timed until the features are in host memory. */
async function encodeRate(sae: SAE, x: Float32Array): Promise<number> {
  await sae.encode({ shape: [16, D_IN], data: x.subarray(0, 16 * D_IN) }).read(); // create the session
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    // values(): the features as computed, without read()'s defensive copy (PyTorch's timing has none either)
    await (sae.encode({ shape: [TOKENS, D_IN], data: x }) as CpuTensor).values();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return TOKENS / best;
}

const field = <T>(r: Record<string, T> | string, key: string): T | string => typeof r === "string" ? r : r[key];

if (only.includes("encode")) {
  const weights = randomSaeWeights(D_IN, D_SAE);
  const x = random(TOKENS * D_IN, 1);
  const ours: Record<string, number> = {};
  for (const architecture of ["standard", "topk"] as const) {
    const cfg = parseSaeLensConfig({ architecture, d_in: D_IN, d_sae: D_SAE, k: K, metadata: {} }, "bench");
    const sae = await SAE.fromWeights(cfg, weights, { device: "cpu" });
    ours[architecture] = await encodeRate(sae, x);
    sae.destroy();
  }
  const torch = await torchBaseline<Record<string, number>>("encode_torch.py", [D_IN, D_SAE, TOKENS, K]);
  const shape = `(${D_IN} x ${D_SAE}, ${TOKENS} tok)`;
  const flop = encodeFlopPerToken(D_IN, D_SAE);
  report(`encode standard ${shape}`, ours.standard, field(torch, "standard"), "tok/s", ">= 1.0", flop);
  report(`encode topk k=${K} ${shape}`, ours.topk, field(torch, "topk"), "tok/s", ">= 1.0", flop);
}

/** The step lines of one shape: sae's cpu engine next to train_torch.py. */
async function stepLines(dIn: number, dSae: number, tokens: number, steps: number, targets: [string, string]) {
  const x = random(tokens * dIn, 1);
  const ours = {
    standard: await stepRate("cpu", { architecture: "standard", dIn, dSae, k: K, x }, steps),
    topk: await stepRate("cpu", { architecture: "topk", dIn, dSae, k: K, x }, steps),
  };
  const torch = await torchBaseline<Record<string, number>>("train_torch.py", [dIn, dSae, tokens, K, steps]);
  const shape = `(${dIn} x ${dSae}, ${tokens} tok)`;
  const flop = stepFlopPerToken(dIn, dSae);
  report(`step standard ${shape}`, ours.standard, field(torch, "standard"), "tok/s", targets[0], flop);
  report(`step topk k=${K} vs dense ${shape}`, ours.topk, field(torch, "topk"), "tok/s", targets[1], flop);
}

if (only.includes("step")) await stepLines(D_IN, D_SAE, TOKENS, small ? 1 : 2, [">= 0.9", ">= 2.0"]);
if (only.includes("fixture-step")) {
  await stepLines(128, FIXTURE_STEP.dSae, FIXTURE_STEP.tokens, FIXTURE_STEP.steps, [">= 0.8", ">= 0.8"]);
}

if (only.includes("train")) {
  const r = await trainRunRates({ model: FIXTURE_MODEL, layer: 2, ...TRAIN_RUN });
  report(
    `sae train (${r.steps} x ${TRAIN_RUN.batchTokens} tok, d_sae ${TRAIN_RUN.dSae}; steps 2..${r.steps})`,
    r.sae,
    r.torch,
    "tok/s",
    ">= 1.0",
  );
}

if (only.includes("eval")) {
  const r = await evalRates({ ...EVAL, vocab: 50257, nCtx: 1024 });
  const rate = (side: typeof r.sae, key: "evalSeconds" | "wholeSeconds") =>
    typeof side === "string" ? side : r.tokens / side[key];
  const shape =
    `(${EVAL.nLayer} layers, d_sae ${EVAL.dSae}, ${EVAL.batches}x${EVAL.batchSize}x${EVAL.contextSize} tok)`;
  report(`sae eval ${shape}`, rate(r.sae, "evalSeconds"), rate(r.torch, "evalSeconds"), "tok/s", ">= 1.5");
  report(
    `sae eval incl. start-up and loading`,
    rate(r.sae, "wholeSeconds"),
    rate(r.torch, "wholeSeconds"),
    "tok/s",
    "-",
  );
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  console.log(
    `  sae eval peak RSS ${r.peakRss === undefined ? "n/a" : gib(r.peakRss)}, bound ${gib(r.rssBound)} ` +
      `(2 x (model + SAE weight bytes) + 1 GiB)${
        r.peakRss === undefined ? "" : r.peakRss <= r.rssBound ? ": within" : ": over"
      }`,
  );
  for (const [who, side] of [["sae", r.sae], ["torch", r.torch]] as const) {
    if (typeof side === "string") continue;
    const m = Object.entries(side.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
    console.log(`  ${who.padEnd(5)} ${m}`);
  }
}

if (only.includes("train-eval")) {
  const shape = small
    ? { model: FIXTURE_MODEL, layer: 2, dIn: 128, dSae: 256, batches: 1, batchSize: 2, contextSize: 128 }
    : { model: FIXTURE_MODEL, layer: 2, dIn: 128, dSae: 1024, batches: 5, batchSize: 32, contextSize: 128 };
  const r = await trainingEvalRates(shape);
  const rate = (side: typeof r.sae) => typeof side === "string" ? side : r.tokens / side.evalSeconds;
  report(
    `eval during training (fixture model, d_sae ${shape.dSae}, ${shape.batches}x${shape.batchSize}x128 tok)`,
    rate(r.sae),
    rate(r.torch),
    "tok/s",
    ">= 1.0",
  );
  for (const [who, side] of [["sae", r.sae], ["torch", r.torch]] as const) {
    if (typeof side === "string") continue;
    const m = Object.entries(side.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
    console.log(`  ${who.padEnd(5)} ${m}`);
  }
}

console.log(env.end());
