/**
 * A model weight as it is kept in memory: float32, or the checkpoint's own 16-bit type (bfloat16, float16) for models
 * whose float32 copy would not fit, widened to float32 only while the part of the forward that reads it runs.
 *
 * @module
 */

/** How a weight's values are kept. */
export type WeightDtype = "float32" | "bfloat16" | "float16";

/**
 * One weight tensor, row-major.
 *
 * @example A bfloat16 weight widened
 * ```ts
 * import { WeightTensor } from "./weight_tensor.ts";
 * const w = new WeightTensor([2], "bfloat16", Uint16Array.of(0x3f80, 0xc000)); // 1, -2
 * console.log([...w.toFloat32()], w.bytes); // [1, -2] 4
 * ```
 */
export class WeightTensor {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** How the values are kept. */
  readonly dtype: WeightDtype;
  readonly #data: Float32Array | Uint16Array;

  /**
   * Wraps values (not copied).
   *
   * @param shape Dimensions.
   * @param dtype How `data` holds the values.
   * @param data Float32Array for float32, the raw 16-bit words otherwise.
   * @throws {TypeError} When the data's type or length does not fit.
   */
  constructor(shape: readonly number[], dtype: WeightDtype, data: Float32Array | Uint16Array) {
    const size = shape.reduce((a, b) => a * b, 1);
    if ((dtype === "float32") !== (data instanceof Float32Array) || data.length !== size) {
      throw new TypeError(`A ${dtype} weight of shape [${shape}] needs ${size} values: got ${data.length}`);
    }
    this.shape = shape;
    this.dtype = dtype;
    this.#data = data;
  }

  /**
   * A float32 weight.
   *
   * @example
   * ```ts
   * import { WeightTensor } from "./weight_tensor.ts";
   * console.log(WeightTensor.float32([1, 2], Float32Array.of(1, 2)).shape); // [1, 2]
   * ```
   *
   * @param shape Dimensions.
   * @param data The values.
   * @returns The weight.
   */
  static float32(shape: readonly number[], data: Float32Array): WeightTensor {
    return new WeightTensor(shape, "float32", data);
  }

  /** Number of values. */
  get size(): number {
    return this.#data.length;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#data.byteLength;
  }

  /**
   * The float32 values themselves, for code that changes weights in place (weight processing).
   *
   * @throws {TypeError} When the weight is kept in 16 bits.
   */
  get data(): Float32Array {
    if (!(this.#data instanceof Float32Array)) {
      throw new TypeError(`This weight is kept as ${this.dtype}: widen it with toFloat32() first`);
    }
    return this.#data;
  }

  /**
   * How many values are NaN or ±Inf (read off the bits of a 16-bit weight, with no widening).
   *
   * @example
   * ```ts
   * import { WeightTensor } from "./weight_tensor.ts";
   * console.log(WeightTensor.float32([3], Float32Array.of(1, NaN, Infinity)).nonFinite()); // 2
   * ```
   */
  nonFinite(): number {
    const data = this.#data;
    let n = 0;
    if (data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
    } else {
      // an all-ones exponent: bfloat16's 8 bits at 0x7f80, float16's 5 at 0x7c00
      const exponent = this.dtype === "bfloat16" ? 0x7f80 : 0x7c00;
      for (let i = 0; i < data.length; i++) if ((data[i] & exponent) === exponent) n++;
    }
    return n;
  }

  /** The float32 values: the stored array for a float32 weight, a new widened copy otherwise. */
  toFloat32(): Float32Array {
    return this.#data instanceof Float32Array ? this.#data : this.widenInto(new Float32Array(this.size));
  }

  /**
   * Widens the values into `out` (its first `size` entries).
   *
   * @param out A buffer of at least `size` floats.
   * @returns `out`'s first `size` entries.
   */
  widenInto(out: Float32Array): Float32Array {
    const view = out.subarray(0, this.size);
    widen(this.#data, this.dtype, 0, this.size, view);
    return view;
  }

  /**
   * The transpose of a 2-D weight, kept as it is kept (GPT-2's Conv1D [in, out] matrices become [out, in]).
   *
   * @example
   * ```ts
   * import { WeightTensor } from "./weight_tensor.ts";
   * const t = WeightTensor.float32([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)).transpose();
   * console.log(t.shape, [...t.data]); // [3, 2] [1, 4, 2, 5, 3, 6]
   * ```
   *
   * @returns A new weight.
   */
  transpose(): WeightTensor {
    const [rows, cols] = this.shape;
    const src = this.#data;
    const out = src instanceof Float32Array ? new Float32Array(src.length) : new Uint16Array(src.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
    }
    return new WeightTensor([cols, rows], this.dtype, out);
  }

  /**
   * Some rows of a 2-D weight, in the order asked, kept as it is kept (a fused q/k/v matrix split).
   *
   * @example
   * ```ts
   * import { WeightTensor } from "./weight_tensor.ts";
   * const w = WeightTensor.float32([3, 2], Float32Array.of(1, 2, 3, 4, 5, 6));
   * console.log([...w.selectRows([2, 0]).data]); // [5, 6, 1, 2]
   * ```
   *
   * @param rows Row indices.
   * @returns A new weight [rows.length, shape[1]].
   */
  selectRows(rows: readonly number[]): WeightTensor {
    const width = this.shape[1];
    const src = this.#data;
    const out = src instanceof Float32Array
      ? new Float32Array(rows.length * width)
      : new Uint16Array(rows.length * width);
    rows.forEach((r, i) => out.set(src.subarray(r * width, (r + 1) * width), i * width));
    return new WeightTensor([rows.length, width], this.dtype, out);
  }

  /**
   * Rows of a 2-D weight as float32, in the order asked.
   *
   * @param rows Row indices.
   * @returns [rows.length, shape[1]] values.
   */
  rows(rows: readonly number[]): Float32Array {
    const width = this.shape[1];
    const out = new Float32Array(rows.length * width);
    rows.forEach((r, i) => widen(this.#data, this.dtype, r * width, width, out.subarray(i * width, (i + 1) * width)));
    return out;
  }
}

function widen(data: Float32Array | Uint16Array, dtype: WeightDtype, start: number, count: number, out: Float32Array) {
  if (data instanceof Float32Array) {
    out.set(data.subarray(start, start + count));
  } else if (dtype === "bfloat16") {
    // a bfloat16 is the top half of a float32
    const words = new Uint32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) words[i] = data[start + i] << 16;
  } else {
    out.set(new Float16Array(data.buffer, data.byteOffset + start * 2, count));
  }
}
