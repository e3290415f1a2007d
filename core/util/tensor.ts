/**
 * The result of an SAE op on either device: a float32 tensor whose values are read asynchronously.
 * `GpuTensor` (WebGPU buffers) and `CpuTensor` (ONNX Runtime on the CPU) implement it.
 *
 * @module
 */

/** A float32 tensor in host memory, row-major. */
export interface HostTensor {
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Elements, row-major; length is the product of `shape`. */
  data: Float32Array;
}

/**
 * A float32 tensor held by a device, row-major, its leading dimensions flattened into rows.
 *
 * @example Read an SAE's features, whatever device it runs on
 * ```ts ignore
 * const features: Tensor = sae.encode(acts);
 * console.log(features.shape, (await features.read()).length);
 * features.destroy();
 * ```
 */
export interface Tensor {
  /** Dimensions; the last is the row width. */
  readonly shape: readonly number[];
  /** Product of all but the last dimension. */
  readonly rows: number;
  /** The last dimension. */
  readonly cols: number;
  /** A copy of the values once the work producing them is done. */
  read(): Promise<Float32Array>;
  /** The values as a host tensor of the same shape. */
  toHost(): Promise<HostTensor>;
  /** Frees what the tensor holds; it must not be used afterwards. */
  destroy(): void;
}
