/**
 * The tensors of a Hugging Face model folder: `model.safetensors`, or the shards `model.safetensors.index.json` lists.
 * Headers are read at once; each tensor is read when a family's weight mapping asks for it, checked against the shape
 * the model's config implies, and kept as float32 or in the checkpoint's own 16-bit type.
 *
 * @module
 */

import { basename, join } from "node:path";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { DTYPE_BYTES, SafetensorsReader, type SafetensorsSlot } from "../io/safetensors.ts";
import { WeightTensor } from "./weight_tensor.ts";

/** How matrices are kept: float32, or the checkpoint's 16-bit type where it has one. */
export type WeightStorage = "float32" | "stored";

/** The index of a sharded checkpoint is a few hundred kB at most. */
const INDEX_LIMIT = 64 * 1024 * 1024;

/**
 * The tensors of one model folder.
 *
 * @example
 * ```ts ignore
 * const ckpt = await CheckpointTensors.open("../shared/fixtures/families/llama/model");
 * const embed = await ckpt.matrix("model.embed_tokens.weight", [128256, 32], "float32");
 * ckpt.close();
 * ```
 */
export class CheckpointTensors {
  /** The folder. */
  readonly dir: string;
  readonly #files: SafetensorsReader[];
  readonly #where = new Map<string, SafetensorsReader>();
  readonly #used = new Set<string>();
  /** What messages about the tensor set name: the one file, or the folder's shards. */
  readonly #source: string;

  private constructor(dir: string, files: SafetensorsReader[]) {
    this.dir = dir;
    this.#files = files;
    this.#source = files.length === 1 ? files[0].path : `${dir} (its ${files.length} safetensors shards)`;
    for (const file of files) {
      for (const name of file.slots.keys()) {
        const other = this.#where.get(name);
        if (other) throw new SyntaxError(`${file.path} and ${other.path} both hold tensor ${name}`);
        this.#where.set(name, file);
      }
    }
  }

  /**
   * Opens the weight files of a model folder and validates their headers.
   *
   * @param dir The folder.
   * @returns The tensors; close them when done.
   * @throws {Deno.errors.NotFound} When the folder has no safetensors weights.
   * @throws {SyntaxError} When the index or a header is invalid, or two shards hold one tensor.
   * @throws {TypeError} When only PyTorch pickles are there (never loaded: they can run code).
   */
  static async open(dir: string): Promise<CheckpointTensors> {
    const single = join(dir, "model.safetensors");
    const index = join(dir, "model.safetensors.index.json");
    let paths: string[];
    if (await exists(single)) {
      paths = [single];
    } else if (await exists(index)) {
      paths = shardPaths(await readJson(index, INDEX_LIMIT), index).map((file) => join(dir, file));
    } else if (
      await exists(join(dir, "pytorch_model.bin")) || await exists(join(dir, "pytorch_model.bin.index.json"))
    ) {
      throw new TypeError(
        `${dir} holds only PyTorch pickles (pytorch_model.bin), which sae never loads as they can run code: ` +
          "use the repo's safetensors weights, or convert them with transformers' save_pretrained(safe_serialization=True)",
      );
    } else {
      throw new Deno.errors.NotFound(
        `${dir} has no model weights: expected model.safetensors or model.safetensors.index.json with its shards`,
      );
    }
    const files: SafetensorsReader[] = [];
    try {
      for (const path of paths) files.push(await SafetensorsReader.open(path));
      return new CheckpointTensors(dir, files);
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
  }

  /** Every tensor name. */
  get names(): string[] {
    return [...this.#where.keys()];
  }

  /** Whether the checkpoint holds a tensor. */
  has(name: string): boolean {
    return this.#where.has(name);
  }

  /** The first of `names` the checkpoint holds (checkpoints name one tensor in more than one way). */
  first(...names: string[]): string | undefined {
    return names.find((n) => this.has(n));
  }

  /** Values in all tensors. */
  get parameterCount(): number {
    let n = 0;
    for (const f of this.#files) for (const s of f.slots.values()) n += s.shape.reduce((a, b) => a * b, 1);
    return n;
  }

  /** The 16-bit type most of the weights are stored in, or undefined when they are float32 (or wider). */
  get halfDtype(): "bfloat16" | "float16" | undefined {
    const bytes = { BF16: 0, F16: 0, other: 0 };
    for (const f of this.#files) {
      for (const s of f.slots.values()) {
        const n = s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype];
        if (s.dtype === "BF16" || s.dtype === "F16") bytes[s.dtype] += n;
        else bytes.other += n;
      }
    }
    const top = Math.max(bytes.BF16, bytes.F16, bytes.other);
    return top === bytes.other ? undefined : top === bytes.BF16 ? "bfloat16" : "float16";
  }

  #slot(name: string, shape: readonly number[]): { file: SafetensorsReader; slot: SafetensorsSlot } {
    const file = this.#where.get(name);
    if (!file) {
      throw new TypeError(
        `${this.#source} has no tensor ${name}: the model's config.json implies it (the weights are another model's, or cut short)`,
      );
    }
    const slot = file.slots.get(name)!;
    if (slot.shape.join() !== shape.join()) {
      throw new TypeError(
        `${file.path} tensor ${name} has shape [${slot.shape}]: ${join(this.dir, "config.json")} implies [${shape}]`,
      );
    }
    if (!["F32", "F16", "BF16", "F64"].includes(slot.dtype)) {
      throw new TypeError(`${file.path} tensor ${name} has dtype ${slot.dtype}: expected F32, F16, BF16 or F64`);
    }
    this.#used.add(name);
    return { file, slot };
  }

  /**
   * A weight, kept as float32 or (with `"stored"`) in the checkpoint's 16-bit type when it is stored in one.
   *
   * @param name The tensor.
   * @param shape The shape the config implies.
   * @param storage How to keep it.
   * @returns The weight.
   * @throws {TypeError} When the tensor is missing, of another shape or not floating-point.
   * @throws {RangeError} When it holds NaN or ±Inf.
   */
  async matrix(name: string, shape: readonly number[], storage: WeightStorage): Promise<WeightTensor> {
    const { file, slot } = this.#slot(name, shape);
    const bytes = await file.read(name);
    const weight = storage === "stored" && (slot.dtype === "BF16" || slot.dtype === "F16")
      ? new WeightTensor(
        shape,
        slot.dtype === "BF16" ? "bfloat16" : "float16",
        new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2),
      )
      : WeightTensor.float32(shape, toFloat32(bytes, slot.dtype));
    return finite(weight, file.path, name);
  }

