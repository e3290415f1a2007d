/**
 * The GPU benchmark of a lent device machine (an NVIDIA H200): the WGSL kernels on Deno's WebGPU next to PyTorch CUDA
 * doing the same work on the same machine, in one run.
 *
 * - `encode`: SAE encode, standard and TopK (k = 32), d_in 768, d_sae 24576, 4096 tokens, until the GPU has the
 *   features (bench/_gpu_encode_rate.ts; bench/encode_torch.py).
 * - `step`: one training step of each architecture sae trains (forward, loss, backward, clipping, Adam, the step's
 *   statistics read back) at the same sizes (bench/_step_rate.ts; bench/train_torch.py, dense as SAELens runs them).
 * - `eval`: `sae eval --device webgpu --backend webgpu` (the model on ONNX Runtime's WebGPU backend) of a standard SAE
 *   (d_sae 24576) at blocks.8.hook_resid_pre of a GPT-2-small-shaped model with random weights, 10 batches of 8 rows
 *   of 128 tokens (bench/_eval_run.ts; bench/eval_torch.py on CUDA).
 *
 * Every line gives both sides' tokens/s, their ratio and each side's achieved TFLOP/s as a fraction of the GPU's fp32
 * peak (PyTorch runs with TF32 off, as it does by default, so both compute in fp32). Writes `device.json` and
 * `device.txt` to `--out` (default out/device).
 *
 * Run: `bash bench/device.sh` on the device machine (it unpacks Deno, the npm packages and the Vulkan loader first;
 * bench/device_pack.sh prepares them here). `deno task bench:device --dry-run` runs the same script at toy sizes on
 * whatever adapter there is (lavapipe here) with PyTorch on the CPU, the GPU's checks reported absent: the test in
 * tests/bench/device_bench_test.ts does so, so the script cannot rot between leases.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { getGpu, type Gpu } from "../core/gpu/device.ts";
import type { TrainArchitecture } from "../core/train/sae_training_config.ts";
import { TRAIN_ARCHITECTURES } from "../core/train/sae_training_config.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { random, randomSaeWeights } from "./_encode_inputs.ts";
import { evalRates } from "./_eval_run.ts";
import { encodeFlopPerToken, forwardFlopPerToken, stepFlopPerToken } from "./_flops.ts";
import { gpuEncodeRate } from "./_gpu_encode_rate.ts";
import { stepRate } from "./_step_rate.ts";
import { torchBaseline } from "./_torch.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { out: { type: "string", default: "out/device" }, "dry-run": { type: "boolean" } },
});
const dryRun = values["dry-run"] ?? false;
const K = 32;
const [D_IN, D_SAE, TOKENS] = dryRun ? [64, 512, 256] : [768, 24576, 4096];
const EVAL = dryRun
  ? { nLayer: 2, dModel: 64, nHead: 4, layer: 1, dSae: 256, batches: 2, batchSize: 2, contextSize: 32, vocab: 50257 }
  : {
    nLayer: 12,
    dModel: 768,
    nHead: 12,
    layer: 8,
    dSae: 24576,
    batches: 10,
    batchSize: 8,
    contextSize: 128,
    vocab: 50257,
  };
/** fp32 (non-tensor) peak of the GPUs this script meets, from NVIDIA's datasheets, in TFLOP/s. */
const FP32_PEAK_TFLOPS: [RegExp, number][] = [[/H200|H100 (SXM|80GB HBM3)/i, 67], [/H100 PCIe/i, 51], [/A100/i, 19.5]];

/** One benchmark line: both sides' rates and what they come to. */
interface Line {
  name: string;
  sae: number | null;
  torch: number | null;
  /** Why a side has no figure. */
  missing?: string;
  ratio: number | null;
  sae_tflops: number | null;
  torch_tflops: number | null;
  sae_fraction_of_peak: number | null;
  torch_fraction_of_peak: number | null;
}

