/**
 * Matrix products (`shaders/matmul.wgsl`), the one kernel behind inference's products against stored
 * weights (with a fused epilogue) and training's strided products.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, type KernelSpec, MAX_WORKGROUPS_PER_DIM, type WgslSource } from "../gpu/pipelines.ts";
import type { GpuTensor } from "../gpu/tensor.ts";
import type { WeightBlock, WeightMatrix } from "../gpu/weight_matrix.ts";
import matmulWgsl from "../../shaders/matmul.wgsl" with { type: "text" };
import epilogueNoneWgsl from "../../shaders/epilogue_none.wgsl" with { type: "text" };

const MATMUL: WgslSource = { name: "matmul", code: matmulWgsl };
const WORKGROUP = 64;

/** The epilogue of a product without one: C = A · B. */
export const NO_EPILOGUE: WgslSource = { name: "epilogue_none", code: epilogueNoneWgsl };

/** The epilogue fused into a product: its WGSL and, per weight block, its buffers (bindings 4+). */
export interface Epilogue {
  /** WGSL defining `fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32>` and its bindings. */
  source: WgslSource;
  /** The epilogue's buffers for a weight block. */
  buffers(block: WeightBlock, blockIndex: number): GPUBuffer[];
}

/**
 * `MatmulParams` of `shaders/matmul.wgsl` by name, less the row fold:
 * C[i, j] (+)= epilogue(Σ_k A[i, k] · B[k, j]) with A[i, k] = a[aOff + i·as0 + k·as1],
 * B[k, 4q..4q+3] = b[bOff4 + k·ldb4 + q] (vec4s) and C[i, j] = c[cOff + i·ldc + j].
 */
export interface MatmulUniforms {
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** A's first element. */
  aOff: number;
  /** A's stride between rows of C. */
  as0: number;
  /** A's stride along k. */
  as1: number;
  /** B's first vec4. */
  bOff4: number;
  /** B's row stride in vec4s. */
  ldb4: number;
  /** C's first element. */
  cOff: number;
  /** C's row stride. */
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate: boolean;
}

/** How a product's kernel is compiled. */
export interface MatmulKernel {
  /** Rows of C per invocation (1..16). */
  rows: number;
  /** Invocations per workgroup, each taking four columns. */
  workgroup: number;
  /** The fused epilogue's WGSL ({@linkcode NO_EPILOGUE} for none). */
  epilogue: WgslSource;
  /** B stored as f16. @default {false} */
  f16?: boolean;
}

/**
 * Records C (+)= epilogue(A · B) over buffers addressed through strides, folding rows past the
 * per-dimension workgroup limit into further dispatches.
 *
 * @example C = Aᵀ · B for A [k, m], B [k, n]
 * ```ts ignore
 * const u = { m, n, k, aOff: 0, as0: 1, as1: m, bOff4: 0, ldb4: n / 4, cOff: 0, ldc: n, accumulate: false };
 * stridedMatmul(gpu, encoder, { rows: 16, workgroup: 32, epilogue: NO_EPILOGUE }, u, { a, b, c });
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param kernel Rows per invocation, workgroup size, epilogue and B's storage type.
 * @param u Shape, offsets and strides.
 * @param b Buffers `a`, `b`, `c`, and the epilogue's (bindings 4+).
 */
export function stridedMatmul(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  kernel: MatmulKernel,
  u: MatmulUniforms,
  b: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer; epilogue?: readonly GPUBuffer[] },
): void {
  const spec: KernelSpec = {
    sources: [MATMUL, kernel.epilogue],
    consts: { ROWS: kernel.rows },
    overrides: { WG: kernel.workgroup },
    f16: kernel.f16,
  };
  const groupsX = Math.ceil(Math.ceil(u.n / 4) / kernel.workgroup);
  const rowsPerDispatch = MAX_WORKGROUPS_PER_DIM * kernel.rows;
  for (let rowStart = 0; rowStart < u.m; rowStart += rowsPerDispatch) {
    const params = new Uint32Array([
      u.m,
      u.n,
      u.k,
      u.aOff,
      u.as0,
      u.as1,
      u.bOff4,
      u.ldb4,
      u.cOff,
      u.ldc,
      u.accumulate ? 1 : 0,
      rowStart,
    ]);
    const groupsY = Math.ceil(Math.min(rowsPerDispatch, u.m - rowStart) / kernel.rows);
    dispatch(gpu, encoder, spec, params, [b.a, b.b, b.c, ...(b.epilogue ?? [])], [groupsX, groupsY]);
  }
}

/** Rows per invocation: 16 measured fastest; small batches compute fewer redundant rows. */
function rowsPerInvocation(m: number): number {
  return m >= 16 ? 16 : m >= 8 ? 8 : m >= 4 ? 4 : m >= 2 ? 2 : 1;
}

/**
 * Records `out = epilogue(a · W)` for every row chunk of `a`.
 *
 * Column-split weights write their block of columns; row-split weights sum their row ranges into
 * `out` (the first block writes, the rest accumulate), so a row-split product's epilogue must be
 * linear with its constant term in block 0 only.
 *
 * @example Decode features
 * ```ts ignore
 * matmul(gpu, encoder, features, wDec, recon, biasEpilogue);
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param a Left operand [rows, W.rows], chunked like `out`.
 * @param w Right operand.
 * @param out Result [rows, W.cols].
 * @param epilogue Fused elementwise tail.
 * @throws {TypeError} When the shapes or row chunks disagree.
 */
export function matmul(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  a: GpuTensor,
  w: WeightMatrix,
  out: GpuTensor,
  epilogue: Epilogue,
): void {
  if (a.cols !== w.rows || out.cols !== w.cols || a.rows !== out.rows || a.chunks.length !== out.chunks.length) {
    throw new TypeError(
      `Cannot multiply [${a.rows}, ${a.cols}] by [${w.rows}, ${w.cols}] into [${out.rows}, ${out.cols}] as the shapes or row chunks disagree`,
    );
  }
  const kernel = {
    rows: rowsPerInvocation(a.rowsPerChunk),
    workgroup: WORKGROUP,
    epilogue: epilogue.source,
    f16: w.f16,
  };
  a.chunks.forEach((chunk, ci) => {
    w.blocks.forEach((block, bi) => {
      stridedMatmul(gpu, encoder, kernel, {
        m: chunk.rows,
        n: block.cols,
        k: block.rows,
        aOff: block.row0,
        as0: a.cols,
        as1: 1,
        bOff4: 0,
        ldb4: block.ldb4,
        cOff: block.col0,
        ldc: out.cols,
        accumulate: block.row0 > 0,
      }, { a: chunk.buffer, b: block.buffer, c: out.chunks[ci].buffer, epilogue: epilogue.buffers(block, bi) });
    });
  });
}
