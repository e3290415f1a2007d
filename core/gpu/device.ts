/**
 * WebGPU device acquisition: the only module that touches `navigator.gpu`.
 *
 * @module
 */

/** Raised when no WebGPU adapter or device can be had, with the way to get one. */
export class GpuUnavailableError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed and how to get a driver.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuUnavailableError";
  }
}

/** A WebGPU device with the limits sae works within. */
export interface Gpu {
  /** The device every kernel runs on. */
  device: GPUDevice;
  /** Largest storage-buffer binding in bytes; larger work is split into pieces no bigger than this. */
  maxBindingBytes: number;
  /** Largest single buffer in bytes. */
  maxBufferBytes: number;
  /** Whether the device can store tensors as f16 (`shader-f16`). */
  hasF16: boolean;
  /** Adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapter: string;
  /**
   * Returns and clears the validation and out-of-memory errors the device reported since the last
   * call. WebGPU reports them asynchronously and otherwise silently; readback raises them.
   */
  takeErrors(): string[];
}

/** Raised at readback when the device reported errors for the work that produced the values. */
export class GpuError extends Error {
  /**
   * Creates the error from the device's messages.
   *
   * @param messages The device's error messages.
   */
  constructor(messages: string[]) {
    super(`The GPU reported ${messages.length} error(s): ${messages.join("; ")}`);
    this.name = "GpuError";
  }
}

/** Options for {@linkcode requestGpu}. */
export interface RequestGpuOptions {
  /**
   * Cap the storage-binding size below the adapter's, to exercise splitting on small data.
   * @default {undefined} (the adapter's own limit)
   */
  maxBindingBytes?: number;
  /**
   * Store f16 weights as f16 when the adapter supports `shader-f16`.
   * @default {true}
   */
  allowF16?: boolean;
}

const HOW_TO_GET_A_DRIVER =
  "install a Vulkan driver; on a machine without a GPU, Mesa's lavapipe runs WebGPU on the CPU " +
  "(Debian/Ubuntu: apt-get install -y mesa-vulkan-drivers)";

/**
 * Requests a new WebGPU device with the adapter's full buffer limits.
 *
 * @example Acquire a device
 * ```ts ignore
 * import { requestGpu } from "./device.ts";
 * const gpu = await requestGpu();
 * console.log(gpu.adapter, gpu.maxBindingBytes);
 * ```
 *
 * @param options Limit overrides.
 * @returns The device and its limits.
 * @throws {GpuUnavailableError} When WebGPU, an adapter or a device is unavailable.
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<Gpu> {
  const { maxBindingBytes, allowF16 = true } = options;
  quietMesaRuntimeDirWarning();
  if (typeof navigator === "undefined" || !("gpu" in navigator)) {
    throw new GpuUnavailableError(`WebGPU is not available in this runtime: ${HOW_TO_GET_A_DRIVER}`);
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (cause) {
    throw new GpuUnavailableError(`Cannot get a WebGPU adapter: ${HOW_TO_GET_A_DRIVER}`, { cause });
  }
  if (adapter === null) {
    throw new GpuUnavailableError(`No WebGPU adapter was found: ${HOW_TO_GET_A_DRIVER}`);
  }
  const hasF16 = allowF16 && adapter.features.has("shader-f16");
  const limits = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: "sae",
      requiredFeatures: hasF16 ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      },
    });
  } catch (cause) {
    throw new GpuUnavailableError(`Cannot open the WebGPU device: ${HOW_TO_GET_A_DRIVER}`, { cause });
  }
  const adapterBinding = limits.maxStorageBufferBindingSize;
  let errors: string[] = [];
  device.addEventListener("uncapturederror", (event) => {
    errors.push((event as GPUUncapturedErrorEvent).error.message.trim());
  });
  return {
    device,
    maxBindingBytes: Math.min(adapterBinding, maxBindingBytes ?? adapterBinding, limits.maxBufferSize),
    maxBufferBytes: limits.maxBufferSize,
    hasF16,
    adapter: adapter.info?.description || adapter.info?.device || "unknown adapter",
    takeErrors() {
      const taken = errors;
      errors = [];
      return taken;
    },
  };
}

/** What an adapter says of itself: the fields of `GPUAdapterInfo` that tell hardware from a CPU fallback. */
export interface AdapterDescription {
  /** Whether the browser/runtime marks it a fallback (software) adapter. */
  isFallbackAdapter?: boolean;
  /** Device name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  device?: string;
  /** Free-form description. */
  description?: string;
  /** Vendor name. */
  vendor?: string;
}

/**
 * Asks WebGPU for its adapter without opening a device.
 *
 * @example
 * ```ts ignore
 * const info = await describeAdapter();
 * console.log(info?.device); // "llvmpipe (LLVM 15.0.6, 256 bits)"
 * ```
 *
 * @returns Its description, or `undefined` when WebGPU or an adapter is unavailable.
 */
export async function describeAdapter(): Promise<AdapterDescription | undefined> {
  quietMesaRuntimeDirWarning();
  if (typeof navigator === "undefined" || !("gpu" in navigator)) return undefined;
  try {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter === null) return undefined;
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
    return {
      isFallbackAdapter: info?.isFallbackAdapter ?? legacy,
      device: info?.device,
      description: info?.description,
      vendor: info?.vendor,
    };
  } catch {
    // A WebGPU that fails to start (no Vulkan loader, a broken driver) offers no adapter either.
    return undefined;
  }
}

let shared: Promise<Gpu> | undefined;

/**
 * Returns the process-wide device, requesting it on first use.
 *
 * @example Share one device
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * const a = await getGpu();
 * const b = await getGpu();
 * console.log(a === b); // true
 * ```
 *
 * @returns The shared device.
 * @throws {GpuUnavailableError} When no device can be had.
 */
export function getGpu(): Promise<Gpu> {
  shared ??= requestGpu().catch((error) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** Mesa warns on every start when XDG_RUNTIME_DIR is unset; point it at the temp folder. */
function quietMesaRuntimeDirWarning(): void {
  try {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
  } catch {
    // Without --allow-env Mesa only prints a warning; nothing depends on it.
  }
}
