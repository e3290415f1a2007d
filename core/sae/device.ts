/**
 * Where an SAE runs, in SAELens's word: `webgpu` (WGSL kernels), `cpu` (ONNX Runtime's native
 * kernels), or `auto`: WebGPU when it offers a hardware adapter, else the CPU, so that a machine
 * without a GPU needs no Vulkan driver and never waits on a software rasterizer's compute.
 *
 * @module
 */

import { type AdapterDescription, describeAdapter } from "../gpu/device.ts";

/** The device choices. */
export const DEVICES = ["auto", "webgpu", "cpu"] as const;

/** One of {@linkcode DEVICES}. */
export type Device = typeof DEVICES[number];

/** Software adapters: Mesa's lavapipe/llvmpipe, Chrome's SwiftShader, Windows' WARP. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|microsoft basic render/i;

/**
 * Whether an adapter is a CPU fallback rather than a GPU: marked so, or named as a software one.
 *
 * @example Lavapipe is a fallback
 * ```ts
 * import { isFallbackAdapter } from "./device.ts";
 * console.log(isFallbackAdapter({ device: "llvmpipe (LLVM 15.0.6, 256 bits)" })); // true
 * console.log(isFallbackAdapter({ device: "NVIDIA GeForce RTX 4090", isFallbackAdapter: false })); // false
 * ```
 */
export function isFallbackAdapter(info: AdapterDescription): boolean {
  return info.isFallbackAdapter === true ||
    [info.device, info.description, info.vendor].some((s) => s !== undefined && SOFTWARE.test(s));
}

/**
 * The device `auto` means for an adapter (or none): `webgpu` for hardware, `cpu` otherwise.
 *
 * @example
 * ```ts
 * import { deviceForAdapter } from "./device.ts";
 * console.log(deviceForAdapter(undefined)); // cpu
 * console.log(deviceForAdapter({ vendor: "apple", device: "" })); // webgpu
 * ```
 */
export function deviceForAdapter(info: AdapterDescription | undefined): "webgpu" | "cpu" {
  return info === undefined || isFallbackAdapter(info) ? "cpu" : "webgpu";
}

let auto: Promise<"webgpu" | "cpu"> | undefined;

/**
 * Resolves a device choice; `auto` asks WebGPU for its adapter once per process (and keeps
 * `webgpu` where `--allow-ffi`, which the cpu device needs, is not granted).
 *
 * @example
 * ```ts ignore
 * console.log(await resolveDevice("auto")); // cpu on a machine whose only adapter is lavapipe
 * ```
 *
 * @throws {RangeError} When `device` is not one of {@linkcode DEVICES}.
 */
export function resolveDevice(device: Device): Promise<"webgpu" | "cpu"> {
  if (!DEVICES.includes(device)) {
    throw new RangeError(
      `Cannot choose a device as it must be one of ${DEVICES.join(", ")}: current value is ${device}`,
    );
  }
  if (device !== "auto") return Promise.resolve(device);
  auto ??= (async () => {
    const adapter = await describeAdapter();
    const ffi = await Deno.permissions.query({ name: "ffi" });
    // onnxruntime-node needs --allow-ffi; without it even a fallback adapter beats no device.
    return adapter !== undefined && ffi.state !== "granted" ? "webgpu" : deviceForAdapter(adapter);
  })();
  return auto;
}

/**
 * The model's ONNX Runtime backend that `auto` means beside an SAE on `device`: WebGPU when the SAE runs on a
 * hardware GPU, so both run there; otherwise `auto` (onnxruntime-node's native kernels, as the cpu device).
 *
 * @example
 * ```ts ignore
 * const backend = await modelBackendFor(sae.device); // "auto" on a machine whose only adapter is lavapipe
 * ```
 *
 * @param device Where the SAE runs.
 * @returns The backend `auto` means for the model beside it.
 */
export async function modelBackendFor(device: "webgpu" | "cpu"): Promise<"webgpu" | "auto"> {
  return device === "webgpu" && deviceForAdapter(await describeAdapter()) === "webgpu" ? "webgpu" : "auto";
}
