import assert from "node:assert/strict";
import { assertEquals, assertThrows } from "../_assert.ts";
import { gpu } from "../_gpu.ts";
import { emptyBuffer, readBuffers, uploadBuffer } from "../../core/gpu/tensor.ts";
import { SparseTopK } from "../../core/train/sparse_topk.ts";
import { TrainKernels } from "../../core/train/train_kernels.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";
import {
  type Lists,
  referenceDecode,
  referenceDecoderGrad,
  referenceEncoderGrad,
  referenceLists,
  referenceValueGrad,
  type Scaled,
  start,
} from "./_sparse_reference.ts";

// Tolerance relative to the sum of the absolute values of each result's terms.
const REL = 1e-5;

interface Case {
  dIn: number;
  dSae: number;
  rows: number;
  k: number;
  batch?: boolean;
  /** Matryoshka level ends; each level gets its own dx̂. @default {[dSae]} */
  widths?: number[];
  /** AuxK: latents j % 3 == 0 are dead; values need not be positive. */
  aux?: boolean;
  /** Values quantized to eighths, so ties at the threshold are common. */
  ties?: boolean;
  /** List capacity. @default {rows × k} */
  capacity?: number;
  /** Also compare with the dense kernels (which need latent ranges of whole quads). @default {true} */
  dense?: boolean;
}

const f32 = (n: number, seed: number, scale = 1) => {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
};

function inputs(c: Case) {
  const { dIn, dSae, rows } = c;
  const pre = f32(rows * dSae, 1);
  if (c.ties) pre.forEach((v, i) => pre[i] = Math.round(v * 8) / 8);
  const widths = c.widths ?? [dSae];
  return {
    pre,
    mask: c.aux ? Float32Array.from({ length: dSae }, (_, j) => j % 3 === 0 ? 1 : 0) : undefined,
    xIn: f32(rows * dIn, 2),
    wDec: f32(dSae * dIn, 3, 0.5),
    bDec: f32(dIn, 4),
    dOuts: widths.map((_, l) => f32(rows * dIn, 10 + l)),
    wDecGrad: f32(dSae * dIn, 5, 0.1),
    wEncGrad: f32(dIn * dSae, 6, 0.1),
    bEncGrad: f32(dSae, 7, 0.1),
    widths,
  };
}

type Inputs = ReturnType<typeof inputs>;

async function read(buffers: GPUBuffer[], counts: number[]): Promise<ArrayBuffer[]> {
  return await readBuffers(gpu, buffers.map((buffer, i) => ({ buffer, bytes: counts[i] * 4 })));
}

/** Runs the sparse ops; returns the lists, thresholds and every float output. */
async function runSparse(c: Case, x: Inputs) {
  const { dIn, dSae, rows, k } = c;
  const up = (v: Float32Array, label: string) => uploadBuffer(gpu, v, label);
  const pre = up(x.pre, "pre"), wDec = up(x.wDec, "wDec"), bDec = up(x.bDec, "bDec"), xIn = up(x.xIn, "xIn");
  const wDecGrad = up(x.wDecGrad, "wDecGrad"), wEncGrad = up(x.wEncGrad, "wEncGrad");
  const bEncGrad = up(x.bEncGrad, "bEncGrad"), dOuts = x.dOuts.map((d) => up(d, "dOut"));
  const mask = x.mask && up(x.mask, "mask");
  const thresholds = emptyBuffer(gpu, rows * 4, "thresholds");
  const recons = x.widths.map(() => emptyBuffer(gpu, rows * dIn * 4, "recon"));
  const list = SparseTopK.create(gpu, { rows, dSae, capacity: c.capacity ?? rows * k });
  const enc = gpu.device.createCommandEncoder();
  new TrainKernels(gpu, { d_in: dIn, d_sae: dSae }).select(
    enc,
    c.batch ? { segments: 1, segmentLength: rows * dSae, k: k * rows } : {
      segments: rows,
      segmentLength: dSae,
      k,
      deadOnly: mask !== undefined,
    },
    { values: pre, deadMask: mask ?? pre, out: thresholds },
  );
  list.select(enc, { pre, thresholds, rows, batch: c.batch, mask, relu: !c.aux });
  x.widths.forEach((end, l) => {
    const begin = l === 0 ? 0 : x.widths[l - 1];
    list.decode(enc, { wDec, bDec, out: recons[l], dIn, width: end });
    list.valueGrad(enc, { dOut: dOuts[l], wDec, dIn, start: begin, end });
    list.decoderGrad(enc, { dOut: dOuts[l], wDecGrad, dIn, start: begin, end });
  });
  list.encoderGrad(enc, { xIn, wEncGrad, bEncGrad, dIn });
  gpu.device.queue.submit([enc.finish()]);
  const kept = await list.keptCount(), n = Math.min(kept, list.capacity);
  const parts = await read(
    [list.rowPtr, list.index, list.value, list.rowOf, list.colPtr, list.colRow, list.colEntry, list.dValue],
    [rows + 1, n, n, n, dSae + 1, n, n, n],
  );
  const floats = await read([thresholds, wDecGrad, wEncGrad, bEncGrad, ...recons], [
    rows,
    dSae * dIn,
    dIn * dSae,
    dSae,
    ...recons.map(() => rows * dIn),
  ]);
  list.destroy();
  for (const b of [pre, wDec, bDec, xIn, wDecGrad, wEncGrad, bEncGrad, thresholds, ...dOuts, ...recons]) b.destroy();
  mask?.destroy();
  const [rowPtr, index, value, rowOf, colPtr, colRow, colEntry, valueGrad] = parts;
  const lists: Lists = {
    rowPtr: new Uint32Array(rowPtr),
    index: new Uint32Array(index),
    value: new Float32Array(value),
    rowOf: new Uint32Array(rowOf),
    colPtr: new Uint32Array(colPtr),
    colRow: new Uint32Array(colRow),
    colEntry: new Uint32Array(colEntry),
  };
  const [thr, dec, wEnc, bEnc, ...recon] = floats.map((f) => new Float32Array(f));
  return {
    kept,
    lists,
    valueGrad: new Float32Array(valueGrad),
    thr,
    dec,
    wEnc,
    bEnc,
    recon,
    bytes: [...parts, ...floats],
  };
}

