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
import { configField, isObject, nonEmptyString, positiveInteger } from "../sae/_config_fields.ts";
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

/** Reads `cache_config.json`, each field checked (never coerced), naming the file and the field. */
async function readCacheInfo(path: string): Promise<ActivationCacheInfo> {
  const raw = await readJson(path);
  if (!isObject(raw)) throw new TypeError(`${path} is not an activation cache's config: expected a JSON object`);
  const hooks = configField<string[]>(
    raw,
    "hooks",
    path,
    (v) => Array.isArray(v) && v.length > 0 && v.every(nonEmptyString),
    "a list of hook names",
  );
  configField(
    raw,
    "widths",
    path,
    (v) => Array.isArray(v) && v.length === hooks.length && v.every(positiveInteger),
    `a list of ${hooks.length} positive integers (one width per hook)`,
  );
  for (const key of ["context_size", "rows_per_shard", "rows"]) {
    configField(raw, key, path, positiveInteger, "a positive integer");
  }
  return raw as unknown as ActivationCacheInfo;
}

/**
 * A shard's activations for one hook, refused when their shape is not the one the cache's config gives or their
 * values cannot be activations (NaN, ±Inf, or all zeros: nothing to reconstruct, and every metric NaN).
 */
function checkedShardTensor(data: Float32Array, shape: number[], expected: number[], what: string): Float32Array {
  if (shape.length !== 2 || shape[0] !== expected[0] || shape[1] !== expected[1]) {
    throw new TypeError(
      `${what} has shape [${shape}]: expected [${expected}] (rows × context_size, the hook's width in cache_config.json)`,
    );
  }
  let nonFinite = 0, nonZero = 0;
  // an indexed loop: V8 runs a for-of over a typed array about ten times slower
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) nonFinite++;
    else if (v !== 0) nonZero++;
  }
  if (nonFinite > 0) throw new RangeError(`${what} holds ${nonFinite} NaN or infinite values: the cache is damaged`);
  if (nonZero === 0) throw new RangeError(`${what} is all zeros: the cache is damaged (no activation to train on)`);
  return data;
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
 * @throws {TypeError} When the folder is not an activation cache or a shard does not match its config;
 * {RangeError} on a shard whose values cannot be activations.
 */
export async function openActivationCache(
  folder: string,
): Promise<{ info: ActivationCacheInfo; rows: () => AsyncIterator<number[]>; source: ActivationSource }> {
  const info = await readCacheInfo(join(folder, INFO_FILE));
  let loaded: { index: number; tensors: Float32Array[] } | undefined;
  const shardOf = async (index: number) => {
    if (loaded?.index !== index) {
      const path = join(folder, shardName(index));
      const { tensors } = await readSafetensors(path);
      const rowsHere = Math.min(info.rows_per_shard, info.rows - index * info.rows_per_shard);
      loaded = {
        index,
        tensors: info.hooks.map((h, i) => {
          const entry = tensors.get(h);
          if (!entry) throw new TypeError(`${path} has no tensor "${h}": the cache is incomplete`);
          return checkedShardTensor(toFloat32(entry, `${path} ${h}`), entry.shape, [
            rowsHere * info.context_size,
            info.widths[i],
          ], `${path} tensor "${h}"`);
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
