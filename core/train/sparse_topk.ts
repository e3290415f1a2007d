/**
 * Sparse training ops for the TopK family: the kept latents of each row as compact lists on the GPU,
 * and the decode, ∂/∂value and weight gradients computed from them instead of dense products over
 * d_sae (sparsify's idea). Every op records dispatches into a caller's command encoder; every sum
 * runs in a fixed order, so results are the same bits every run.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Binding, dispatch, type KernelSpec, MAX_WORKGROUPS_PER_DIM } from "../gpu/pipelines.ts";
import { emptyBuffer, readBuffers } from "../gpu/tensor.ts";
import { elementwiseGroups } from "../ops/elementwise.ts";
import selectWgsl from "../../shaders/train_sparse_select.wgsl" with { type: "text" };
import decodeWgsl from "../../shaders/train_sparse_decode.wgsl" with { type: "text" };
import gradWgsl from "../../shaders/train_sparse_grad.wgsl" with { type: "text" };

const kernel = (name: string, code: string) => (entryPoint: string): KernelSpec => ({
  sources: [{ name, code }],
  entryPoint,
});
const SELECT = kernel("train_sparse_select", selectWgsl);
const DECODE = kernel("train_sparse_decode", decodeWgsl);
const GRAD = kernel("train_sparse_grad", gradWgsl);

/** Most rows one list holds (a workgroup per row, folded into 2-D). */
export const SPARSE_TOPK_MAX_ROWS = 65536;

/** Sizes of a {@linkcode SparseTopK}'s buffers. */
export interface SparseTopKOptions {
  /** Most rows a selection covers (a micro-batch); at most {@linkcode SPARSE_TOPK_MAX_ROWS}. */
  rows: number;
  /** Latents per row (d_sae). */
  dSae: number;
  /**
   * Most kept entries over all rows. TopK and BatchTopK keep `rows × k` unless values tie at the
   * threshold (the dense path keeps every tie): leave room, and check {@linkcode SparseTopK.keptCount}.
   */
  capacity: number;
}

/** Which entries of `pre` a selection keeps: the dense path's `threshold` or `auxk_select`. */
export interface SparseSelectOptions {
  /** Pre-activations [rows, d_sae], row-major f32. */
  pre: Binding;
  /** f32 thresholds: one per row (TopK, train_select.wgsl's output), or one for all (`batch`). */
  thresholds: Binding;
  /** Rows of `pre` to select from; at most the `rows` the list was created with. */
  rows: number;
  /** One threshold (`thresholds[0]`) for the whole batch (BatchTopK). @default {false} */
  batch?: boolean;
  /** f32 per latent: only latents with a non-zero mask are kept (AuxK's dead mask). @default {all kept} */
  mask?: Binding;
  /**
   * Keep positive values only (TopK's ReLU). With `false`, any non-zero value at or above the
   * threshold is kept, as AuxK's selection does. @default {true}
   */
  relu?: boolean;
}

/** The latents an op covers: [start, end). */
export interface LatentRange {
  /** First latent. @default {0} */
  start?: number;
  /** Latent after the last. @default {d_sae} */
  end?: number;
}

/**
 * The kept entries of a [rows, d_sae] activation as row- and column-compressed lists on the GPU,
 * and the training ops that use them. Buffers (all storage, COPY_SRC | COPY_DST):
 * - `rowPtr` u32 [rows + 1]: row r's entries are positions rowPtr[r] to rowPtr[r + 1]; rowPtr[rows]
 *   is the total kept, which may exceed `capacity` (then positions >= capacity are left out).
 * - `index` u32, `value` f32, `rowOf` u32 [capacity]: each entry's latent (ascending within a row),
 *   its value (the dense activation), its row.
 * - `colPtr` u32 [d_sae + 1], `colRow` u32, `colEntry` u32 [capacity]: latent j's entries are
 *   positions colPtr[j] to colPtr[j + 1], ascending by row; colEntry is the entry's position in the
 *   row lists (capacity when left out). colPtr[j + 1] − colPtr[j] counts the rows that fired j.
 * - `dValue` f32 [capacity]: ∂loss/∂value per entry, which is ∂loss/∂pre for the TopK family.
 *
 * @example Decode a TopK batch from its kept latents
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { SparseTopK } from "./sparse_topk.ts";
 * const gpu = await getGpu();
 * const list = SparseTopK.create(gpu, { rows: 64, dSae: 256, capacity: 64 * 16 });
 * const enc = gpu.device.createCommandEncoder();
 * list.select(enc, { pre, thresholds, rows: 64 }); // thresholds from train_select.wgsl, k = 16
 * list.decode(enc, { wDec, bDec, out: recon, dIn: 64 });
 * gpu.device.queue.submit([enc.finish()]);
 * console.log(await list.keptCount() <= list.capacity); // true unless values tied
 * ```
 */
