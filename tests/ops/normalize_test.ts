import { GpuTensor, uploadBuffer } from "../../core/gpu/tensor.ts";
import { normalizeIn, type NormalizeMode, normalizeOut } from "../../core/ops/normalize.ts";
import { spliceError } from "../../core/ops/splice.ts";
import { gpu } from "../_gpu.ts";
import { assertClose, randomArray } from "../_reference.ts";

/** SAELens's run_time_activation_norm_fn_in, then the b_dec subtraction; returns x' and the inverse. */
function reference(x: Float32Array, rows: number, n: number, mode: NormalizeMode, s: number, bDec: Float32Array) {
  const out = new Float64Array(x.length);
  const inverse: ((v: number) => number)[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.slice(r * n, (r + 1) * n));
    let f = (v: number) => v, g = (v: number) => v;
    if (mode === "expected_average_only_in") [f, g] = [(v) => v * s, (v) => v / s];
    if (mode === "constant_norm_rescale") {
      const c = Math.sqrt(n) / Math.hypot(...row);
      [f, g] = [(v) => v * c, (v) => v / c];
    }
    if (mode === "layer_norm") {
      const mu = row.reduce((a, b) => a + b, 0) / n;
      const std = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1));
      [f, g] = [(v) => (v - mu) / (std + 1e-5), (v) => v * std + mu];
    }
    row.forEach((v, i) => out[r * n + i] = f(v) - bDec[i]);
    inverse.push(g);
  }
  return { out, inverse };
}

for (const mode of ["none", "expected_average_only_in", "constant_norm_rescale", "layer_norm"] as const) {
  for (const [rows, n] of [[1, 2], [7, 129]]) {
    Deno.test(`normalizeIn() and normalizeOut() match SAELens's ${mode} for [${rows}, ${n}]`, async () => {
      const x = randomArray(rows * n, n, 4);
      const bDec = randomArray(n, 9, 0.5);
      const t = GpuTensor.fromHost(gpu, { shape: [rows, n], data: x });
      const encoder = gpu.device.createCommandEncoder();
      const { xIn, undo } = normalizeIn(gpu, encoder, t, { mode, scale: 0.37, bDec: uploadBuffer(gpu, bDec, "b_dec") });
      const y = GpuTensor.fromHost(gpu, { shape: [rows, n], data: x });
      normalizeOut(gpu, encoder, y, undo, mode);
      gpu.device.queue.submit([encoder.finish()]);
      const ref = reference(x, rows, n, mode, 0.37, bDec);
      assertClose(await xIn.read(), ref.out, 2e-5 * 4, "normalized input");
      assertClose(await y.read(), Array.from(x, (v, i) => ref.inverse[Math.floor(i / n)](v)), 1e-4, "inverse");
    });
  }
}

Deno.test("spliceError() adds the clean reconstruction error to the edited reconstruction", async () => {
  const [x, clean, edited] = [1, 2, 3].map((seed) => randomArray(3 * 70, seed, 2));
  const up = (d: Float32Array) => GpuTensor.fromHost(gpu, { shape: [3, 70], data: d });
  const encoder = gpu.device.createCommandEncoder();
  const out = spliceError(gpu, encoder, up(x), up(clean), up(edited));
  gpu.device.queue.submit([encoder.finish()]);
  assertClose(await out.read(), Array.from(x, (v, i) => edited[i] + (v - clean[i])), 1e-6, "splice");
});