/** Where the GPU name comes from: nvidia-smi where it runs. */
async function nvidiaGpuName(): Promise<string | null> {
  try {
    const out = await new Deno.Command("nvidia-smi", { args: ["--query-gpu=name", "--format=csv,noheader"] }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim().split("\n")[0] : null;
  } catch {
    return null;
  }
}

const started = new Date().toISOString();
const gpuName = await nvidiaGpuName();
const peakTflops = FP32_PEAK_TFLOPS.find(([pattern]) => gpuName && pattern.test(gpuName))?.[1] ?? null;
const absent: string[] = [];
let gpu: Gpu | undefined;
try {
  gpu = await getGpu();
} catch (e) {
  absent.push(`WebGPU: ${(e as Error).message}`);
}
const nvidia = gpu !== undefined && /nvidia|geforce|quadro|tesla|\bh[12]00\b/i.test(gpu.adapter);
if (!nvidia) absent.push(`an NVIDIA adapter: WebGPU sees ${gpu?.adapter ?? "none"}`);
if (gpuName === null) absent.push("nvidia-smi (no NVIDIA driver)");
const torchInfo = await torchBaseline<{ torch: string; device: "cuda" | "cpu"; name: string | null; tf32: boolean }>(
  "_torch_device.py",
  [],
);
const torchDevice = typeof torchInfo === "string" ? "cpu" : torchInfo.device;
if (torchDevice !== "cuda") absent.push(`PyTorch CUDA (${typeof torchInfo === "string" ? torchInfo : "no GPU seen"})`);

const lines: Line[] = [];
/** Adds a line from both sides' tokens/s (or why one is missing) and the work's FLOPs per token. */
function line(name: string, sae: number | string, torch: number | string, flopPerToken: number): void {
  const num = (v: number | string) => typeof v === "number" ? v : null;
  const tflops = (v: number | null) => v === null ? null : v * flopPerToken / 1e12;
  const [s, t] = [num(sae), num(torch)];
  lines.push({
    name,
    sae: s,
    torch: t,
    missing: [sae, torch].filter((v) => typeof v === "string").join("; ") || undefined,
    ratio: s !== null && t !== null ? s / t : null,
    sae_tflops: tflops(s),
    torch_tflops: tflops(t),
    sae_fraction_of_peak: peakTflops && s !== null ? tflops(s)! / peakTflops : null,
    torch_fraction_of_peak: peakTflops && t !== null ? tflops(t)! / peakTflops : null,
  });
}
const field = (r: Record<string, number> | string, key: string): number | string =>
  typeof r === "string" ? r : r[key] ?? `no ${key} figure`;

if (gpu !== undefined && (nvidia || dryRun)) {
  const weights = randomSaeWeights(D_IN, D_SAE);
  const x = random(TOKENS * D_IN, 1);
  const shape = `${D_IN} x ${D_SAE}, ${TOKENS} tok`;
  const sizes = { dIn: D_IN, dSae: D_SAE, k: K, runs: dryRun ? 1 : 5 };
  const torchEncode = await torchBaseline<Record<string, number>>("encode_torch.py", [
    D_IN,
    D_SAE,
    TOKENS,
    K,
    torchDevice,
  ]);
  for (const architecture of ["standard", "topk"] as const) {
    const ours = await gpuEncodeRate(gpu, architecture, weights, x, sizes);
    line(`encode ${architecture} (${shape})`, ours, field(torchEncode, architecture), encodeFlopPerToken(D_IN, D_SAE));
  }
  const steps = dryRun ? 1 : 3;
  const torchSteps = await torchBaseline<Record<string, number>>("train_torch.py", [
    D_IN,
    D_SAE,
    TOKENS,
    K,
    steps,
    torchDevice,
    TRAIN_ARCHITECTURES.join(","),
  ]);
  for (const architecture of TRAIN_ARCHITECTURES as readonly TrainArchitecture[]) {
    const ours = await stepRate(gpu, { architecture, dIn: D_IN, dSae: D_SAE, k: K, x }, steps).catch((e: Error) =>
      e.message
    );
    line(`step ${architecture} (${shape})`, ours, field(torchSteps, architecture), stepFlopPerToken(D_IN, D_SAE));
  }
  const r = await evalRates({ ...EVAL, nCtx: 1024 }, { device: "webgpu", backend: "webgpu", torchDevice });
  const size = {
    nLayers: EVAL.nLayer,
    dModel: EVAL.dModel,
    nHeads: EVAL.nHead,
    nKvHeads: EVAL.nHead,
    dHead: EVAL.dModel / EVAL.nHead,
    dMlp: 4 * EVAL.dModel,
    dVocab: EVAL.vocab,
    gatedMlp: false,
  };
  // Per token: a forward to the hook, three full forwards (clean, spliced, zero-ablated), two encodes and decodes.
  const evalFlop = forwardFlopPerToken(size, EVAL.contextSize, EVAL.layer, false) +
    3 * forwardFlopPerToken(size, EVAL.contextSize) + 4 * encodeFlopPerToken(EVAL.dModel, EVAL.dSae);
  const rate = (side: typeof r.sae) => typeof side === "string" ? side : r.tokens / side.evalSeconds;
  line(
    `sae eval (${EVAL.nLayer} layers, d_sae ${EVAL.dSae}, ${EVAL.batches}x${EVAL.batchSize}x${EVAL.contextSize} tok)`,
    rate(r.sae),
    rate(r.torch),
    evalFlop,
  );
}

const result = {
  started,
  finished: new Date().toISOString(),
  dry_run: dryRun,
  adapter: gpu?.adapter ?? null,
  gpu: gpuName,
  fp32_peak_tflops: peakTflops,
  torch: typeof torchInfo === "string" ? torchInfo : torchInfo,
  absent,
  lines,
};
const fixed = (v: number | null, digits: number) => v === null ? "n/a" : v.toFixed(digits);
const pct = (v: number | null) => v === null ? "n/a" : `${(100 * v).toFixed(1)}%`;
const text = [
  `sae on ${result.adapter ?? "no WebGPU adapter"} vs PyTorch ${
    typeof torchInfo === "string" ? "(none)" : `${torchInfo.torch} on ${torchInfo.name ?? torchDevice}`
  }; GPU ${gpuName ?? "none"}, fp32 peak ${peakTflops ?? "n/a"} TFLOP/s${dryRun ? "; DRY RUN (toy sizes)" : ""}`,
  ...absent.map((a) => `absent: ${a}`),
  `${"line".padEnd(52)} ${"sae tok/s".padStart(11)} ${"torch tok/s".padStart(11)} ${"ratio".padStart(6)} ${
    "sae TFLOP/s".padStart(11)
  } ${"(peak)".padStart(7)} ${"torch TFLOP/s".padStart(13)} ${"(peak)".padStart(7)}`,
  ...lines.map((l) =>
    `${l.name.padEnd(52)} ${fixed(l.sae, 0).padStart(11)} ${fixed(l.torch, 0).padStart(11)} ${
      fixed(l.ratio, 2).padStart(6)
    } ${fixed(l.sae_tflops, 2).padStart(11)} ${pct(l.sae_fraction_of_peak).padStart(7)} ${
      fixed(l.torch_tflops, 2).padStart(13)
    } ${pct(l.torch_fraction_of_peak).padStart(7)}${l.missing ? `  (${l.missing})` : ""}`
  ),
].join("\n");
await Deno.mkdir(values.out!, { recursive: true });
await writeFileAtomic(join(values.out!, "device.json"), JSON.stringify(result, null, 2) + "\n");
await writeFileAtomic(join(values.out!, "device.txt"), text + "\n");
console.log(text);
// On a device machine, a run that saw no NVIDIA GPU through WebGPU measured nothing: say so by the exit status.
if (!dryRun && !nvidia) Deno.exit(1);