export class SparseTopK {
  /** Most rows. */
  readonly maxRows: number;
  /** Latents per row. */
  readonly dSae: number;
  /** Most entries held. */
  readonly capacity: number;
  /** Row offsets, u32 [maxRows + 1]. */
  readonly rowPtr: GPUBuffer;
  /** Latent per entry, u32 [capacity]. */
  readonly index: GPUBuffer;
  /** Value per entry, f32 [capacity]. */
  readonly value: GPUBuffer;
  /** Row per entry, u32 [capacity]. */
  readonly rowOf: GPUBuffer;
  /** Column offsets, u32 [dSae + 1]. */
  readonly colPtr: GPUBuffer;
  /** Row per column entry, u32 [capacity]. */
  readonly colRow: GPUBuffer;
  /** Row-list position per column entry, u32 [capacity]. */
  readonly colEntry: GPUBuffer;
  /** ∂loss/∂value per entry, f32 [capacity]. */
  readonly dValue: GPUBuffer;
  readonly #gpu: Gpu;
  #rows = 0;

  private constructor(gpu: Gpu, { rows, dSae, capacity }: SparseTopKOptions) {
    this.#gpu = gpu;
    this.maxRows = rows;
    this.dSae = dSae;
    this.capacity = capacity;
    const b = (count: number, name: string) => emptyBuffer(gpu, count * 4, `sparse topk ${name}`);
    this.rowPtr = b(rows + 1, "rowPtr");
    this.index = b(capacity, "index");
    this.value = b(capacity, "value");
    this.rowOf = b(capacity, "rowOf");
    this.colPtr = b(dSae + 1, "colPtr");
    this.colRow = b(capacity, "colRow");
    this.colEntry = b(capacity, "colEntry");
    this.dValue = b(capacity, "dValue");
  }

