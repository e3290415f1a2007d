/**
 * safetensors files: read with a validated header, write atomically.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data after the header),
 * an optional `__metadata__` string map, then the data.
 *
 * @module
 */

import { writeFileAtomic } from "./atomic_write.ts";
import { openRegularFile, readExactly } from "./read_regular_file.ts";

/** Element types read and written. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Headers larger than this are refused before parsing (the reference implementation's bound). */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file, its bytes not yet converted. */
export interface SafetensorsEntry {
  /** Element type as stored. */
  dtype: SafetensorsDtype;
  /** Dimensions. */
  shape: number[];
  /** The stored bytes (a view into the file). */
  bytes: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in file order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` map, if any. */
  metadata: Record<string, string>;
}

const PICKLE_HINT = "sae never loads pickle files (they can run code); convert it to safetensors first, " +
  "e.g. in Python: safetensors.torch.save_file(torch.load(path), 'sae_weights.safetensors')";

/** True when the bytes start like a PyTorch checkpoint: a zip archive or a pickle stream. */
export function looksLikePickle(bytes: Uint8Array): boolean {
  return (bytes[0] === 0x50 && bytes[1] === 0x4b) || bytes[0] === 0x80;
}

/** A validated header: tensors with their byte ranges in the data section. */
interface SafetensorsHeader {
  entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[];
  metadata: Record<string, string>;
}

function pickleOrTruncated(bytes: Uint8Array, path: string, problem: string): SyntaxError {
  if (looksLikePickle(bytes)) {
    return new SyntaxError(`${path} is a PyTorch pickle file, not safetensors: ${PICKLE_HINT}`);
  }
  return new SyntaxError(`${path} ${problem}`);
}

/** The header length from the 8-byte prefix, checked against the file size and the format's cap. */
function headerLength(prefix: Uint8Array, fileSize: number, path: string): number {
  if (fileSize < 8) {
    throw pickleOrTruncated(prefix, path, `is truncated: ${fileSize} bytes, a safetensors file needs at least 8`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw pickleOrTruncated(
      prefix,
      path,
      `has a header length of ${n} bytes but only ${
        fileSize - 8
      } bytes follow: the file is truncated or not safetensors`,
    );
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SyntaxError(`${path} has a header length of ${n} bytes: expected at most ${MAX_HEADER_BYTES}`);
  }
  return Number(n);
}

/**
 * Validates a header as the safetensors library does: a JSON object whose tensors have a known dtype,
 * a shape whose size matches their byte range, and ranges that, sorted, tile the data section from 0 to
 * its end with no gap and no overlap.
 */
function parseHeader(headerBytes: Uint8Array, dataLength: number, path: string): SafetensorsHeader {
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
    if (!text.startsWith("{")) throw new SyntaxError("it does not start with {");
    header = JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message.replace(/\s+/g, " "); // V8 quotes the text, newlines included
    throw new SyntaxError(`${path} has a header that is not valid JSON: ${message}`, { cause });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new SyntaxError(`${path} has a header that is not a JSON object`);
  }
  let metadata: Record<string, string> = {};
  const entries: SafetensorsHeader["entries"] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(raw, path);
      continue;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new SyntaxError(`${path}: tensor "${name}" has a header entry that is not an object`);
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = entry.dtype as SafetensorsDtype;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      throw new TypeError(
        `${path}: tensor "${name}" has dtype ${JSON.stringify(entry.dtype)}: expected one of ${
          Object.keys(DTYPE_BYTES).join(", ")
        }`,
      );
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SyntaxError(
        `${path}: tensor "${name}" has shape ${JSON.stringify(shape)}: expected an array of non-negative integers`,
      );
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SyntaxError(
        `${path}: tensor "${name}" has data_offsets ${JSON.stringify(offsets)}: expected [begin, end]`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw new SyntaxError(
        `${path}: tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes of the file`,
      );
    }
    const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new TypeError(
        `${path}: tensor "${name}" of shape [${
          shape.join(", ")
        }] and dtype ${dtype} needs ${expected} bytes but data_offsets give ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape: [...shape], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const { name, begin } = sorted[i];
    if (begin < covered) {
      throw new SyntaxError(`${path}: tensors "${sorted[i - 1].name}" and "${name}" have overlapping data_offsets`);
    }
    if (begin > covered) {
      throw new SyntaxError(
        `${path}: tensor "${name}" starts at data byte ${begin}: expected ${covered}, where the previous tensor ends`,
      );
    }
    covered = sorted[i].end;
  }
  if (covered !== dataLength) {
    throw new SyntaxError(
      `${path}: the tensors cover ${covered} data bytes but the file holds ${dataLength}: the header length or the file size is wrong`,
    );
  }
  return { entries, metadata };
}

