import { GpuTensor, readBuffers } from "../../core/gpu/tensor.ts";
import { topkDense, topkSparse } from "../../core/ops/topk.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { gpu } from "../_gpu.ts";
import { assertClose, randomArray, topkRef } from "../_reference.ts";

async function dense(h: Float32Array, rows: number, n: number, k: number): Promise<Float32Array> {
  const t = GpuTensor.fromHost(gpu, { shape: [rows, n], data: h });
  const out = GpuTensor.empty(gpu, [rows, n]);
  const encoder = gpu.device.createCommandEncoder();
  topkDense(gpu, encoder, t, out, k);
  gpu.device.queue.submit([encoder.finish()]);
  return await out.read();
}

for (const [rows, n, k] of [[1, 1, 1], [3, 7, 3], [5, 1000, 32], [2, 65536, 64], [4, 24576, 1], [2, 33, 33]]) {
  Deno.test(`topkDense() keeps the ${k} largest of rows of ${n} like the reference (${rows} rows)`, async () => {
    const h = randomArray(rows * n, n + k, 3);
    assertClose(await dense(h, rows, n, k), topkRef(h, rows, n, k), 0, "top-k");
  });
}

Deno.test("topkDense() breaks ties at the threshold towards lower indices", async () => {
  const h = new Float32Array([1, 5, 5, 5, 2, 5, -1, 0]);
  assertEquals(Array.from(await dense(h, 1, 8, 3)), [0, 5, 5, 5, 0, 0, 0, 0]);
});

Deno.test("topkDense() applies ReLU to kept negatives", async () => {
  const h = new Float32Array([-3, -1, -2, -0.5]);
  assertEquals(Array.from(await dense(h, 1, 4, 2)), [0, 0, 0, 0]);
});

Deno.test("topkSparse() returns the kept entries in ascending index order", async () => {
  const rows = 3, n = 777, k = 20;
  const h = randomArray(rows * n, 5, 2);
  const t = GpuTensor.fromHost(gpu, { shape: [rows, n], data: h });
  const encoder = gpu.device.createCommandEncoder();
  const [chunk] = topkSparse(gpu, encoder, t, k);
  gpu.device.queue.submit([encoder.finish()]);
  const [values, indices] = await readBuffers(gpu, [
    { buffer: chunk.values, bytes: rows * k * 4 },
    { buffer: chunk.indices, bytes: rows * k * 4 },
  ]);
  const v = new Float32Array(values), idx = new Uint32Array(indices);
  for (let r = 0; r < rows; r++) {
    const row = h.subarray(r * n, (r + 1) * n);
    const expected = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b).slice(0, k).sort((a, b) => a - b);
    assertEquals(Array.from(idx.slice(r * k, (r + 1) * k)), expected);
    assertEquals(Array.from(v.slice(r * k, (r + 1) * k)), expected.map((i) => Math.max(row[i], 0)));
  }
});

Deno.test("topkDense() rejects k outside 1..n", () => {
  const t = GpuTensor.fromHost(gpu, { shape: [1, 4], data: new Float32Array(4) });
  const encoder = gpu.device.createCommandEncoder();
  assertThrows(() => topkDense(gpu, encoder, t, t, 5), RangeError, "k must be an integer in 1..4: current value is 5");
});
