/**
 * `--cache-activations`: a run's activations written once as safetensors shards (one tensor per
 * hook, whole rows of `context_size` tokens in dataset order), and read back as the training source,
 * so later runs train without the model.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { readJson } from "../io/read_json.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../io/safetensors.ts";
import type { ActivationSource } from "./activation_store.ts";

/** `cache_config.json` of a cache folder. */
export interface ActivationCacheInfo {
  /** Hooks, one tensor each per shard. */
  hooks: string[];
  /** Width of each hook. */
  widths: number[];
  /** Tokens per row. */
  context_size: number;
  /** Rows per shard (the last may hold fewer). */
  rows_per_shard: number;
  /** Rows cached. */
  rows: number;
  /** Model and dataset they came from. */
  model_name: string;
  /** Dataset they came from. */
  dataset_path: string;
}

const INFO_FILE = "cache_config.json";
const shardName = (i: number) => `shard_${String(i).padStart(5, "0")}.safetensors`;

/**
 * Runs `rows` through `source` and writes the activations as shards.
 *
 * @example
 * ```ts ignore
 * await cacheActivations("cache", rows, source, { hooks, widths, context_size: 128, rows_per_shard: 256, model_name, dataset_path }, 100000);
 * ```
 *
 * @param folder Destination (created).
 * @param rows Token rows in order.
 * @param source Runs a batch of rows.
 * @param info Hooks, widths and sizes.
 * @param maxRows Rows to cache.
 * @param onRows Progress callback.
 * @returns The info written.
 */
export async function cacheActivations(
  folder: string,
  rows: AsyncIterable<number[]>,
  source: ActivationSource,
  info: Omit<ActivationCacheInfo, "rows">,
  maxRows: number,
  onRows?: (rows: number) => void,
): Promise<ActivationCacheInfo> {
  await Deno.mkdir(folder, { recursive: true });
  let pending: number[][] = [], written = 0, shard = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const acts = await source(pending);
    const tensors = Object.fromEntries(
      info.hooks.map((h, i) => [h, { shape: [pending.length * info.context_size, info.widths[i]], data: acts[i] }]),
    );
    await writeSafetensors(join(folder, shardName(shard++)), tensors);
    written += pending.length;
    pending = [];
    onRows?.(written);
  };
  for await (const row of rows) {
    if (written + pending.length >= maxRows) break;
    pending.push(row);
    if (pending.length === info.rows_per_shard) await flush();
  }
  await flush();
  const full = { ...info, rows: written };
  await writeFileAtomic(join(folder, INFO_FILE), JSON.stringify(full, null, 2));
  return full;
}

/**
 * Opens a cache folder as a training source: rows are `[index]`, the source returns their activations.
 *
 * @example
 * ```ts ignore
 * const { info, rows, source } = await openActivationCache("cache");
 * ```
 *
 * @param folder A folder written by {@linkcode cacheActivations}.
 * @returns The info, the row indices and the source.
 * @throws {TypeError} When the folder is not an activation cache.
 */
export async function openActivationCache(
  folder: string,
): Promise<{ info: ActivationCacheInfo; rows: () => AsyncIterator<number[]>; source: ActivationSource }> {
  const info = await readJson(join(folder, INFO_FILE)) as ActivationCacheInfo;
  if (!Array.isArray(info?.hooks) || !(info.rows > 0) || !(info.rows_per_shard > 0)) {
    throw new TypeError(
      `${join(folder, INFO_FILE)} is not an activation cache's config: it needs hooks, rows and rows_per_shard`,
    );
  }
  let loaded: { index: number; tensors: Float32Array[] } | undefined;
  const shardOf = async (index: number) => {
    if (loaded?.index !== index) {
      const path = join(folder, shardName(index));
      const { tensors } = await readSafetensors(path);
      loaded = {
        index,
        tensors: info.hooks.map((h) => {
          const entry = tensors.get(h);
          if (!entry) throw new TypeError(`${path} has no tensor "${h}": the cache is incomplete`);
          return toFloat32(entry, `${path} ${h}`);
        }),
      };
    }
    return loaded.tensors;
  };
  async function* rows(): AsyncGenerator<number[]> {
    for (let i = 0; i < info.rows; i++) yield [i];
  }
  const source: ActivationSource = async (batch) => {
    const out = info.widths.map((w) => new Float32Array(batch.length * info.context_size * w));
    for (const [n, [row]] of batch.entries()) {
      const shard = await shardOf(Math.floor(row / info.rows_per_shard));
      const local = row % info.rows_per_shard;
      info.widths.forEach((w, h) => {
        const size = info.context_size * w;
        out[h].set(shard[h].subarray(local * size, (local + 1) * size), n * size);
      });
    }
    return out;
  };
  return { info, rows: () => rows(), source };
}