  /**
   * Allocates the lists.
   *
   * @example Room for a TopK micro-batch
   * ```ts ignore
   * const list = SparseTopK.create(gpu, { rows: 4096, dSae: 24576, capacity: 4096 * 32 });
   * ```
   *
   * @param gpu The device.
   * @param options Most rows, latents per row, most entries.
   * @returns Empty lists.
   * @throws {RangeError} When a size is not a positive integer or rows exceed 65536.
   */
  static create(gpu: Gpu, options: SparseTopKOptions): SparseTopK {
    const { rows, dSae, capacity } = options;
    for (const [name, v] of [["rows", rows], ["dSae", dSae], ["capacity", capacity]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot create a sparse list as ${name} must be a positive integer: current value is ${v}`,
        );
      }
    }
    if (rows > SPARSE_TOPK_MAX_ROWS) {
      throw new RangeError(
        `Cannot create a sparse list as rows must be <= ${SPARSE_TOPK_MAX_ROWS}: current value is ${rows}`,
      );
    }
    return new SparseTopK(gpu, options);
  }

  /** Rows covered by the last recorded {@linkcode SparseTopK.select}. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Records the selection: the row lists (count, prefix sum, write) and their transpose.
   *
   * @example BatchTopK with one threshold
   * ```ts ignore
   * list.select(enc, { pre, thresholds: batchThreshold, rows, batch: true });
   * ```
   *
   * @param encoder Collects the dispatches.
   * @param options The pre-activations, thresholds and rule.
   * @throws {RangeError} When `rows` exceeds the lists' rows.
   */
  select(encoder: GPUCommandEncoder, options: SparseSelectOptions): void {
    const { pre, thresholds, rows, batch = false, mask, relu = true } = options;
    if (!Number.isInteger(rows) || rows < 1 || rows > this.maxRows) {
      throw new RangeError(
        `Cannot select as rows must be an integer in [1, ${this.maxRows}]: current value is ${rows}`,
      );
    }
    this.#rows = rows;
    const params = (n: number) =>
      new Uint32Array([rows, this.dSae, this.capacity, batch ? 1 : 0, mask ? 1 : 0, relu ? 1 : 0, n]);
    const inputs = [pre, thresholds, mask ?? thresholds];
    const rowGroups: [number, number] = [
      Math.min(rows, MAX_WORKGROUPS_PER_DIM),
      Math.ceil(rows / MAX_WORKGROUPS_PER_DIM),
    ];
    const gpu = this.#gpu, p = params(0), u = undefined;
    const scan = (counts: GPUBuffer, n: number) =>
      dispatch(gpu, encoder, SELECT("scan"), params(n), [u, u, u, u, u, u, u, u, u, u, counts], [1, 1]);
    dispatch(gpu, encoder, SELECT("count"), p, [...inputs, this.rowPtr], rowGroups);
    scan(this.rowPtr, rows);
    dispatch(gpu, encoder, SELECT("write"), p, [...inputs, this.rowPtr, this.index, this.value, this.rowOf], rowGroups);
    const colGroups = elementwiseGroups(this.dSae);
    dispatch(gpu, encoder, SELECT("col_count"), p, [...inputs, u, u, u, u, this.colPtr], colGroups);
    scan(this.colPtr, this.dSae);
    dispatch(gpu, encoder, SELECT("col_write"), p, [
      ...inputs,
      this.rowPtr,
      this.index,
      u,
      u,
      this.colPtr,
      this.colRow,
      this.colEntry,
    ], colGroups);
  }

  /**
   * Records x̂[r] = b_dec + Σ value · W_dec[index] over row r's entries with index < `width`
   * (without b_dec when `bDec` is left out, as for AuxK's decode).
   *
   * @example The reconstruction of a matryoshka level of 128 latents
   * ```ts ignore
   * list.decode(enc, { wDec, bDec, out: levelRecon, dIn: 768, width: 128 });
   * ```
   *
   * @param encoder Collects the dispatch.
   * @param options `wDec` f32 [d_sae, dIn], `bDec` f32 [dIn] (optional), `out` f32 [rows, dIn] (overwritten),
   *   `width` the matryoshka prefix (@default {d_sae}).
   * @throws {RangeError} When `dIn` is not a positive multiple of 4 or `width` is out of range.
   */
  decode(
    encoder: GPUCommandEncoder,
    options: { wDec: Binding; bDec?: Binding; out: Binding; dIn: number; width?: number },
  ): void {
    const { wDec, bDec, out, dIn, width = this.dSae } = options;
    const d4 = this.#quads(dIn);
    const [, end] = this.#range({ end: width });
    const u = undefined;
    dispatch(
      this.#gpu,
      encoder,
      DECODE("decode"),
      new Uint32Array([this.#rows, d4, this.capacity, 0, end, bDec ? 1 : 0]),
      [this.rowPtr, this.index, this.value, u, wDec, bDec ?? wDec, u, out],
      elementwiseGroups(this.#rows * d4),
    );
  }

  /**
   * Records dValue[e] = dx̂[row] · W_dec[index] for the entries whose latent lies in the range;
   * other entries keep their value (one call per matryoshka level, each with its level's dx̂).
   *
   * @example ∂/∂value from the reconstruction's gradient
   * ```ts ignore
   * list.valueGrad(enc, { dOut: reconGrad, wDec, dIn: 768 });
   * ```
   *
   * @param encoder Collects the dispatch.
   * @param options `dOut` f32 [rows, dIn], `wDec` f32 [d_sae, dIn], the latent range.
   * @throws {RangeError} When `dIn` is not a positive multiple of 4 or the range is out of bounds.
   */
  valueGrad(
    encoder: GPUCommandEncoder,
    options: { dOut: Binding; wDec: Binding; dIn: number } & LatentRange,
  ): void {
    const d4 = this.#quads(options.dIn);
    const [start, end] = this.#range(options);
    const u = undefined;
    dispatch(
      this.#gpu,
      encoder,
      DECODE("value_grad"),
      new Uint32Array([this.#rows, d4, this.capacity, start, end, 0]),
      [this.rowPtr, this.index, u, this.rowOf, options.wDec, u, options.dOut, u, this.dValue],
      elementwiseGroups(this.capacity),
    );
  }

  /**
   * Records W_dec.grad[j] += Σ value · dx̂[r] over the entries (r, j), for j in the range.
   *
   * @example The decoder gradient of one matryoshka level
   * ```ts ignore
   * list.decoderGrad(enc, { dOut: levelGradSum, wDecGrad, dIn: 768, start: 128, end: 512 });
   * ```
   *
   * @param encoder Collects the dispatch.
   * @param options `dOut` f32 [rows, dIn], `wDecGrad` f32 [d_sae, dIn] (accumulated), the range.
   * @throws {RangeError} When `dIn` is not a positive multiple of 4 or the range is out of bounds.
   */
  decoderGrad(
    encoder: GPUCommandEncoder,
    options: { dOut: Binding; wDecGrad: Binding; dIn: number } & LatentRange,
  ): void {
    const d4 = this.#quads(options.dIn);
    const [start, end] = this.#range(options);
    const u = undefined;
    dispatch(
      this.#gpu,
      encoder,
      GRAD("decoder_grad"),
      new Uint32Array([d4, this.dSae, this.capacity, start, end]),
      [this.colPtr, this.colRow, this.colEntry, this.value, u, options.dOut, options.wDecGrad],
      elementwiseGroups((end - start) * d4),
    );
  }

  /**
   * Records W_enc.grad[:, j] += Σ x_in[r] · dValue and b_enc.grad[j] += Σ dValue over the
   * entries (r, j): the encoder's gradients, as ∂/∂pre is ∂/∂value on kept entries and 0 elsewhere.
   *
   * @example After valueGrad()
   * ```ts ignore
   * list.encoderGrad(enc, { xIn: saeIn, wEncGrad, bEncGrad, dIn: 768 });
   * ```
   *
   * @param encoder Collects the dispatch.
   * @param options `xIn` f32 [rows, dIn] (the encoder's input), `wEncGrad` f32 [dIn, d_sae] and
   *   `bEncGrad` f32 [d_sae] (both accumulated).
   * @throws {RangeError} When `dIn` is not a positive multiple of 4.
   */
  encoderGrad(
    encoder: GPUCommandEncoder,
    options: { xIn: Binding; wEncGrad: Binding; bEncGrad: Binding; dIn: number },
  ): void {
    const d4 = this.#quads(options.dIn);
    const u = undefined;
    dispatch(
      this.#gpu,
      encoder,
      GRAD("encoder_grad"),
      new Uint32Array([d4, this.dSae, this.capacity, 0, this.dSae]),
      [this.colPtr, this.colRow, this.colEntry, u, this.dValue, options.xIn, u, options.wEncGrad, options.bEncGrad],
      elementwiseGroups(this.dSae * d4),
    );
  }

  /**
   * Reads how many entries the last selection kept (after the queued work). More than `capacity`
   * means some were left out and the ops' results are incomplete.
   *
   * @example Check for overflow
   * ```ts ignore
   * if (await list.keptCount() > list.capacity) throw new RangeError("ties overflowed the list");
   * ```
   *
   * @returns The total kept, rowPtr[rows].
   */
  async keptCount(): Promise<number> {
    const [rowPtr] = await readBuffers(this.#gpu, [{ buffer: this.rowPtr, bytes: (this.#rows + 1) * 4 }]);
    return new Uint32Array(rowPtr)[this.#rows];
  }

  /** Frees the buffers; the lists must not be used afterwards. */
  destroy(): void {
    for (const b of [this.rowPtr, this.index, this.value, this.rowOf, this.colPtr, this.colRow, this.colEntry]) {
      b.destroy();
    }
    this.dValue.destroy();
  }

  #quads(dIn: number): number {
    if (!Number.isInteger(dIn) || dIn < 4 || dIn % 4 !== 0) {
      throw new RangeError(`Cannot run a sparse op as dIn must be a positive multiple of 4: current value is ${dIn}`);
    }
    return dIn / 4;
  }

  #range({ start = 0, end = this.dSae }: LatentRange): [number, number] {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > this.dSae || start > end) {
      throw new RangeError(
        `Cannot run a sparse op as the latent range must lie in [0, ${this.dSae}]: current value is [${start}, ${end})`,
      );
    }
    return [start, end];
  }
}
