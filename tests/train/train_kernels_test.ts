import assert from "node:assert/strict";
import { gpu } from "../_gpu.ts";
import { submit } from "../../core/gpu/pipelines.ts";
import { emptyBuffer, readBuffers, uploadBuffer } from "../../core/gpu/tensor.ts";
import { TrainKernels } from "../../core/train/train_kernels.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";

/** Plain float64 (w / ‖w‖_p)^(p−1) per row of w = acts · col, 0 on a row whose norm is 0. */
function referenceFactors(acts: Float32Array, col: Float32Array, p: number): Float64Array {
  const cols = col.length, out = new Float64Array(acts.length);
  for (let r = 0; r < acts.length / cols; r++) {
    const w = Array.from({ length: cols }, (_, j) => acts[r * cols + j] * col[j]);
    const norm = w.reduce((s, v) => s + v ** p, 0) ** (1 / p);
    w.forEach((v, j) => out[r * cols + j] = norm > 0 ? (v / norm) ** (p - 1) : 0);
  }
  return out;
}

Deno.test("TrainKernels.lpFactors() and columnProducts() match a plain reference at odd and power-of-two widths", async () => {
  for (const [cols, p, scale] of [[100, 1.5, 1], [256, 2, 1], [100, 6, 1e8]] as const) {
    const rows = 5, rng = mulberry32(cols + p);
    // ReLU'd features, about half zero; row 2 all zero (its factors are 0); scale 1e8 with p 6 overflows w^p in f32
    const acts = Float32Array.from(
      { length: rows * cols },
      (_, i) => Math.floor(i / cols) === 2 ? 0 : Math.max(rng() - 0.5, 0) * scale,
    );
    const col = Float32Array.from({ length: cols }, () => 0.05 + rng() * 0.2);
    const start = Float32Array.from({ length: cols }, () => rng());
    const kernels = new TrainKernels(gpu, { d_in: 4, d_sae: cols });
    const [a, c, factors, sums] = [
      uploadBuffer(gpu, acts, "acts"),
      uploadBuffer(gpu, col, "col"),
      emptyBuffer(gpu, acts.byteLength, "factors"),
      uploadBuffer(gpu, start, "sums"),
    ];
    try {
      const enc = gpu.device.createCommandEncoder();
      kernels.lpFactors(enc, { rows, p }, { acts: a, col: c, factors });
      kernels.columnProducts(enc, { v: a, factors, out: sums }, { rows, cols });
      submit(gpu, enc);
      const [gotFactors, gotSums] = (await readBuffers(gpu, [
        { buffer: factors, bytes: acts.byteLength },
        { buffer: sums, bytes: start.byteLength },
      ])).map((b) => new Float32Array(b));
      const want = referenceFactors(acts, col, p);
      want.forEach((v, i) => {
        assert(
          Math.abs(gotFactors[i] - v) <= 1e-5 * Math.max(1, v),
          `cols ${cols} p ${p} factor ${i}: ${gotFactors[i]} vs ${v}`,
        );
      });
      for (let j = 0; j < cols; j++) {
        let s = start[j];
        for (let r = 0; r < rows; r++) s += acts[r * cols + j] * want[r * cols + j];
        assert(
          Math.abs(gotSums[j] - s) <= 1e-5 * Math.abs(s) + 1e-6,
          `cols ${cols} p ${p} sum ${j}: ${gotSums[j]} vs ${s}`,
        );
      }
    } finally {
      for (const b of [a, c, factors, sums]) b.destroy();
    }
  }
});