/** The dense path for the same inputs: acts, f·W_dec per level, ∂f, ∂W_dec, ∂W_enc and ∂b_enc. */
async function runDense(c: Case, x: Inputs, thr: Float32Array) {
  const { dIn, dSae, rows } = c;
  const wide = rows * dSae, narrow = rows * dIn;
  const up = (v: Float32Array, label: string) => uploadBuffer(gpu, v, label);
  const pre = up(x.pre, "pre"), wDec = up(x.wDec, "wDec"), xIn = up(x.xIn, "xIn"), thresholds = up(thr, "thr");
  const wDecGrad = up(x.wDecGrad, "wDecGrad"), wEncGrad = up(x.wEncGrad, "wEncGrad");
  const bEncGrad = up(x.bEncGrad, "bEncGrad"), dOuts = x.dOuts.map((d) => up(d, "dOut"));
  const mask = x.mask && up(x.mask, "mask");
  const acts = emptyBuffer(gpu, wide * 4, "acts"), wDecT = emptyBuffer(gpu, dIn * dSae * 4, "wDecT");
  const t = emptyBuffer(gpu, wide * 4, "t"), dpre = emptyBuffer(gpu, wide * 4, "dpre");
  const recons = x.widths.map(() => emptyBuffer(gpu, narrow * 4, "recon"));
  const enc = gpu.device.createCommandEncoder();
  const k = new TrainKernels(gpu, { d_in: dIn, d_sae: dSae });
  const minPositive = up(new Float32Array(1), "min"), bDec = up(x.bDec, "bDec");
  const zero = emptyBuffer(gpu, wide * 4, "zero");
  const size = { count: wide, cols: dSae };
  if (c.aux) k.elementwise(enc, "auxk_select", size, { src: pre, aux: thresholds, dst: acts, col: mask });
  else {
    k.elementwise(enc, "threshold", size, { src: pre, aux: thresholds, dst: acts, minPositive }, {
      flag: c.batch ? 1 : 0,
    });
  }
  k.elementwise(enc, "transpose", { count: dIn * dSae, cols: dSae }, { src: wDec, dst: wDecT });
  x.widths.forEach((end, l) => {
    const begin = l === 0 ? 0 : x.widths[l - 1], n = end - begin;
    k.matmul(enc, { a: acts, b: wDec, c: recons[l] }, {
      m: rows,
      n: dIn,
      k: end,
      as0: dSae,
      as1: 1,
      ldb: dIn,
      ldc: dIn,
    });
    k.addBias(enc, recons[l], bDec, { count: narrow, cols: dIn });
    k.matmul(enc, { a: dOuts[l], b: wDecT, c: t }, {
      m: rows,
      n,
      k: dIn,
      as0: dIn,
      as1: 1,
      bOff: begin,
      ldb: dSae,
      cOff: begin,
      ldc: dSae,
    });
    k.matmul(enc, { a: acts, b: dOuts[l], c: wDecGrad }, {
      m: n,
      n: dIn,
      k: rows,
      aOff: begin,
      as0: 1,
      as1: dSae,
      ldb: dIn,
      cOff: begin * dIn,
      ldc: dIn,
      acc: true,
    });
  });
  // AuxK's acts are the selected pre-activations themselves: train_backward's flag path.
  k.backward(
    enc,
    "topk",
    { count: wide, c1: 0, c2: 0, flag: c.aux ? 1 : 0 },
    c.aux ? { acts, pre: acts, dActs: zero, dAux: t, dPre: dpre } : { acts, pre, dActs: t, dAux: t, dPre: dpre },
  );
  k.matmul(enc, { a: xIn, b: dpre, c: wEncGrad }, {
    m: dIn,
    n: dSae,
    k: rows,
    as0: 1,
    as1: dIn,
    ldb: dSae,
    ldc: dSae,
    acc: true,
  });
  k.columnSum(enc, dpre, bEncGrad, { rows, cols: dSae });
  gpu.device.queue.submit([enc.finish()]);
  const out = await read([t, wDecGrad, wEncGrad, bEncGrad, ...recons], [
    wide,
    dSae * dIn,
    dIn * dSae,
    dSae,
    ...recons.map(() => narrow),
  ]);
  const all = [pre, wDec, bDec, xIn, thresholds, wDecGrad, wEncGrad, bEncGrad, acts, wDecT, t, dpre, zero, minPositive];
  for (const b of [...all, ...dOuts, ...recons, mask]) b?.destroy();
  const [tt, dec, wEnc, bEnc, ...recon] = out.map((b) => new Float32Array(b));
  return { t: tt, dec, wEnc, bEnc, recon };
}