/**
 * Parses safetensors bytes, validating the header against the file as the safetensors library does.
 *
 * @example Parse a file's bytes
 * ```ts
 * import { parseSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const file = parseSafetensors(bytes, "w.safetensors");
 * console.log(file.tensors.get("w")?.shape); // [2]
 * ```
 *
 * @param bytes The whole file.
 * @param path The file's name, for error messages.
 * @returns The tensors and metadata.
 * @throws {SyntaxError} When the header is truncated, not JSON, or inconsistent with the file (gaps,
 * overlaps, bytes after the last tensor).
 * @throws {TypeError} When a tensor has an unknown dtype or a shape that disagrees with its bytes.
 */
export function parseSafetensors(bytes: Uint8Array, path: string): SafetensorsFile {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, path);
  const data = bytes.subarray(8 + n);
  return toFile(parseHeader(bytes.subarray(8, 8 + n), data.length, path), data);
}

function toFile(header: SafetensorsHeader, data: Uint8Array): SafetensorsFile {
  const tensors = new Map<string, SafetensorsEntry>();
  for (const { name, dtype, shape, begin, end } of header.entries) {
    tensors.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
  }
  return { tensors, metadata: header.metadata };
}

function checkMetadata(raw: unknown, path: string): Record<string, string> {
  if (
    typeof raw !== "object" || raw === null || Array.isArray(raw) ||
    !Object.values(raw).every((v) => typeof v === "string")
  ) {
    throw new SyntaxError(`${path}: __metadata__ must map strings to strings`);
  }
  return raw as Record<string, string>;
}

/**
 * Reads and parses a safetensors file: a regular file (see {@linkcode openRegularFile}) whose header
 * is read and validated first, so only the data it declares is then read.
 *
 * @example Read a file
 * ```ts ignore
 * const file = await readSafetensors("sae_weights.safetensors");
 * ```
 *
 * @param path The file.
 * @returns The tensors and metadata.
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {TypeError} When it is a folder, FIFO or device, or a tensor is malformed.
 * @throws {SyntaxError} When the header is invalid (see {@linkcode parseSafetensors}).
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const { file, size } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a safetensors file");
  try {
    const prefix = await readExactly(file, Math.min(size, 8), path);
    const n = headerLength(prefix, size, path);
    const header = parseHeader(await readExactly(file, n, path), size - 8 - n, path);
    return toFile(header, await readExactly(file, size - 8 - n, path));
  } finally {
    file.close();
  }
}

/** A tensor's place in a safetensors file opened by {@linkcode SafetensorsReader}. */
export interface SafetensorsSlot {
  /** Element type as stored. */
  dtype: SafetensorsDtype;
  /** Dimensions. */
  shape: number[];
}

/**
 * A safetensors file whose header is read and validated at once and whose tensors are read one at a time when asked
 * for, each into its own (aligned) buffer: a model's shards never sit in memory whole beside the weights taken from them.
 *
 * @example Read one tensor
 * ```ts
 * import { encodeSafetensors, SafetensorsReader } from "./safetensors.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, encodeSafetensors({ w: { shape: [2], data: Float32Array.of(1, 2) } }));
 * const file = await SafetensorsReader.open(path);
 * console.log(file.slots.get("w")?.shape, (await file.read("w")).length); // [2] 8
 * file.close();
 * ```
 */
