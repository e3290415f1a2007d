/**
 * Tensors on the GPU, split by rows into buffers no larger than one storage binding.
 *
 * @module
 */

import { type Gpu, GpuError } from "./device.ts";
import type { HostTensor, Tensor } from "../util/tensor.ts";

export type { HostTensor } from "../util/tensor.ts";

/** Raised when one row of a tensor is larger than a storage binding can hold. */
export class BufferLimitError extends RangeError {
  /** The binding limit in bytes. */
  readonly limit: number;
  /**
   * Creates the error.
   *
   * @param message What did not fit.
   * @param limit The binding limit in bytes.
   */
  constructor(message: string, limit: number) {
    super(message);
    this.name = "BufferLimitError";
    this.limit = limit;
  }
}

/** One buffer of a {@linkcode GpuTensor}: rows `rowStart` to `rowStart + rows`. */
export interface RowChunk {
  /** Storage buffer holding `rows × cols` f32 values. */
  buffer: GPUBuffer;
  /** First row held. */
  rowStart: number;
  /** Number of rows held. */
  rows: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Bytes rounded up to 16, as buffer sizes must be multiples of 4 and uniforms of 16. */
export function paddedBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/** Queues a write of `data` (whole 4-byte words, as WebGPU requires) at the start of `buffer`. */
export function writeToBuffer(gpu: Gpu, buffer: GPUBuffer, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, Math.floor(data.byteLength / 4) * 4);
  if (bytes.length > 0) gpu.device.queue.writeBuffer(buffer, 0, bytes);
}

/** Creates a storage buffer holding `data` (padded to 16 bytes). */
export function uploadBuffer(gpu: Gpu, data: ArrayBufferView, label: string): GPUBuffer {
  const buffer = gpu.device.createBuffer({ label, size: paddedBytes(data.byteLength), usage: STORAGE });
  writeToBuffer(gpu, buffer, data);
  return buffer;
}

/** Creates a zero-filled storage buffer of at least `bytes` bytes. */
export function emptyBuffer(gpu: Gpu, bytes: number, label: string): GPUBuffer {
  return gpu.device.createBuffer({ label, size: paddedBytes(bytes), usage: STORAGE });
}

/**
 * Copies the first `bytes` of each buffer to host memory once the queued work is done.
 *
 * @throws {GpuError} When the device reported errors.
 */