function assertClose(actual: ArrayLike<number>, expected: Scaled, what: string): void {
  assertEquals(actual.length, expected.value.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected.value[i]);
    assert(
      err <= REL * expected.scale[i] + 1e-30,
      `${what}[${i}]: ${actual[i]} vs ${expected.value[i]} (scale ${expected.scale[i]})`,
    );
  }
}

/** Checks every op against the float64 reference and against the dense path, then repeats bit for bit. */
async function check(c: Case): Promise<Lists> {
  const x = inputs(c);
  const s = await runSparse(c, x);
  const { dIn, dSae, rows } = c;
  const ref = referenceLists(x.pre, s.thr, rows, dSae, { batch: c.batch ?? false, mask: x.mask, relu: !c.aux });
  assertEquals(s.kept, ref.index.length, "kept count");
  assertEquals(s.lists, ref);
  let vg: Scaled = { value: new Float64Array(ref.index.length), scale: new Float64Array(ref.index.length) };
  let dec = start(x.wDecGrad);
  x.widths.forEach((end, l) => {
    const begin = l === 0 ? 0 : x.widths[l - 1];
    assertClose(s.recon[l], referenceDecode(ref, x.wDec, x.bDec, dIn, end), `decode width ${end}`);
    vg = referenceValueGrad(ref, x.dOuts[l], x.wDec, dIn, begin, end, vg);
    dec = referenceDecoderGrad(ref, x.dOuts[l], dec, dIn, begin, end);
  });
  assertClose(s.valueGrad, vg, "valueGrad");
  assertClose(s.dec, dec, "W_dec.grad");
  const g = referenceEncoderGrad(
    ref,
    x.xIn,
    Float64Array.from(s.valueGrad),
    start(x.wEncGrad),
    start(x.bEncGrad),
    dIn,
    dSae,
  );
  assertClose(s.wEnc, g.wEnc, "W_enc.grad");
  assertClose(s.bEnc, g.bEnc, "b_enc.grad");

  // The dense products these replace agree within the same tolerance.
  if (c.dense !== false) {
    const d = await runDense(c, x, s.thr);
    x.widths.forEach((end, l) => {
      assertClose(s.recon[l], {
        value: Float64Array.from(d.recon[l]),
        scale: referenceDecode(ref, x.wDec, x.bDec, dIn, end).scale,
      }, `dense decode ${end}`);
    });
    const tAtKept = Float64Array.from(ref.index, (j, e) => d.t[ref.rowOf[e] * dSae + j]);
    assertClose(s.valueGrad, { value: tAtKept, scale: vg.scale }, "dense ∂f at kept entries");
    assertClose(s.dec, { value: Float64Array.from(d.dec), scale: dec.scale }, "dense W_dec.grad");
    assertClose(s.wEnc, { value: Float64Array.from(d.wEnc), scale: g.wEnc.scale }, "dense W_enc.grad");
    assertClose(s.bEnc, { value: Float64Array.from(d.bEnc), scale: g.bEnc.scale }, "dense b_enc.grad");
  }
  const again = await runSparse(c, x);
  assertEquals(again.bytes.map((b) => new Uint8Array(b)), s.bytes.map((b) => new Uint8Array(b)), "second run");
  return ref;
}

