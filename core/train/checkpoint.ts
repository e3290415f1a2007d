/**
 * Training checkpoints: one safetensors file, replaced atomically, holding every SAE's weights, Adam
 * moments and dead-latent counters, the mixing buffer, and (as JSON metadata) the step, data position
 * and random state, so a resumed run continues exactly as the uninterrupted one would.
 *
 * @module
 */

import { join } from "node:path";
import { readSafetensors, SafetensorsReader, toFloat32, writeSafetensors } from "../io/safetensors.ts";
import { exists } from "../io/exists.ts";

/** The file a run's checkpoint is kept in, inside `checkpoint_path`. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** Everything a checkpoint holds. */
export interface Checkpoint {
  /** Scalars and settings, stored as JSON. */
  meta: CheckpointMeta;
  /** Tensors by name. */
  tensors: Map<string, Float32Array>;
}

/** The JSON part of a checkpoint. */
export interface CheckpointMeta {
  /** Steps taken. */
  step: number;
  /** The shuffling generator's state. */
  rngState: number;
  /** Dataset rows read. */
  rowsRead: number;
  /** Buffered tokens still to serve before the next refill. */
  servable: number;
  /** Sampling across the whole corpus: tokens served since the start (absent with the mixing buffer). */
  served?: number;
  /** Per SAE: BatchTopK threshold, the tokens counted in the current density window, and the input scale of
   * `expected_average_only_in` (null without). */
  saes: { batchThreshold: number; windowTokens: number; scalingFactor?: number | null }[];
  /** The run's settings, every field of each SAE resolved: a resume continues with them. */
  config: { saes: Record<string, unknown>[] };
}

/**
 * Writes the checkpoint to `folder/checkpoint.safetensors` atomically (temporary file, then rename).
 *
 * @example
 * ```ts ignore
 * await writeCheckpoint("checkpoints", { meta, tensors });
 * ```
 *
 * @param folder The run's checkpoint folder (created when missing).
 * @param checkpoint What to keep.
 * @returns The file written.
 */
export async function writeCheckpoint(folder: string, checkpoint: Checkpoint): Promise<string> {
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, CHECKPOINT_FILE);
  const tensors = Object.fromEntries(
    [...checkpoint.tensors].map(([name, data]) => [name, { shape: [data.length], data }]),
  );
  await writeSafetensors(path, tensors, { checkpoint: JSON.stringify(checkpoint.meta) });
  return path;
}

/**
 * Reads a checkpoint from a folder (or the file itself).
 *
 * @example
 * ```ts ignore
 * const { meta } = await readCheckpoint("checkpoints");
 * ```
 *
 * @param path The checkpoint folder or file.
 * @returns The checkpoint.
 * @throws {Deno.errors.NotFound} When there is no checkpoint there.
 * @throws {SyntaxError} When the file is not a checkpoint written by `sae train`.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const file = await checkpointFile(path);
  const { tensors, metadata } = await readSafetensors(file);
  const out = new Map<string, Float32Array>();
  for (const [name, entry] of tensors) out.set(name, toFloat32(entry, `${file} ${name}`));
  return { meta: parseMeta(metadata, file), tensors: out };
}

/**
 * Reads only the JSON part of a checkpoint (the run's settings, the step), not its tensors.
 *
 * @example
 * ```ts ignore
 * const { step, config } = await readCheckpointMeta("checkpoints");
 * ```
 *
 * @param path The checkpoint folder or file.
 * @returns Its metadata.
 * @throws {Deno.errors.NotFound} When there is no checkpoint there.
 * @throws {SyntaxError} When the file is not a checkpoint written by `sae train`.
 */
export async function readCheckpointMeta(path: string): Promise<CheckpointMeta> {
  const file = await checkpointFile(path);
  const reader = await SafetensorsReader.open(file);
  try {
    return parseMeta(reader.metadata, file);
  } finally {
    reader.close();
  }
}

async function checkpointFile(path: string): Promise<string> {
  const file = (await Deno.stat(path).catch(() => undefined))?.isDirectory ? join(path, CHECKPOINT_FILE) : path;
  if (!(await exists(file))) {
    throw new Deno.errors.NotFound(`${file} does not exist: there is no checkpoint to resume from`);
  }
  return file;
}

