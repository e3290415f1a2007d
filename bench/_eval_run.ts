// `sae eval` (cpu by default; any --device and --backend) of a standard SAE on a GPT-2 with random weights, run as a child `deno run` of cli/main.ts
// (so its peak RSS is its own), next to eval_torch.py doing SAELens's evals on the same token rows (CPU or CUDA). Both are timed
// twice: the eval alone (sae: from its "; reading" log line to its exit; PyTorch: as the script reports) and the
// whole command (start to exit, with loading).
import { join } from "node:path";
import { writeSafetensors } from "../core/io/safetensors.ts";
import { parseSaeLensConfig } from "../core/sae/config.ts";
import { writeSaeFolder } from "../core/sae/write_sae.ts";
import { randomSaeWeights } from "./_encode_inputs.ts";
import { type Gpt2Shape, writeRandomGpt2 } from "./_random_gpt2.ts";
import { PYTHON, torchBaseline } from "./_torch.ts";
import { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import { trainingEvaluator } from "../core/train/training_evals.ts";

/** The model, the SAE at `blocks.<layer>.hook_resid_pre` and the rows evaluated. */
export interface EvalShape extends Gpt2Shape {
  layer: number;
  dSae: number;
  batches: number;
  batchSize: number;
  contextSize: number;
}

/** Where each side runs: sae's `--device` and `--backend` (cpu and the default backend), PyTorch's device (cpu). */
export interface EvalPlacement {
  device?: "cpu" | "webgpu";
  backend?: "node" | "web" | "webgpu";
  torchDevice?: "cpu" | "cuda";
}

/** One side's timings (seconds) and metrics. */
export interface EvalSide {
  evalSeconds: number;
  wholeSeconds: number;
  metrics: Record<string, number>;
}

/** Both sides (a string saying why a side has none), sae's peak RSS and the bound it is held to, in bytes. */
export interface EvalRates {
  tokens: number;
  sae: EvalSide | string;
  torch: EvalSide | string;
  peakRss?: number;
  rssBound: number;
}

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const PEAK_RSS = new URL("./_peak_rss.py", import.meta.url).pathname;

async function saeEval(
  model: string,
  sae: string,
  tokens: string,
  shape: EvalShape,
  rssFile: string,
  placement: EvalPlacement,
) {
  const args = [PEAK_RSS, rssFile, Deno.execPath(), "run", "--allow-read", "--allow-write", "--allow-env"];
  args.push("--allow-ffi", CLI, "eval", "--model", model, "--sae", sae, "--dataset", tokens);
  args.push("--device", placement.device ?? "cpu");
  if (placement.backend) args.push("--backend", placement.backend);
  args.push("--batches", String(shape.batches), "--batch-size", String(shape.batchSize), "--json");
  const start = performance.now();
  const child = new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped", env: { NO_COLOR: "1" } })
    .spawn();
  let log = "";
  let reading: number | undefined;
  const stderr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log += chunk;
      if (reading === undefined && log.includes("; reading")) reading = performance.now();
    }
  })();
  const [out, status] = await Promise.all([new Response(child.stdout).text(), child.status, stderr]);
  const end = performance.now();
  // The error line, not the usage hint after it.
  const lines = log.trim().split("\n");
  if (!status.success) return lines.find((l) => /^error/i.test(l)) ?? lines.pop() ?? `exit ${status.code}`;
  const m = JSON.parse(out);
  return {
    evalSeconds: (end - (reading ?? start)) / 1000,
    wholeSeconds: (end - start) / 1000,
    metrics: {
      ce_orig: m.ce_orig,
      ce_sae: m.ce_sae,
      ce_zero: m.ce_zero_ablation,
      kl_sae: m.kl_div_sae,
      kl_zero: m.kl_div_zero_ablation,
      l0: m.l0,
      explained_variance: m.explained_variance,
    },
  };
}

