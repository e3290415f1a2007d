/**
 * Compiles WGSL kernels once per device and records their dispatches.
 *
 * A kernel is one or more WGSL sources joined in order (a main loop and the epilogue it calls),
 * preceded by the `const`s that size register arrays and the storage type of weights.
 *
 * @module
 */

import type { Gpu } from "./device.ts";
import { writeToBuffer } from "./tensor.ts";

/** A named piece of WGSL. */
export interface WgslSource {
  /** Name used in labels and cache keys; unique per text. */
  name: string;
  /** The WGSL text. */
  code: string;
}

/** What identifies one compiled pipeline. */
export interface KernelSpec {
  /** Sources joined in order. */
  sources: readonly WgslSource[];
  /** Entry point. @default {"main"} */
  entryPoint?: string;
  /** Module-scope `const`s prepended to the sources (array sizes cannot be overrides). */
  consts?: Readonly<Record<string, number>>;
  /** Pipeline-overridable constants (`override` in WGSL). */
  overrides?: Readonly<Record<string, number>>;
  /** Weights stored as f16 (`WeightVec` is `vec4<f16>`) rather than f32. @default {false} */
  f16?: boolean;
}

const cache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function keyOf(spec: KernelSpec): string {
  const sorted = (r?: Readonly<Record<string, number>>) =>
    Object.entries(r ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(",");
  return [
    spec.sources.map((s) => s.name).join("+"),
    spec.entryPoint ?? "main",
    sorted(spec.consts),
    sorted(spec.overrides),
    spec.f16 ? "f16" : "f32",
  ].join("|");
}

function composeWgsl(spec: KernelSpec): string {
  const header = spec.f16 ? "enable f16;\nalias WeightVec = vec4<f16>;\n" : "alias WeightVec = vec4<f32>;\n";
  const consts = Object.entries(spec.consts ?? {}).map(([k, v]) => `const ${k}: u32 = ${v}u;\n`).join("");
  return header + consts + spec.sources.map((s) => s.code).join("\n");
}

/**
 * Returns the compute pipeline for a kernel, compiling it on first use for this device.
 *
 * @example Compile a trivial kernel
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * import { getPipeline } from "./pipelines.ts";
 * const gpu = await getGpu();
 * const p = getPipeline(gpu, { sources: [{ name: "noop", code: "@compute @workgroup_size(1) fn main() {}" }] });
 * console.log(p.label); // "noop"
 * ```
 *
 * @param gpu The device.
 * @param spec Sources, entry point and constants.
 * @returns The cached pipeline.
 */
export function getPipeline(gpu: Gpu, spec: KernelSpec): GPUComputePipeline {
  let perDevice = cache.get(gpu.device);
  if (!perDevice) cache.set(gpu.device, perDevice = new Map());
  const key = keyOf(spec);
  let pipeline = perDevice.get(key);
  if (!pipeline) {
    const label = spec.sources.map((s) => s.name).join("+");
    const module = gpu.device.createShaderModule({ label, code: composeWgsl(spec) });
    pipeline = gpu.device.createComputePipeline({
      label,
      layout: "auto",
      compute: { module, entryPoint: spec.entryPoint ?? "main", constants: spec.overrides },
    });
    perDevice.set(key, pipeline);
  }
  return pipeline;
}

/** Size of the pooled uniform buffers: every kernel's parameters fit. */
const UNIFORM_BYTES = 256;
/** Free uniform buffers of each device. */
const freeUniforms = new WeakMap<GPUDevice, GPUBuffer[]>();
/** The pooled uniform buffers bound in each encoder, free again once its submitted work is done. */
const boundUniforms = new WeakMap<GPUCommandEncoder, GPUBuffer[]>();

/** A uniform buffer holding `params`: a recycled one where it fits, else a new one. */
function uniformFor(gpu: Gpu, encoder: GPUCommandEncoder, params: Uint32Array | Float32Array): GPUBuffer {
  const pooled = params.byteLength <= UNIFORM_BYTES;
  const uniform = (pooled ? freeUniforms.get(gpu.device)?.pop() : undefined) ?? gpu.device.createBuffer({
    label: "kernel params",
    size: pooled ? UNIFORM_BYTES : Math.ceil(params.byteLength / 16) * 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  writeToBuffer(gpu, uniform, params);
  if (pooled) {
    const bound = boundUniforms.get(encoder) ?? [];
    bound.push(uniform);
    boundUniforms.set(encoder, bound);
  }
  return uniform;
}

/**
 * Submits the encoders' commands and, once the queue has done them, returns the uniform buffers their dispatches
 * bound to the pool (encoders submitted otherwise just let theirs be collected).
 *
 * @example
 * ```ts ignore
 * const encoder = gpu.device.createCommandEncoder();
 * dispatch(gpu, encoder, spec, params, [buffer], [1, 1]);
 * submit(gpu, encoder);
 * ```
 *
 * @param gpu The device.
 * @param encoders The encoders, submitted in order.
 */
export function submit(gpu: Gpu, ...encoders: GPUCommandEncoder[]): void {
  const used = encoders.flatMap((e) => boundUniforms.get(e) ?? []);
  gpu.device.queue.submit(encoders.map((e) => e.finish()));
  if (used.length === 0) return;
  gpu.device.queue.onSubmittedWorkDone().then(() => {
    const free = freeUniforms.get(gpu.device) ?? [];
    free.push(...used);
    freeUniforms.set(gpu.device, free);
  });
}

/** A storage binding: a whole buffer, or a byte range of one. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/** Workgroups per dispatch dimension every WebGPU device takes (its default limit): where work is folded into 2-D. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Records one dispatch: the uniform `params` at binding 0, then `bindings` at 1, 2, ...
 *
 * @example Dispatch with one storage buffer
 * ```ts ignore
 * dispatch(gpu, encoder, spec, new Uint32Array([n]), [buffer], [Math.ceil(n / 64), 1]);
 * ```
 *
 * @param gpu The device.
 * @param encoder The command encoder that collects the forward pass.
 * @param spec The kernel.
 * @param params Uniform contents (u32/f32 words).
 * @param bindings Storage buffers, bound from binding 1 on; `undefined` leaves a binding out
 *   (one the entry point does not use).
 * @param groups Workgroup counts in x and y.
 * @throws {RangeError} When a workgroup count exceeds the per-dimension limit.
 */
export function dispatch(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  spec: KernelSpec,
  params: Uint32Array | Float32Array,
  bindings: readonly (Binding | undefined)[],
  groups: readonly [number, number],
): void {
  const [gx, gy] = groups;
  const limit = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  if (gx > limit || gy > limit) {
    throw new RangeError(
      `Cannot dispatch ${keyOf(spec)} as workgroup counts must be <= ${limit}: current value is ${gx} x ${gy}`,
    );
  }
  if (gx === 0 || gy === 0) return;
  const pipeline = getPipeline(gpu, spec);
  const uniform = uniformFor(gpu, encoder, params);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
  bindings.forEach((b, i) => {
    if (b !== undefined) entries.push({ binding: i + 1, resource: b instanceof GPUBuffer ? { buffer: b } : b });
  });
  const bindGroup = gpu.device.createBindGroup({
    label: pipeline.label,
    layout: pipeline.getBindGroupLayout(0),
    entries,
  });
  const pass = encoder.beginComputePass({ label: pipeline.label });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(gx, gy);
  pass.end();
}
