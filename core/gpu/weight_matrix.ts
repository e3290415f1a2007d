/**
 * Weight matrices on the GPU: row-major [rows, cols], stored in blocks that each fit one storage
 * binding, with rows padded to whole vec4s so kernels read four columns per load.
 *
 * @module
 */

import type { Gpu } from "./device.ts";
import { BufferLimitError, uploadBuffer } from "./tensor.ts";

/** One stored block: rows `row0..row0+rows` × columns `col0..col0+cols` of the matrix. */
export interface WeightBlock {
  /** The block's values, rows of `ldb4` vec4s. */
  buffer: GPUBuffer;
  /** First matrix row held. */
  row0: number;
  /** Rows held. */
  rows: number;
  /** First matrix column held. */
  col0: number;
  /** Columns held. */
  cols: number;
  /** Row stride in vec4s (columns rounded up to 4, divided by 4). */
  ldb4: number;
}

/** How a matrix too large for one binding is split. */
export type WeightSplit = "rows" | "cols";

/** Options for {@linkcode uploadWeightMatrix}. */
export interface UploadWeightOptions {
  /** Split into row blocks (decoders: sums over row ranges) or column blocks (encoders). */
  split: WeightSplit;
  /** Store as f16 (the device must have `shader-f16`). @default {false} */
  f16?: boolean;
  /** Debug label. @default {"weights"} */
  label?: string;
}

/** A weight matrix on the GPU. */
export interface WeightMatrix {
  /** Matrix rows. */
  rows: number;
  /** Matrix columns. */
  cols: number;
  /** Stored as f16. */
  f16: boolean;
  /** Blocks covering the matrix, in order. */
  blocks: WeightBlock[];
}

/**
 * Uploads a row-major matrix, split so every block fits one storage binding.
 *
 * @example Upload a small encoder
 * ```ts ignore
 * const w = uploadWeightMatrix(gpu, new Float32Array(6), 2, 3, { split: "cols" });
 * console.log(w.blocks.length); // 1
 * ```
 *
 * @param gpu The device.
 * @param values Row-major values, `rows × cols`.
 * @param rows Matrix rows.
 * @param cols Matrix columns.
 * @param options Split direction and storage type.
 * @returns The uploaded matrix.
 * @throws {BufferLimitError} When not even one block of 4 columns or 1 row fits a binding.
 */
export function uploadWeightMatrix(
  gpu: Gpu,
  values: Float32Array,
  rows: number,
  cols: number,
  options: UploadWeightOptions,
): WeightMatrix {
  const { split, f16 = false, label = "weights" } = options;
  const elementBytes = f16 ? 2 : 4;
  const limit = gpu.maxBindingBytes;
  const blocks: WeightBlock[] = [];
  const tooLarge = (what: string, bytes: number) =>
    new BufferLimitError(
      `Cannot store ${label} [${rows}, ${cols}] as one ${what} must fit a binding of <= ${limit} bytes: current value is ${bytes}`,
      limit,
    );
  if (split === "cols") {
    const fit = Math.floor(limit / (Math.max(rows, 1) * elementBytes * 4)) * 4;
    if (fit < 4) throw tooLarge("column block of 4", rows * elementBytes * 4);
    for (let c0 = 0; c0 < cols; c0 += fit) {
      blocks.push(packBlock(gpu, values, cols, 0, rows, c0, Math.min(fit, cols - c0), f16, label));
    }
  } else {
    const ldb4 = Math.ceil(cols / 4);
    const fit = Math.floor(limit / (ldb4 * 4 * elementBytes));
    if (fit < 1) throw tooLarge("row", ldb4 * 4 * elementBytes);
    for (let r0 = 0; r0 < rows; r0 += fit) {
      blocks.push(packBlock(gpu, values, cols, r0, Math.min(fit, rows - r0), 0, cols, f16, label));
    }
  }
  return { rows, cols, f16, blocks };
}

function packBlock(
  gpu: Gpu,
  values: Float32Array,
  ld: number,
  row0: number,
  rows: number,
  col0: number,
  cols: number,
  f16: boolean,
  label: string,
): WeightBlock {
  const ldb4 = Math.ceil(cols / 4);
  const packed = f16 ? new Float16Array(rows * ldb4 * 4) : new Float32Array(rows * ldb4 * 4);
  for (let r = 0; r < rows; r++) {
    const src = (row0 + r) * ld + col0;
    packed.set(values.subarray(src, src + cols), r * ldb4 * 4);
  }
  return { buffer: uploadBuffer(gpu, packed, label), row0, rows, col0, cols, ldb4 };
}

/**
 * Uploads the slice of a per-column vector that belongs to each column block, padded to vec4s.
 *
 * @param gpu The device.
 * @param matrix The column-split matrix the vector goes with.
 * @param vector One value per matrix column.
 * @param label Debug label.
 * @returns One buffer per block, in block order.
 */
export function uploadColumnVector(gpu: Gpu, matrix: WeightMatrix, vector: Float32Array, label: string): GPUBuffer[] {
  return matrix.blocks.map((b) => {
    const padded = new Float32Array(b.ldb4 * 4);
    padded.set(vector.subarray(b.col0, b.col0 + b.cols));
    return uploadBuffer(gpu, padded, label);
  });
}

/** Frees the matrix's buffers. */
export function destroyWeightMatrix(matrix: WeightMatrix): void {
  for (const b of matrix.blocks) b.buffer.destroy();
}