function parseMeta(metadata: Readonly<Record<string, string>> | undefined, file: string): CheckpointMeta {
  const raw = metadata?.checkpoint;
  if (typeof raw !== "string") {
    throw new SyntaxError(`${file} has no "checkpoint" metadata: it was not written by sae train`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch (error) {
    throw new SyntaxError(`${file}: its "checkpoint" metadata is not valid JSON: ${(error as Error).message}`);
  }
  return checkMeta(meta, file);
}

/** Checks each field of a checkpoint's metadata by type, naming the first one that is wrong. */
function checkMeta(meta: unknown, file: string): CheckpointMeta {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new TypeError(
      `${file}: checkpoint field ${field} is ${JSON.stringify(found) ?? "missing"}: expected ${expected}`,
    );
  };
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) fail("(metadata)", "an object", meta);
  const m = meta as Record<string, unknown>;
  const count = (field: string, value: unknown) => {
    if (!(Number.isSafeInteger(value) && (value as number) >= 0)) fail(field, "a whole number >= 0", value);
  };
  for (const field of ["step", "rngState", "rowsRead", "servable"]) count(field, m[field]);
  if (m.served !== undefined) count("served", m.served);
  if (!Array.isArray(m.saes)) fail("saes", "a list", m.saes);
  (m.saes as unknown[]).forEach((sae, i) => {
    const e = (sae ?? {}) as Record<string, unknown>;
    if (!Number.isFinite(e.batchThreshold)) fail(`saes[${i}].batchThreshold`, "a number", e.batchThreshold);
    count(`saes[${i}].windowTokens`, e.windowTokens);
    if (e.scalingFactor != null && !(Number.isFinite(e.scalingFactor) && (e.scalingFactor as number) > 0)) {
      fail(`saes[${i}].scalingFactor`, "a positive number or null", e.scalingFactor);
    }
  });
  const config = m.config as Record<string, unknown> | null;
  if (typeof config !== "object" || config === null) fail("config", "an object", m.config);
  if (!Array.isArray(config!.saes) || !config!.saes.every((s) => typeof s === "object" && s !== null)) {
    fail("config.saes", "a list of settings objects", config!.saes);
  }
  return m as unknown as CheckpointMeta;
}

/**
 * Removes temporary files that a process killed while writing a checkpoint left beside it.
 *
 * @example
 * ```ts ignore
 * await removeStaleCheckpointTemps("checkpoints");
 * ```
 *
 * @param folder The run's checkpoint folder.
 * @returns How many were removed.
 */
export async function removeStaleCheckpointTemps(folder: string): Promise<number> {
  const temp = new RegExp(`^\\.${CHECKPOINT_FILE.replaceAll(".", "\\.")}\\.[0-9a-f-]{36}\\.tmp$`);
  let removed = 0;
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile && temp.test(entry.name)) await Deno.remove(join(folder, entry.name)), removed++;
  }
  return removed;
}

/**
 * Refuses a checkpoint that a run cannot continue from: a step outside the run's plan, another number of SAEs, or
 * state missing.
 *
 * @example
 * ```ts ignore
 * checkResumable(await readCheckpoint("checkpoints"), "checkpoints", 244, [1024], 1);
 * ```
 *
 * @param checkpoint The checkpoint.
 * @param where Its folder, for messages.
 * @param totalSteps The run's steps.
 * @param dSae Each SAE's width.
 * @param hooks The number of hooks the store buffers.
 * @throws {RangeError} On a step outside the plan; {TypeError} on missing or mis-sized state.
 */
export function checkResumable(
  { meta, tensors }: Checkpoint,
  where: string,
  totalSteps: number,
  dSae: number[],
  hooks: number,
): void {
  if (!(meta.step >= 1 && meta.step < totalSteps)) {
    throw new RangeError(
      `The checkpoint in ${where} is at step ${meta.step}: a run of ${totalSteps} steps writes them at steps 1 to ${
        totalSteps - 1
      }`,
    );
  }
  if (meta.saes.length !== dSae.length) {
    throw new TypeError(`The checkpoint in ${where} holds ${meta.saes.length} SAEs: the run trains ${dSae.length}`);
  }
  const need: [string, number | undefined][] = [
    ...Array.from({ length: hooks }, (_, h) => [`store.hook${h}`, undefined] as [string, undefined]),
    ...dSae.flatMap((d, i) =>
      ["since_fired", "window_fired", "resample_fired", "last_density"].map((n) =>
        [`sae${i}.${n}`, d] as [string, number]
      )
    ),
  ];
  for (const [name, length] of need) {
    const t = tensors.get(name);
    if (!t || (length !== undefined && t.length !== length)) {
      throw new TypeError(
        `The checkpoint in ${where} has ${t ? `${t.length} values in` : "no"} tensor ${name}${
          length !== undefined ? `: expected ${length}` : ""
        }`,
      );
    }
  }
}
