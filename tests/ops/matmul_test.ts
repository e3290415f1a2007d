import { assertEquals } from "../_assert.ts";
import { GpuTensor, readBuffers, uploadBuffer } from "../../core/gpu/tensor.ts";
import { uploadColumnVector, uploadWeightMatrix } from "../../core/gpu/weight_matrix.ts";
import { matmul, NO_EPILOGUE, stridedMatmul } from "../../core/ops/matmul.ts";
import type { Gpu } from "../../core/gpu/device.ts";
import { gpu, smallBindingGpu } from "../_gpu.ts";
import { assertClose, matmulRef, randomArray } from "../_reference.ts";
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };
import encodeRelu from "../../shaders/encode_relu.wgsl" with { type: "text" };

async function runProduct(
  device: Gpu,
  m: number,
  k: number,
  n: number,
  split: "rows" | "cols",
  relu: boolean,
  f16 = false,
) {
  const a = randomArray(m * k, m * 31 + k, 1);
  const b = randomArray(k * n, k * 7 + n, 0.5);
  const bias = randomArray(n, n, 0.5);
  const w = uploadWeightMatrix(device, b, k, n, { split, f16 });
  // Operands share a row split, as the SAE arranges: the wider row decides it.
  const rowsPerChunk = Math.floor(device.maxBindingBytes / (Math.max(k, n) * 4));
  const x = GpuTensor.fromHost(device, { shape: [m, k], data: a }, rowsPerChunk);
  const out = GpuTensor.empty(device, [m, n], rowsPerChunk);
  const biasBlocks = split === "cols" ? uploadColumnVector(device, w, bias, "bias") : w.blocks.map((_, i) => {
    const v = new Float32Array(Math.ceil(n / 4) * 4);
    if (i === 0) v.set(bias);
    return uploadColumnVector(
      device,
      { ...w, blocks: [{ ...w.blocks[0], col0: 0, cols: n, ldb4: Math.ceil(n / 4) }] },
      v,
      "b",
    )[0];
  });
  const encoder = device.device.createCommandEncoder();
  matmul(device, encoder, x, w, out, {
    source: relu ? { name: "encode_relu", code: encodeRelu } : { name: "epilogue_bias", code: epilogueBias },
    buffers: (_b, i) => [biasBlocks[i]],
  });
  device.device.queue.submit([encoder.finish()]);
  const got = await out.read();
  const bRef = f16 ? Float32Array.from(new Float16Array(b)) : b;
  const ref = matmulRef(a, bRef, m, k, n).map((v, i) => {
    const y = v + bias[i % n];
    return relu ? Math.max(y, 0) : y;
  });
  return { got, ref, blocks: w.blocks.length };
}

for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [17, 127, 33], [1, 1000, 64], [33, 768, 130], [2, 13, 65536]]) {
  Deno.test(`matmul() with a ReLU epilogue matches the reference for [${m}, ${k}] x [${k}, ${n}]`, async () => {
    const { got, ref } = await runProduct(gpu, m, k, n, "cols", true);
    assertClose(got, ref, 1e-4 * Math.sqrt(k), "product");
  });
}

Deno.test("matmul() over f16-stored weights matches the reference with those weights", async () => {
  if (!gpu.hasF16) throw new Error("the adapter lacks shader-f16, which lavapipe and the CI machine have");
  const { got, ref } = await runProduct(gpu, 9, 257, 99, "cols", false, true);
  assertClose(got, ref, 1e-3, "f16 product");
});

Deno.test("matmul() splits weights larger than a binding into column blocks", async () => {
  const small = await smallBindingGpu(4096);
  const { got, ref, blocks } = await runProduct(small, 5, 37, 301, "cols", true);
  assertEquals(blocks > 1, true);
  assertClose(got, ref, 1e-4, "column-split product");
});

Deno.test("matmul() sums row-split weights (decoder) with the bias once", async () => {
  const small = await smallBindingGpu(2048);
  const { got, ref, blocks } = await runProduct(small, 6, 300, 11, "rows", false);
  assertEquals(blocks > 1, true);
  assertClose(got, ref, 1e-4, "row-split product");
});

for (const rows of [16, 3]) {
  Deno.test(`stridedMatmul() adds Aᵀ · B at offsets into C (${rows} rows per invocation)`, async () => {
    // C[2.., 5..5+n] += Aᵀ[m, k] · B[k, 8..8+n], with A stored [k, m + 3] from column 3, n not a multiple of 4.
    const [m, k, n, lda, ldb, ldc] = [19, 23, 10, 22, 20, 17];
    const a = randomArray(k * lda, 1), b = randomArray(k * ldb, 2), c = randomArray(24 * ldc, 3);
    const aT = Float32Array.from({ length: m * k }, (_, e) => a[Math.floor(e % k) * lda + 3 + Math.floor(e / k)]);
    const bCols = Float32Array.from({ length: k * n }, (_, e) => b[Math.floor(e / n) * ldb + 8 + (e % n)]);
    const buffers = { a: uploadBuffer(gpu, a, "a"), b: uploadBuffer(gpu, b, "b"), c: uploadBuffer(gpu, c, "c") };
    const encoder = gpu.device.createCommandEncoder();
    stridedMatmul(gpu, encoder, { rows, workgroup: 32, epilogue: NO_EPILOGUE }, {
      m,
      n,
      k,
      aOff: 3,
      as0: 1,
      as1: lda,
      bOff4: 2,
      ldb4: ldb / 4,
      cOff: 2 * ldc + 5,
      ldc,
      accumulate: true,
    }, buffers);
    gpu.device.queue.submit([encoder.finish()]);
    const [bytes] = await readBuffers(gpu, [{ buffer: buffers.c, bytes: c.byteLength }]);
    const got = new Float32Array(bytes);
    const product = matmulRef(aT, bCols, m, k, n);
    const ref = Float64Array.from(c);
    product.forEach((v, e) => ref[(2 + Math.floor(e / n)) * ldc + 5 + (e % n)] += v);
    assertClose(got, ref, 1e-5 * Math.sqrt(k), "strided product");
  });
}