/** Writes the model, the SAE and the rows under a temporary folder, runs both, and removes the folder. */
export async function evalRates(shape: EvalShape, placement: EvalPlacement = {}): Promise<EvalRates> {
  const { layer, dModel, dSae, batches, batchSize, contextSize } = shape;
  const tmp = await Deno.makeTempDir({ prefix: "sae-bench-eval-" });
  try {
    const [model, sae, tokens, rssFile] = ["model", "sae", "tokens.safetensors", "rss"].map((n) => join(tmp, n));
    await writeRandomGpt2(model, shape);
    const hook = `blocks.${layer}.hook_resid_pre`;
    const metadata = { model_name: model, hook_name: hook, context_size: contextSize, prepend_bos: true };
    const cfg = parseSaeLensConfig({ architecture: "standard", d_in: dModel, d_sae: dSae, metadata }, "bench");
    await writeSaeFolder(sae, cfg, randomSaeWeights(dModel, dSae));
    // Rows opening with BOS, the rest drawn from the vocabulary below BOS (SAELens leaves BOS out of L0).
    const rows = batches * batchSize;
    const ids = new BigInt64Array(rows * contextSize);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = BigInt(i % contextSize === 0 ? 50256 : Math.floor(Math.random() * 50256));
    }
    await writeSafetensors(tokens, { tokens: { shape: [rows, contextSize], data: ids } });
    const bytes = (await Deno.stat(join(model, "model.safetensors"))).size +
      (await Deno.stat(join(sae, "sae_weights.safetensors"))).size;
    const ours = await saeEval(model, sae, tokens, shape, rssFile, placement);
    const peakRss = typeof ours === "string" ? undefined : Number(await Deno.readTextFile(rssFile));
    const start = performance.now();
    const torch = await torchBaseline<Record<string, number>>("eval_torch.py", [
      model,
      sae,
      tokens,
      batches,
      batchSize,
      layer,
      placement.torchDevice ?? "cpu",
    ]);
    const wholeSeconds = (performance.now() - start) / 1000;
    const { seconds, threads: _, ...metrics } = typeof torch === "string" ? { seconds: 0, threads: 0 } : torch;
    return {
      tokens: rows * contextSize,
      sae: ours,
      torch: typeof torch === "string" ? torch : { evalSeconds: seconds, wholeSeconds, metrics },
      peakRss,
      rssBound: 2 * bytes + 2 ** 30,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The in-training evaluation's shape: the SAE at `blocks.<layer>.hook_resid_pre` of a model folder, and its rows. */
export interface TrainingEvalShape {
  model: string;
  layer: number;
  dIn: number;
  dSae: number;
  batches: number;
  batchSize: number;
  contextSize: number;
}

/**
 * `sae train`'s evaluation during training (core/train/training_evals.ts's evaluator, in this process, on the cpu
 * device, as a run calls it: its sessions already built by an earlier evaluation) of a random standard SAE, next to
 * eval_torch.py doing the same evaluation on the same rows.
 */
export async function trainingEvalRates(shape: TrainingEvalShape): Promise<EvalRates> {
  const { model: modelDir, layer, dIn, dSae, batches, batchSize, contextSize } = shape;
  const tmp = await Deno.makeTempDir({ prefix: "sae-bench-train-eval-" });
  // TransformerLens's default processing, as bench/_gpt2_torch.py centres the residual writes
  const model = await HookedTransformer.load(modelDir);
  try {
    const [sae, tokens] = ["sae", "tokens.safetensors"].map((n) => join(tmp, n));
    const hook = `blocks.${layer}.hook_resid_pre`;
    const metadata = { model_name: modelDir, hook_name: hook, context_size: contextSize, prepend_bos: true };
    const cfg = parseSaeLensConfig({ architecture: "standard", d_in: dIn, d_sae: dSae, metadata }, "bench");
    const weights = randomSaeWeights(dIn, dSae);
    await writeSaeFolder(sae, cfg, weights);
    const rowCount = batches * batchSize;
    const ids = new BigInt64Array(rowCount * contextSize);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = BigInt(i % contextSize === 0 ? 50256 : Math.floor(Math.random() * 50256));
    }
    await writeSafetensors(tokens, { tokens: { shape: [rowCount, contextSize], data: ids } });
    const rows = async function* (): AsyncGenerator<number[]> {
      for (let r = 0; r < rowCount; r++) yield Array.from(ids.subarray(r * contextSize, (r + 1) * contextSize), Number);
    };
    // the first evaluation of a run builds the sessions; the later ones are timed here
    await trainingEvaluator(model, "cpu", rows, { batches: 1, batchSize })({ cfg, weights });
    const evaluate = trainingEvaluator(model, "cpu", rows, { batches, batchSize });
    const start = performance.now();
    const m = await evaluate({ cfg, weights });
    const seconds = (performance.now() - start) / 1000;
    const torch = await torchBaseline<Record<string, number>>("eval_torch.py", [
      modelDir,
      sae,
      tokens,
      batches,
      batchSize,
      layer,
      "cpu",
    ]);
    const { seconds: torchSeconds, threads: _, ...metrics } = typeof torch === "string"
      ? { seconds: 0, threads: 0 }
      : torch;
    return {
      tokens: rowCount * contextSize,
      sae: {
        evalSeconds: seconds,
        wholeSeconds: seconds,
        metrics: {
          ce_orig: m["model_performance_preservation/ce_loss_without_sae"],
          ce_sae: m["model_performance_preservation/ce_loss_with_sae"],
          ce_zero: m["model_performance_preservation/ce_loss_with_ablation"],
          kl_sae: m["model_behavior_preservation/kl_div_with_sae"],
          kl_zero: m["model_behavior_preservation/kl_div_with_ablation"],
          l0: m["sparsity/l0"],
          explained_variance: m["reconstruction_quality/explained_variance"],
        },
      },
      torch: typeof torch === "string" ? torch : { evalSeconds: torchSeconds, wholeSeconds: torchSeconds, metrics },
      rssBound: 0,
    };
  } finally {
    await model.dispose();
    await Deno.remove(tmp, { recursive: true });
  }
}
