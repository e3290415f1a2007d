/**
 * Tensors in host memory produced by ONNX Runtime on the CPU: the values arrive asynchronously, so an
 * op returns at once and a later op (decode(encode(x))) chains on them without a copy.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { Tensor } from "../util/tensor.ts";

/**
 * A float32 tensor whose values a CPU session is computing.
 *
 * @example Wrap host values
 * ```ts
 * import { CpuTensor } from "./cpu_tensor.ts";
 * const t = CpuTensor.fromHost({ shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
 * console.log(t.rows, t.cols, await t.read()); // 2 3 Float32Array [1, 2, 3, 4, 5, 6]
 * ```
 */
export class CpuTensor implements Tensor {
  /** Dimensions; the last is the row width. */
  readonly shape: readonly number[];
  readonly #values: Promise<Float32Array>;
  #destroyed = false;

  /**
   * Creates the tensor.
   *
   * @param shape Dimensions.
   * @param values The row-major values, once computed; a rejection surfaces at `read()`.
   */
  constructor(shape: readonly number[], values: Promise<Float32Array>) {
    this.shape = [...shape];
    this.#values = values;
    // A tensor nobody reads must not turn a failed run into an unhandled rejection.
    values.catch(() => {});
  }

  /**
   * Wraps host values (not copied).
   *
   * @throws {TypeError} When `data.length` disagrees with `shape`.
   */
  static fromHost(host: HostTensor): CpuTensor {
    const n = host.shape.reduce((a, b) => a * b, 1);
    if (host.data.length !== n) {
      throw new TypeError(
        `Cannot wrap a host tensor as its data must hold ${n} values for shape [${
          host.shape.join(", ")
        }]: current value is ${host.data.length}`,
      );
    }
    return new CpuTensor(host.shape, Promise.resolve(host.data));
  }

  /** Product of all but the last dimension. */
  get rows(): number {
    return this.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  }

  /** The last dimension. */
  get cols(): number {
    return this.shape[this.shape.length - 1];
  }

  /** The values themselves, not copied: for ops that only read them. */
  values(): Promise<Float32Array> {
    return this.#values;
  }

  /** The same values seen with another shape of equal row width and row count. */
  reshape(shape: readonly number[]): CpuTensor {
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (shape[shape.length - 1] !== this.cols || rows !== this.rows) {
      throw new TypeError(
        `Cannot reshape [${this.shape.join(", ")}] to [${shape.join(", ")}] as the row width and row count must stay`,
      );
    }
    return new CpuTensor(shape, this.#values);
  }

  /**
   * A copy of the values, once computed.
   *
   * @throws {TypeError} When the tensor was destroyed.
   */
  async read(): Promise<Float32Array> {
    if (this.#destroyed) throw new TypeError("Cannot read this tensor as it was destroyed");
    return new Float32Array(await this.#values);
  }

  /** A copy of the values as a host tensor of the same shape. */
  async toHost(): Promise<HostTensor> {
    return { shape: [...this.shape], data: await this.read() };
  }

  /** Nothing to free (the values are garbage-collected host memory), but reading it afterwards is an error. */
  destroy(): void {
    this.#destroyed = true;
  }
}
