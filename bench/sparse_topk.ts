/**
 * The sparse TopK training ops (core/train/sparse_topk.ts) against the dense matmul products
 * they replace, on one batch: f·W_dec, ∂f = dx̂·W_decᵀ (with the decoder's transpose), ∂W_dec = fᵀ·dx̂
 * and ∂W_enc = xᵀ·∂pre (with ∂b_enc's column sum). The sparse side also pays for building its lists;
 * the dense side for the threshold pass that writes the dense activations. Prints the best of a few
 * runs of each and the dense / sparse ratios. Defaults: d_in 768, d_sae 6144, 1024 rows, k 32.
 *
 * Run: `deno task bench:sparse [d_in d_sae rows k]`.
 *
 * @module
 */

import { getGpu } from "../core/gpu/device.ts";
import { emptyBuffer, uploadBuffer } from "../core/gpu/tensor.ts";
import { SparseTopK } from "../core/train/sparse_topk.ts";
import { TrainKernels } from "../core/train/train_kernels.ts";
import { mulberry32 } from "../core/util/mulberry32.ts";

const [D_IN, D_SAE, ROWS, K] = Deno.args.length === 4 ? Deno.args.map(Number) : [768, 6144, 1024, 32];
const RUNS = 3;

const gpu = await getGpu();
const rng = mulberry32(0);
const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
const up = (v: Float32Array, label: string) => uploadBuffer(gpu, v, label);
const wide = ROWS * D_SAE, narrow = ROWS * D_IN;
const pre = up(random(wide), "pre"), wDec = up(random(D_SAE * D_IN, 0.05), "wDec"), bDec = up(random(D_IN), "bDec");
const xIn = up(random(narrow), "xIn"), dOut = up(random(narrow), "dOut");
const wDecGrad = emptyBuffer(gpu, D_SAE * D_IN * 4, "wDecGrad"),
  wEncGrad = emptyBuffer(gpu, D_IN * D_SAE * 4, "wEncGrad");
const bEncGrad = emptyBuffer(gpu, D_SAE * 4, "bEncGrad"), recon = emptyBuffer(gpu, narrow * 4, "recon");
const thresholds = emptyBuffer(gpu, ROWS * 4, "thresholds"), acts = emptyBuffer(gpu, wide * 4, "acts");
const wDecT = emptyBuffer(gpu, D_SAE * D_IN * 4, "wDecT"), t = emptyBuffer(gpu, wide * 4, "t");
const minPositive = emptyBuffer(gpu, 4, "minPositive");
const list = SparseTopK.create(gpu, { rows: ROWS, dSae: D_SAE, capacity: ROWS * K });

const kernels = new TrainKernels(gpu, { d_in: D_IN, d_sae: D_SAE });
/** C (+)= A·B with A read from offset 0: [m, n, k, as0, as1, ldb, ldc]. */
const matmul = (enc: GPUCommandEncoder, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: number[], acc: boolean) => {
  const [m, n, k, as0, as1, ldb, ldc] = s;
  kernels.matmul(enc, { a, b, c }, { m, n, k, as0, as1, ldb, ldc, acc });
};

async function submit(record: (enc: GPUCommandEncoder) => void, reps: number): Promise<number> {
  const enc = gpu.device.createCommandEncoder();
  for (let r = 0; r < reps; r++) record(enc);
  const start = performance.now();
  gpu.device.queue.submit([enc.finish()]);
  await gpu.device.queue.onSubmittedWorkDone();
  return (performance.now() - start) / reps;
}

/**
 * Best wall time (ms) per `record`, after an untimed run that compiles. Short ops repeat within one
 * submission until it lasts about 250 ms, as a submission alone costs milliseconds on lavapipe.
 */
async function time(record: (enc: GPUCommandEncoder) => void): Promise<number> {
  const reps = Math.max(1, Math.ceil(250 / await submit(record, 1)));
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) best = Math.min(best, await submit(record, reps));
  return best;
}

// Per-row thresholds, which both paths start from.
const setup = gpu.device.createCommandEncoder();
kernels.select(setup, { segments: ROWS, segmentLength: D_SAE, k: K }, { values: pre, deadMask: pre, out: thresholds });
gpu.device.queue.submit([setup.finish()]);

const pairs: [string, (enc: GPUCommandEncoder) => void, (enc: GPUCommandEncoder) => void][] = [
  [
    "select (dense acts | compact lists)",
    (enc) =>
      kernels.elementwise(enc, "threshold", { count: wide, cols: D_SAE }, {
        src: pre,
        aux: thresholds,
        dst: acts,
        minPositive,
      }),
    (enc) => list.select(enc, { pre, thresholds, rows: ROWS }),
  ],
  [
    "decode f·W_dec + b_dec",
    (enc) => {
      matmul(enc, acts, wDec, recon, [ROWS, D_IN, D_SAE, D_SAE, 1, D_IN, D_IN], false);
      kernels.addBias(enc, recon, bDec, { count: narrow, cols: D_IN });
    },
    (enc) => list.decode(enc, { wDec, bDec, out: recon, dIn: D_IN }),
  ],
  [
    "∂f = dx̂·W_decᵀ",
    (enc) => {
      kernels.elementwise(enc, "transpose", { count: D_IN * D_SAE, cols: D_SAE }, { src: wDec, dst: wDecT });
      matmul(enc, dOut, wDecT, t, [ROWS, D_SAE, D_IN, D_IN, 1, D_SAE, D_SAE], false);
    },
    (enc) => list.valueGrad(enc, { dOut, wDec, dIn: D_IN }),
  ],
  [
    "∂W_dec += fᵀ·dx̂",
    (enc) => matmul(enc, acts, dOut, wDecGrad, [D_SAE, D_IN, ROWS, 1, D_SAE, D_IN, D_IN], true),
    (enc) => list.decoderGrad(enc, { dOut, wDecGrad, dIn: D_IN }),
  ],
  [
    "∂W_enc += xᵀ·∂pre, ∂b_enc",
    (enc) => {
      matmul(enc, xIn, t, wEncGrad, [D_IN, D_SAE, ROWS, 1, D_IN, D_SAE, D_SAE], true);
      kernels.columnSum(enc, t, bEncGrad, { rows: ROWS, cols: D_SAE });
    },
    (enc) => list.encoderGrad(enc, { xIn, wEncGrad, bEncGrad, dIn: D_IN }),
  ],
];

console.log(`d_in ${D_IN}, d_sae ${D_SAE}, rows ${ROWS}, k ${K}; best of ${RUNS} on ${gpu.adapter}`);
let denseTotal = 0, sparseTotal = 0;
for (const [name, dense, sparse] of pairs) {
  const d = await time(dense), s = await time(sparse);
  denseTotal += d, sparseTotal += s;
  console.log(
    `${name.padEnd(36)} dense ${d.toFixed(1).padStart(8)} ms  sparse ${s.toFixed(1).padStart(7)} ms  ×${
      (d / s).toFixed(1)
    }`,
  );
}
console.log(
  `${"all".padEnd(36)} dense ${denseTotal.toFixed(1).padStart(8)} ms  sparse ${
    sparseTotal.toFixed(1).padStart(7)
  } ms  ×${(denseTotal / sparseTotal).toFixed(1)}`,
);
console.log(`kept ${await list.keptCount()} of capacity ${list.capacity}`);