export class SafetensorsReader {
  /** The file. */
  readonly path: string;
  /** Tensors by name, in file order. */
  readonly slots: ReadonlyMap<string, SafetensorsSlot>;
  /** The `__metadata__` map (empty when the file has none). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly #file: Deno.FsFile;
  readonly #ranges: Map<string, [number, number]>;

  private constructor(path: string, file: Deno.FsFile, header: SafetensorsHeader, dataStart: number) {
    this.path = path;
    this.#file = file;
    this.metadata = header.metadata;
    const slots = new Map<string, SafetensorsSlot>();
    this.#ranges = new Map();
    for (const { name, dtype, shape, begin, end } of header.entries) {
      slots.set(name, { dtype, shape });
      this.#ranges.set(name, [dataStart + begin, dataStart + end]);
    }
    this.slots = slots;
  }

  /**
   * Opens a regular file and validates its header as {@linkcode readSafetensors} does.
   *
   * @param path The file.
   * @returns The open file; close it when done.
   * @throws {Deno.errors.NotFound} When the file is missing.
   * @throws {TypeError} When it is not a regular file or a tensor is malformed.
   * @throws {SyntaxError} When the header is invalid.
   */
  static async open(path: string): Promise<SafetensorsReader> {
    const { file, size } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a safetensors file");
    try {
      const prefix = await readExactly(file, Math.min(size, 8), path);
      const n = headerLength(prefix, size, path);
      const header = parseHeader(await readExactly(file, n, path), size - 8 - n, path);
      return new SafetensorsReader(path, file, header, 8 + n);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /**
   * Bytes [start, start + length) of one tensor's data, in a buffer of their own: a tensor too large to hold whole
   * read in parts.
   *
   * @param name The tensor.
   * @param start Its first byte to read.
   * @param length How many.
   * @returns The bytes.
   * @throws {RangeError} When the file has no such tensor or the range passes its end.
   */
  async readPart(name: string, start: number, length: number): Promise<Uint8Array> {
    const range = this.#ranges.get(name);
    if (!range) throw new RangeError(`${this.path} has no tensor ${name}`);
    if (start < 0 || start + length > range[1] - range[0]) {
      throw new RangeError(`${this.path}: bytes ${start}..${start + length} are outside tensor ${name}`);
    }
    await this.#file.seek(range[0] + start, Deno.SeekMode.Start);
    return await readExactly(this.#file, length, this.path);
  }

  /**
   * The stored bytes of one tensor, in a buffer of their own.
   *
   * @param name The tensor.
   * @returns Its bytes.
   * @throws {RangeError} When the file has no such tensor.
   * @throws {SyntaxError} When the file was cut short since it was opened.
   */
  async read(name: string): Promise<Uint8Array> {
    const range = this.#ranges.get(name);
    if (!range) throw new RangeError(`${this.path} has no tensor ${name}`);
    await this.#file.seek(range[0], Deno.SeekMode.Start);
    return await readExactly(this.#file, range[1] - range[0], this.path);
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/**
 * Converts a stored floating-point tensor to float32 (F32, F16, BF16, F64).
 *
 * @example Convert
 * ```ts
 * import { encodeSafetensors, parseSafetensors, toFloat32 } from "./safetensors.ts";
 * const file = parseSafetensors(encodeSafetensors({ w: { shape: [1], data: new Float32Array([3]) } }), "w");
 * console.log(toFloat32(file.tensors.get("w")!, "w")); // Float32Array [3]
 * ```
 *
 * @param entry The stored tensor.
 * @param what Its name, for error messages.
 * @returns A new float32 array.
 * @throws {TypeError} When the dtype is not a floating-point type.
 */
export function toFloat32(entry: SafetensorsEntry, what: string): Float32Array {
  const { dtype, bytes } = entry;
  const aligned = bytes.slice(); // own, aligned copy
  switch (dtype) {
    case "F32":
      return new Float32Array(aligned.buffer);
    case "F16":
      return Float32Array.from(new Float16Array(aligned.buffer));
    case "BF16": {
      const halves = new Uint16Array(aligned.buffer);
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    }
    case "F64":
      return Float32Array.from(new Float64Array(aligned.buffer));
    default:
      throw new TypeError(`${what} has dtype ${dtype}: expected a floating-point tensor (F32, F16, BF16 or F64)`);
  }
}

/**
 * Converts a stored integer tensor to plain numbers (I64, I32, I16, I8, U8).
 *
 * @param entry The stored tensor.
 * @param what Its name, for error messages.
 * @returns The values.
 * @throws {TypeError} When the dtype is not an integer type or a value exceeds 2^53.
 */
export function toIntegers(entry: SafetensorsEntry, what: string): number[] {
  const buf = entry.bytes.slice().buffer;
  switch (entry.dtype) {
    case "I64":
      return Array.from(new BigInt64Array(buf), (v) => {
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new TypeError(`${what} holds ${v}, beyond the integers a number holds exactly`);
        }
        return Number(v);
      });
    case "I32":
      return Array.from(new Int32Array(buf));
    case "I16":
      return Array.from(new Int16Array(buf));
    case "I8":
      return Array.from(new Int8Array(buf));
    case "U8":
      return Array.from(new Uint8Array(buf));
    default:
      throw new TypeError(`${what} has dtype ${entry.dtype}: expected an integer tensor`);
  }
}

/** A tensor to write: float32, float16 or int64 values with a shape. */
export interface TensorToWrite {
  /** Dimensions. */
  shape: readonly number[];
  /** Values; the array type picks the dtype (F32, F16, I64), a Uint16Array holds bfloat16 words (BF16). */
  data: Float32Array | Float16Array | BigInt64Array | Uint16Array;
}

/**
 * Serializes tensors to safetensors bytes (header padded to 8 bytes, data in the given order).
 *
 * @example Encode one tensor
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * console.log(bytes.length > 8); // true
 * ```
 *
 * @param tensors Tensors by name.
 * @param metadata Optional `__metadata__` strings.
 * @returns The file's bytes.
 * @throws {TypeError} When a tensor's data length disagrees with its shape.
 */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new TypeError(
        `Cannot write tensor "${name}" of shape [${
          t.shape.join(", ")
        }] as it needs ${count} values: current value is ${t.data.length}`,
      );
    }
    const dtype = t.data instanceof Float32Array
      ? "F32"
      : t.data instanceof BigInt64Array
      ? "I64"
      : t.data instanceof Uint16Array
      ? "BF16"
      : "F16";
    const part = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + part.length] };
    parts.push(part);
    offset += part.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Writes tensors to a safetensors file atomically (a temporary file renamed into place).
 *
 * @example Write
 * ```ts ignore
 * await writeSafetensors("out.safetensors", { features: { shape: [1, 4], data: new Float32Array(4) } });
 * ```
 *
 * @param path Destination.
 * @param tensors Tensors by name.
 * @param metadata Optional `__metadata__` strings.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
