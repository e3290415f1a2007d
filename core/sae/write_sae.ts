/**
 * Writes an SAE as a SAELens v6 folder: `cfg.json`, `sae_weights.safetensors` and, when known,
 * `sparsity.safetensors`; each file atomically.
 *
 * @module
 */

import { join } from "node:path";
import type { HostTensor } from "../gpu/tensor.ts";
import type { SaeWeights } from "./architecture.ts";
import { type SaeConfig, toSaeLensJson } from "./config.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { writeSafetensors } from "../io/safetensors.ts";

/**
 * Writes the folder, creating it when missing.
 *
 * @example
 * ```ts ignore
 * await writeSaeFolder("out/my-sae", cfg, { W_enc, b_enc, W_dec, b_dec }, sparsity);
 * ```
 *
 * @param folder Destination folder.
 * @param cfg The SAE's configuration (written as float32).
 * @param weights Tensors by SAELens name.
 * @param sparsity log10 feature densities [d_sae], SAELens's `sparsity` tensor.
 * @throws {TypeError} When the folder is empty (it would write into the current folder) or is a file.
 */
export async function writeSaeFolder(
  folder: string,
  cfg: SaeConfig,
  weights: SaeWeights,
  sparsity?: HostTensor,
): Promise<void> {
  if (typeof folder !== "string" || folder === "") {
    throw new TypeError(`Cannot save an SAE to ${JSON.stringify(folder)}: give a folder path`);
  }
  const info = await Deno.stat(folder).catch(() => undefined);
  if (info && !info.isDirectory) throw new TypeError(`Cannot save an SAE to ${folder} as it is not a folder`);
  await Deno.mkdir(folder, { recursive: true });
  const tensors = Object.fromEntries(Object.entries(weights).map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  await writeSafetensors(join(folder, "sae_weights.safetensors"), tensors);
  if (sparsity) await writeSafetensors(join(folder, "sparsity.safetensors"), { sparsity });
  await writeFileAtomic(join(folder, "cfg.json"), toSaeLensJson({ ...cfg, dtype: "float32" }));
}