  /**
   * A tensor as float32 (norm weights, biases, and matrices a family rearranges).
   *
   * @param name The tensor.
   * @param shape The shape the config implies.
   * @returns Its values.
   * @throws {TypeError} When the tensor is missing, of another shape or not floating-point.
   * @throws {RangeError} When it holds NaN or ±Inf.
   */
  async float32(name: string, shape: readonly number[]): Promise<Float32Array> {
    const { file, slot } = this.#slot(name, shape);
    return finite(WeightTensor.float32(shape, toFloat32(await file.read(name), slot.dtype)), file.path, name).data;
  }

  /**
   * Marks a tensor the model does not need (a stored copy of a tied matrix) as accounted for, unread.
   *
   * @param name The tensor.
   */
  skip(name: string): void {
    this.#used.add(name);
  }

  /**
   * Refuses tensors no weight mapping read: a checkpoint with more layers or other parts than its config.json says
   * is another model's.
   *
   * @param ignore Names that are buffers, not weights (causal masks, rotary tables).
   * @throws {TypeError} Naming the first tensors left over.
   */
  checkAllUsed(ignore: RegExp): void {
    const left = this.names.filter((n) => !this.#used.has(n) && !ignore.test(n));
    if (left.length > 0) {
      throw new TypeError(
        `${this.#source} holds ${left.length} tensors its config.json does not describe (${
          left.slice(0, 4).join(", ")
        }${left.length > 4 ? ", ..." : ""}): the config is another model's, or the weights are`,
      );
    }
  }

  /** Closes the files. */
  close(): void {
    for (const f of this.#files) f.close();
  }
}

/** A weight, refused when it holds NaN or ±Inf: one such value turns every output into NaN. */
function finite(weight: WeightTensor, path: string, name: string): WeightTensor {
  const bad = weight.nonFinite();
  if (bad > 0) {
    throw new RangeError(
      `${path} tensor ${name} holds ${bad} non-finite values (NaN or ±Inf): the checkpoint is damaged`,
    );
  }
  return weight;
}

/** The shard file names of a `model.safetensors.index.json`, each a plain file name in the folder. */
function shardPaths(json: unknown, path: string): string[] {
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new SyntaxError(`${path} field weight_map must map tensor names to shard files`);
  }
  const files = new Set<string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== "string" || file !== basename(file) || !file.endsWith(".safetensors") || file.startsWith(".")) {
      throw new SyntaxError(
        `${path} maps ${name} to ${JSON.stringify(file)}: expected a .safetensors file name in the same folder`,
      );
    }
    files.add(file);
  }
  if (files.size === 0) throw new SyntaxError(`${path} field weight_map is empty`);
  return [...files].sort();
}

function toFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  // read() gives each tensor a buffer of its own, so the views below are aligned
  switch (dtype) {
    case "F32":
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    case "F16":
      return Float32Array.from(new Float16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2));
    case "BF16":
      return new WeightTensor(
        [bytes.length / 2],
        "bfloat16",
        new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2),
      )
        .toFloat32();
    default:
      return Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8));
  }
}