export async function readBuffers(
  gpu: Gpu,
  buffers: readonly { buffer: GPUBuffer; bytes: number }[],
): Promise<ArrayBuffer[]> {
  const encoder = gpu.device.createCommandEncoder({ label: "read" });
  const staging = buffers.map(({ buffer, bytes }) => {
    const s = gpu.device.createBuffer({
      label: "read staging",
      size: paddedBytes(bytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (bytes > 0) encoder.copyBufferToBuffer(buffer, 0, s, 0, Math.ceil(bytes / 4) * 4);
    return s;
  });
  gpu.device.queue.submit([encoder.finish()]);
  await Promise.all(staging.map((s) => s.mapAsync(GPUMapMode.READ)));
  const errors = gpu.takeErrors();
  const out = errors.length > 0
    ? []
    : staging.map((s, i) => s.getMappedRange(0, paddedBytes(buffers[i].bytes)).slice(0, buffers[i].bytes));
  for (const s of staging) s.destroy();
  if (errors.length > 0) throw new GpuError(errors);
  return out;
}

/**
 * The number of rows of `cols` f32 values that fit one storage binding.
 *
 * @throws {BufferLimitError} When a single row does not fit.
 */
export function rowsPerBinding(gpu: Gpu, cols: number): number {
  const rowBytes = cols * 4;
  if (rowBytes > gpu.maxBindingBytes) {
    throw new BufferLimitError(
      `Cannot hold a row of ${cols} f32 values as a storage binding must be <= ${gpu.maxBindingBytes} bytes: current value is ${rowBytes}`,
      gpu.maxBindingBytes,
    );
  }
  return Math.floor(gpu.maxBindingBytes / rowBytes);
}

/**
 * A float32 tensor on the GPU whose leading dimensions are flattened into rows and split into
 * buffers of at most `rowsPerChunk` rows, so that no binding exceeds the device's limit.
 *
 * @example Upload and read back
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * import { GpuTensor } from "./tensor.ts";
 * const gpu = await getGpu();
 * const t = GpuTensor.fromHost(gpu, { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
 * console.log(await t.read()); // Float32Array [1, 2, 3, 4, 5, 6]
 * ```
 */
export class GpuTensor implements Tensor {
  /** Dimensions; the last is the row width. */
  readonly shape: readonly number[];
  /** Row-split buffers, in order. */
  readonly chunks: readonly RowChunk[];
  #destroyed = false;
  readonly #gpu: Gpu;

  private constructor(gpu: Gpu, shape: readonly number[], chunks: RowChunk[]) {
    this.#gpu = gpu;
    this.shape = shape;
    this.chunks = chunks;
  }

  /** The device holding the buffers. */
  get gpu(): Gpu {
    return this.#gpu;
  }

  /** Product of all but the last dimension. */
  get rows(): number {
    return this.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  }

  /** The last dimension. */
  get cols(): number {
    return this.shape[this.shape.length - 1];
  }

  /** Rows per chunk (the last chunk may hold fewer). */
  get rowsPerChunk(): number {
    return this.chunks[0]?.rows ?? 0;
  }

  /**
   * Allocates a zero-filled tensor.
   *
   * @param gpu The device.
   * @param shape Dimensions; the last is the row width.
   * @param rowsPerChunk Rows per buffer. @default {as many as one binding holds}
   */
  static empty(gpu: Gpu, shape: readonly number[], rowsPerChunk?: number, label = "tensor"): GpuTensor {
    const cols = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const per = Math.max(1, Math.min(rowsPerChunk ?? Infinity, rowsPerBinding(gpu, cols)));
    const chunks: RowChunk[] = [];
    for (let r = 0; r < rows || chunks.length === 0; r += per) {
      const n = Math.min(per, rows - r);
      chunks.push({ buffer: emptyBuffer(gpu, n * cols * 4, label), rowStart: r, rows: n });
    }
    return new GpuTensor(gpu, [...shape], chunks);
  }

  /**
   * Uploads a host tensor.
   *
   * @param gpu The device.
   * @param host The values.
   * @param rowsPerChunk Rows per buffer. @default {as many as one binding holds}
   * @throws {TypeError} When `data.length` disagrees with `shape`.
   */
  static fromHost(gpu: Gpu, host: HostTensor, rowsPerChunk?: number): GpuTensor {
    const size = host.shape.reduce((a, b) => a * b, 1);
    if (host.shape.length === 0 || size !== host.data.length) {
      throw new TypeError(
        `Cannot upload a tensor of shape [${
          host.shape.join(", ")
        }] as it needs ${size} values: current value is ${host.data.length}`,
      );
    }
    const t = GpuTensor.empty(gpu, host.shape, rowsPerChunk, "input");
    const cols = t.cols;
    for (const c of t.chunks) {
      const view = host.data.subarray(c.rowStart * cols, (c.rowStart + c.rows) * cols);
      writeToBuffer(gpu, c.buffer, view);
    }
    return t;
  }

  /**
   * Returns this tensor split into chunks of `rowsPerChunk` rows, copying on the GPU when the
   * split differs (commands recorded into `encoder`).
   */
  rechunk(encoder: GPUCommandEncoder, rowsPerChunk: number): GpuTensor {
    if (
      this.chunks.every((c, i) =>
        c.rowStart === i * rowsPerChunk && (c.rows === rowsPerChunk || i === this.chunks.length - 1)
      )
    ) {
      return this;
    }
    const out = GpuTensor.empty(this.#gpu, this.shape, rowsPerChunk, "rechunked");
    const rowBytes = this.cols * 4;
    for (const dst of out.chunks) {
      for (const src of this.chunks) {
        const start = Math.max(dst.rowStart, src.rowStart);
        const end = Math.min(dst.rowStart + dst.rows, src.rowStart + src.rows);
        if (end <= start) continue;
        encoder.copyBufferToBuffer(
          src.buffer,
          (start - src.rowStart) * rowBytes,
          dst.buffer,
          (start - dst.rowStart) * rowBytes,
          (end - start) * rowBytes,
        );
      }
    }
    return out;
  }

  /** The same buffers seen with another shape of equal row width and row count. */
  reshape(shape: readonly number[]): GpuTensor {
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (shape[shape.length - 1] !== this.cols || rows !== this.rows) {
      throw new TypeError(
        `Cannot reshape [${this.shape.join(", ")}] to [${shape.join(", ")}] as the row width and row count must stay`,
      );
    }
    return new GpuTensor(this.#gpu, [...shape], [...this.chunks]);
  }

  /**
   * Copies the values to host memory once the queued work is done.
   *
   * @throws {GpuError} When the device reported errors (an invalid kernel, out of memory).
   * @throws {TypeError} When the tensor was destroyed.
   */
  async read(): Promise<Float32Array> {
    if (this.#destroyed) throw new TypeError("Cannot read this tensor as it was destroyed");
    const cols = this.cols;
    const parts = await readBuffers(
      this.#gpu,
      this.chunks.map((c) => ({ buffer: c.buffer, bytes: c.rows * cols * 4 })),
    );
    const out = new Float32Array(this.rows * cols);
    this.chunks.forEach((c, i) => out.set(new Float32Array(parts[i]), c.rowStart * cols));
    return out;
  }

  /** Copies the values to a host tensor of the same shape. */
  async toHost(): Promise<HostTensor> {
    return { shape: [...this.shape], data: await this.read() };
  }

  /** Frees the GPU buffers; reading the tensor afterwards is an error. */
  destroy(): void {
    this.#destroyed = true;
    for (const c of this.chunks) c.buffer.destroy();
  }
}
