/**
 * What every SAE reader does with tensors: float32 copies refused when non-finite, transposes, shape checks
 * against the config, and SAELens's folds at load (`scaling_factor`, `norm_scaling_factor`).
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { SafetensorsEntry } from "../io/safetensors.ts";
import { toFloat32 } from "../io/safetensors.ts";
import type { SaeWeights } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { getArchitecture } from "./registry.ts";
import "./architectures.ts";

/** A dangling link in an SAE folder is reported by its reader, never taken as a missing optional file. */
export const LINKS = { danglingLinks: true };

/** A stored tensor as float32. */
export function hostTensor(entry: SafetensorsEntry, what: string): HostTensor {
  return { shape: entry.shape, data: toFloat32(entry, what) };
}

/** A weight as float32, refused when it holds NaN or ±Inf: one such value poisons every output. */
export function finiteTensor(entry: SafetensorsEntry, what: string): HostTensor {
  return checkFinite(hostTensor(entry, what), what);
}

/** Refuses a tensor holding NaN or ±Inf, naming it. */
export function checkFinite(t: HostTensor, what: string): HostTensor {
  let bad = 0;
  const data = t.data;
  // an indexed loop: V8 runs a for-of over a typed array about ten times slower (seconds for the widest SAEs)
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
  if (bad > 0) {
    throw new RangeError(
      `${what} holds ${bad} non-finite values (NaN or infinity, in float32): expected finite weights`,
    );
  }
  return t;
}

/** Whether the matrices were stored as F16 (they may then stay f16 on the GPU). */
export function storedF16(tensors: Map<string, SafetensorsEntry>): boolean {
  return tensors.get("W_enc")?.dtype === "F16" || tensors.get("encoder.weight")?.dtype === "F16";
}

/** A 2-D tensor transposed. */
export function transpose(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data: out };
}

/** Refuses a tensor whose shape is not the config's. */
export function checkShape(t: HostTensor, expected: number[], what: string, cfgPath: string): void {
  if (!Array.isArray(t.shape) || t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new TypeError(
      `${what} has shape [${Array.isArray(t.shape) ? t.shape.join(", ") : t.shape}], expected [${
        expected.join(", ")
      }] from ${cfgPath} d_in/d_sae`,
    );
  }
  const n = expected.reduce((a, b) => a * b, 1);
  if (!(t.data instanceof Float32Array) || t.data.length !== n) {
    throw new TypeError(
      `${what} must hold its ${n} values as a Float32Array: current value is ${
        t.data instanceof Float32Array ? `${t.data.length} values` : (t.data as object | null)?.constructor?.name
      }`,
    );
  }
}

/**
 * SAELens loads its state dict strictly: a tensor the architecture does not have (e.g. a misspelt
 * `scaling_factor`, which would otherwise go unused) means the file is not what it claims. (A legacy
 * `scaling_factor` is folded into W_dec.)
 */
export function checkNoOtherTensors(cfg: SaeConfig, names: Iterable<string>, weightsPath: string): void {
  const architecture = getArchitecture(cfg.architecture, weightsPath);
  const known = ["W_enc", "W_dec", "b_dec", "scaling_factor", ...architecture.latentVectors];
  // The file's names, not the weights object's keys: "__proto__" would be no key of it.
  const other = [...names].find((name) => !known.includes(name));
  if (other !== undefined) {
    throw new TypeError(
      `${weightsPath}: tensor "${other}" is not part of a ${architecture.name} SAE: expected only ${known.join(", ")}`,
    );
  }
}

/**
 * Checks that the weights hold every tensor the architecture needs, with shapes from the config.
 *
 * @throws {TypeError} Naming the file, the tensor and the expected shape.
 * @throws {RangeError} When the architecture is unknown.
 */
export function checkWeights(cfg: SaeConfig, weights: SaeWeights, weightsPath: string, cfgPath: string): void {
  const architecture = getArchitecture(cfg.architecture, cfgPath);
  architecture.checkConfig(cfg, cfgPath);
  const expected: Record<string, number[]> = {
    W_enc: [cfg.d_in, cfg.d_sae],
    W_dec: [cfg.d_sae, cfg.d_in],
    b_dec: [cfg.d_in],
  };
  for (const name of architecture.latentVectors) expected[name] = [cfg.d_sae];
  const needed = Object.keys(expected);
  for (const [name, shape] of Object.entries(expected)) {
    const t = weights[name];
    if (!t) {
      throw new TypeError(
        `${weightsPath}: tensor "${name}" is missing: a ${architecture.name} SAE needs ${needed.join(", ")}`,
      );
    }
    checkShape(t, shape, `${weightsPath}: tensor "${name}"`, cfgPath);
  }
}

/**
 * SAELens's `from_pretrained` for `expected_average_only_in` SAEs whose release gives `norm_scaling_factor` s:
 * `fold_activation_norm_scaling_factor(s)` (W_enc · s, W_dec / s, b_dec / s) and `normalize_activations: "none"`,
 * so W_dec, steering strengths and a saved copy mean what they mean in SAELens.
 */
export function foldNormScalingFactor(cfg: SaeConfig, weights: SaeWeights): void {
  const s = cfg.norm_scaling_factor;
  if (cfg.normalize_activations !== "expected_average_only_in" || s === undefined) return;
  const times = (name: string, f: number) => {
    const t = weights[name];
    if (t) weights[name] = { shape: t.shape, data: Float32Array.from(t.data, (v) => v * f) };
  };
  times("W_enc", s);
  times("W_dec", 1 / s);
  times("b_dec", 1 / s);
  cfg.normalize_activations = "none";
  delete cfg.norm_scaling_factor;
}

/**
 * Old SAELens SAEs may carry `scaling_factor` [d_sae], multiplied into the features before
 * decoding when `finetuning_scaling_factor` is set: fold it into W_dec's rows. All ones is dropped.
 */
export function foldFinetuningScale(
  weights: SaeWeights,
  raw: Record<string, unknown>,
  cfg: SaeConfig,
  path: string,
  cfgPath: string,
): void {
  const flag = raw.finetuning_scaling_factor;
  if (flag !== undefined && typeof flag !== "boolean") {
    throw new TypeError(
      `${cfgPath}: field finetuning_scaling_factor is ${JSON.stringify(flag)}: expected true or false`,
    );
  }
  const scale = weights.scaling_factor;
  if (!scale) return;
  delete weights.scaling_factor;
  checkShape(scale, [cfg.d_sae], `${path}: tensor "scaling_factor"`, cfgPath);
  if (scale.data.every((v) => v === 1)) return;
  if (flag !== true) {
    throw new TypeError(
      `${path}: tensor "scaling_factor" is not all ones but cfg.json field finetuning_scaling_factor is not true`,
    );
  }
  const wDec = weights.W_dec;
  if (!wDec) return;
  const dIn = wDec.shape[1];
  const data = new Float32Array(wDec.data);
  for (let i = 0; i < scale.data.length; i++) for (let j = 0; j < dIn; j++) data[i * dIn + j] *= scale.data[i];
  weights.W_dec = { shape: wDec.shape, data };
}
