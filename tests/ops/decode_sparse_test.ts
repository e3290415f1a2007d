import { GpuTensor, uploadBuffer } from "../../core/gpu/tensor.ts";
import { uploadWeightMatrix } from "../../core/gpu/weight_matrix.ts";
import { decodeSparse } from "../../core/ops/decode_sparse.ts";
import { topkSparse } from "../../core/ops/topk.ts";
import { assertEquals } from "../_assert.ts";
import { gpu, smallBindingGpu } from "../_gpu.ts";
import { assertClose, matmulRef, randomArray, topkRef } from "../_reference.ts";
import type { Gpu } from "../../core/gpu/device.ts";

async function check(device: Gpu, rows: number, dSae: number, dIn: number, k: number) {
  const h = randomArray(rows * dSae, dSae, 2);
  const wDec = randomArray(dSae * dIn, dIn, 0.3);
  const bDec = randomArray(dIn, 3, 1);
  const w = uploadWeightMatrix(device, wDec, dSae, dIn, { split: "rows" });
  const padded = new Float32Array(Math.ceil(dIn / 4) * 4);
  padded.set(bDec);
  const bias = uploadBuffer(device, padded, "b_dec");
  const zeros = uploadBuffer(device, new Float32Array(padded.length), "zeros");
  const rowsPerChunk = Math.floor(device.maxBindingBytes / (Math.max(dSae, dIn) * 4));
  const ht = GpuTensor.fromHost(device, { shape: [rows, dSae], data: h }, rowsPerChunk);
  const out = GpuTensor.empty(device, [rows, dIn], rowsPerChunk);
  const encoder = device.device.createCommandEncoder();
  const top = topkSparse(device, encoder, ht, k);
  decodeSparse(device, encoder, top, k, w, (i) => i === 0 ? bias : zeros, out);
  device.device.queue.submit([encoder.finish()]);
  const f = Float32Array.from(topkRef(h, rows, dSae, k));
  const ref = matmulRef(f, wDec, rows, dSae, dIn).map((v, i) => v + bDec[i % dIn]);
  assertClose(await out.read(), ref, 1e-4, "sparse decode");
  return w.blocks.length;
}

for (const [rows, dSae, dIn, k] of [[1, 8, 1, 2], [4, 1024, 127, 16], [3, 65536, 768, 32], [9, 100, 1000, 100]]) {
  Deno.test(`decodeSparse() equals the dense product for d_sae ${dSae}, d_in ${dIn}, k ${k}`, async () => {
    await check(gpu, rows, dSae, dIn, k);
  });
}

Deno.test("decodeSparse() sums over a decoder split into row blocks", async () => {
  const blocks = await check(await smallBindingGpu(8192), 5, 300, 37, 9);
  assertEquals(blocks > 1, true);
});