const perRow = (l: Lists) => Array.from(l.rowPtr.subarray(1), (v, r) => v - l.rowPtr[r]);

for (
  const c of [
    { dIn: 12, dSae: 40, rows: 7, k: 5 },
    { dIn: 64, dSae: 256, rows: 64, k: 16 },
    { dIn: 12, dSae: 256, rows: 64, k: 1 },
    { dIn: 64, dSae: 40, rows: 7, k: 1 },
    { dIn: 64, dSae: 256, rows: 7, k: 5 },
  ]
) {
  Deno.test(`SparseTopK matches the reference and the dense path for TopK at d_in ${c.dIn}, d_sae ${c.dSae}, rows ${c.rows}, k ${c.k}`, async () => {
    const lists = await check(c);
    assertEquals(perRow(lists), new Array(c.rows).fill(c.k));
  });
}

for (
  const c of [
    { dIn: 64, dSae: 40, rows: 7, k: 5, batch: true },
    { dIn: 12, dSae: 256, rows: 64, k: 16, batch: true },
  ]
) {
  Deno.test(`SparseTopK matches the reference and the dense path for BatchTopK at d_in ${c.dIn}, d_sae ${c.dSae}, rows ${c.rows}, k ${c.k}`, async () => {
    const lists = await check(c);
    assertEquals(lists.index.length, c.rows * c.k);
    assert(new Set(perRow(lists)).size > 2, `uneven counts per row: ${perRow(lists)}`);
  });
}

Deno.test("SparseTopK matches the dense path for matryoshka BatchTopK levels", async () => {
  await check({ dIn: 64, dSae: 256, rows: 64, k: 16, batch: true, widths: [32, 100, 256] });
  await check({ dIn: 12, dSae: 40, rows: 7, k: 5, batch: true, widths: [4, 16, 40] });
  // matmul.wgsl reads B in vec4s from a vec4 offset, so the dense ∂f covers only whole quads of a level:
  // levels of 5, 12 and 23 latents are checked against the float64 reference alone.
  await check({ dIn: 12, dSae: 40, rows: 7, k: 5, batch: true, widths: [5, 17, 40], dense: false });
});

Deno.test("SparseTopK matches AuxK's selection of dead latents", async () => {
  await check({ dIn: 12, dSae: 40, rows: 7, k: 5, aux: true });
});

Deno.test("SparseTopK keeps every tie at the threshold, as the dense path does", async () => {
  const c = { dIn: 12, dSae: 40, rows: 7, k: 5, ties: true, capacity: 7 * 40 };
  const lists = await check(c);
  assert(perRow(lists).some((n) => n > c.k), `a row keeps more than k: ${perRow(lists)}`);
});

Deno.test("SparseTopK.keptCount() reports an overflow, and the ops still run deterministically", async () => {
  const c = { dIn: 12, dSae: 40, rows: 7, k: 5, capacity: 20 };
  const x = inputs(c);
  const a = await runSparse(c, x), b = await runSparse(c, x);
  assertEquals(a.kept, 35);
  assertEquals(a.bytes.map((v) => new Uint8Array(v)), b.bytes.map((v) => new Uint8Array(v)));
});

Deno.test("SparseTopK rejects bad sizes", () => {
  assertThrows(
    () => SparseTopK.create(gpu, { rows: 65537, dSae: 8, capacity: 8 }),
    RangeError,
    "rows must be <= 65536",
  );
  assertThrows(
    () => SparseTopK.create(gpu, { rows: 4, dSae: 0, capacity: 8 }),
    RangeError,
    "dSae must be a positive integer",
  );
  const list = SparseTopK.create(gpu, { rows: 4, dSae: 8, capacity: 8 });
  const enc = gpu.device.createCommandEncoder();
  assertThrows(
    () => list.select(enc, { pre: list.value, thresholds: list.value, rows: 5 }),
    RangeError,
    "rows must be an integer in [1, 4]",
  );
  assertThrows(
    () => list.decode(enc, { wDec: list.value, bDec: list.value, out: list.value, dIn: 6 }),
    RangeError,
    "dIn must be a positive multiple of 4",
  );
  assertThrows(
    () => list.decoderGrad(enc, { dOut: list.value, wDecGrad: list.value, dIn: 4, start: 3, end: 9 }),
    RangeError,
    "current value is [3, 9)",
  );
  list.destroy();
});
