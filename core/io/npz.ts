/**
 * NumPy `.npz` archives (as Gemma Scope ships `params.npz`): a zip of `.npy` arrays, stored or
 * deflated, zip64 included. Float arrays only; object arrays (pickle) are refused. Deflated members
 * are inflated as streams that stop at their declared size, the archive may declare at most
 * {@linkcode MAX_NPZ_RATIO} times its own size (zip bombs), and every member's CRC-32 is checked.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { readRegularFile } from "./read_regular_file.ts";
import { DTYPE_BYTES, type SafetensorsDtype, type SafetensorsEntry } from "./safetensors.ts";

const NPY_DTYPES: Record<string, SafetensorsDtype> = {
  "<f4": "F32",
  "<f2": "F16",
  "<f8": "F64",
  "<i8": "I64",
  "<i4": "I32",
  "|u1": "U8",
};

/**
 * How many times its own size an archive may inflate to, beyond {@linkcode NPZ_RATIO_FREE_BYTES}:
 * float weights barely compress (numpy.savez stores them), so more is a zip bomb.
 */
export const MAX_NPZ_RATIO = 100;

/** Total inflated bytes allowed whatever the ratio (small archives of zeros compress well). */
export const NPZ_RATIO_FREE_BYTES = 64 * 1024 * 1024;

/** Bounds-checked little-endian reads that fail naming the archive. */
class ZipView {
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array, readonly path: string) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #check(at: number, n: number, what: string): void {
    if (!(Number.isSafeInteger(at) && at >= 0 && at + n <= this.bytes.length)) {
      throw new SyntaxError(
        `${this.path}: the zip ${what} at byte ${at} lies outside the ${this.bytes.length}-byte file`,
      );
    }
  }
  u16(at: number, what: string): number {
    this.#check(at, 2, what);
    return this.#view.getUint16(at, true);
  }
  u32(at: number, what: string): number {
    this.#check(at, 4, what);
    return this.#view.getUint32(at, true);
  }
  u64(at: number, what: string): number {
    this.#check(at, 8, what);
    const v = this.#view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SyntaxError(`${this.path}: the zip ${what} holds ${v}`);
    return Number(v);
  }
  slice(at: number, n: number, what: string): Uint8Array {
    this.#check(at, n, what);
    return this.bytes.subarray(at, at + n);
  }
}

interface Member {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  local: number;
}

/**
 * Reads an `.npz` file (a regular file, see {@linkcode readRegularFile}).
 *
 * @example Read Gemma Scope's params.npz
 * ```ts ignore
 * const arrays = await readNpz("params.npz");
 * console.log(arrays.get("W_enc")?.shape);
 * ```
 *
 * @param path The archive.
 * @returns Arrays by name (see {@linkcode parseNpz}).
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {TypeError} When it is not a regular file or an array has an unsupported dtype.
 * @throws {SyntaxError} When the archive or an array is malformed or corrupt.
 * @throws {RangeError} When the archive declares more than it can inflate to.
 */
export async function readNpz(path: string): Promise<Map<string, SafetensorsEntry>> {
  return await parseNpz(await readRegularFile(path, Number.MAX_SAFE_INTEGER, "an .npz archive"), path);
}

/**
 * Parses an `.npz` archive into tensors named by their member names without `.npy`.
 *
 * @example Parse an archive read from disk
 * ```ts ignore
 * const arrays = await parseNpz(await Deno.readFile("params.npz"), "params.npz");
 * console.log(arrays.get("W_enc")?.shape);
 * ```
 *
 * @param bytes The whole archive.
 * @param path Its name, for error messages.
 * @returns Arrays by name, as safetensors-style entries.
 * @throws {SyntaxError} When the archive or an array header is malformed, a member fails its CRC-32
 * or inflates to other than its declared size.
 * @throws {TypeError} When an array has an unsupported dtype.
 * @throws {RangeError} When the members declare more than {@linkcode MAX_NPZ_RATIO} times the archive.
 */
export async function parseNpz(bytes: Uint8Array, path: string): Promise<Map<string, SafetensorsEntry>> {
  const zip = new ZipView(bytes, path);
  const members = centralDirectory(zip);
  const declared = members.reduce((n, m) => n + m.size, 0);
  const allowed = Math.max(NPZ_RATIO_FREE_BYTES, MAX_NPZ_RATIO * bytes.length);
  if (declared > allowed) {
    throw new RangeError(
      `${path} declares ${declared} bytes of arrays in a ${bytes.length}-byte archive: expected at most ${allowed} (${MAX_NPZ_RATIO} times its size), so it is refused as a zip bomb`,
    );
  }
  const arrays = new Map<string, SafetensorsEntry>();
  for (const m of members) {
    const what = `${path}: member ${JSON.stringify(m.name)}`;
    if (zip.u32(m.local, "local header") !== 0x04034b50) throw new SyntaxError(`${what} has a broken local header`);
    const nameLength = zip.u16(m.local + 26, "local header");
    const localName = new TextDecoder().decode(zip.slice(m.local + 30, nameLength, "local header"));
    if (localName !== m.name) {
      throw new SyntaxError(`${what} has the name ${JSON.stringify(localName)} in its local header`);
    }
    const dataStart = m.local + 30 + nameLength + zip.u16(m.local + 28, "local header");
    const raw = zip.slice(dataStart, m.compressed, `data of member ${JSON.stringify(m.name)}`);
    const member = m.method === 0 ? raw : await inflate(raw, m.size, what);
    if (member.length !== m.size) {
      throw new SyntaxError(`${what} holds ${member.length} bytes: its header declares ${m.size}`);
    }
    const crc = crc32(member) >>> 0;
    if (crc !== m.crc) {
      throw new SyntaxError(
        `${what} fails its CRC-32 check (computed ${crc.toString(16)}, declared ${
          m.crc.toString(16)
        }): the archive is corrupt`,
      );
    }
    const key = m.name.replace(/\.npy$/, "");
    if (arrays.has(key)) throw new SyntaxError(`${path} holds the array ${key} twice`);
    arrays.set(key, parseNpy(member, `${path}:${m.name}`));
  }
  return arrays;
}

function centralDirectory(zip: ZipView): Member[] {
  const { bytes, path } = zip;
  const eocd = findEndOfCentralDirectory(zip);
  let count = zip.u16(eocd + 10, "end record");
  let dirOffset = zip.u32(eocd + 16, "end record");
  if (eocd >= 20 && zip.u32(eocd - 20, "zip64 locator") === 0x07064b50) {
    const zip64 = zip.u64(eocd - 20 + 8, "zip64 locator");
    if (zip.u32(zip64, "zip64 end record") !== 0x06064b50) throw new SyntaxError(`${path}: broken zip64 end record`);
    count = zip.u64(zip64 + 32, "zip64 end record");
    dirOffset = zip.u64(zip64 + 48, "zip64 end record");
  }
  // Each entry takes at least 46 bytes, so a larger count is a lie to refuse before looping.
  if (count * 46 > bytes.length) {
    throw new SyntaxError(
      `${path}: the zip end record claims ${count} members: expected at most ${
        Math.floor(bytes.length / 46)
      } in a ${bytes.length}-byte file`,
    );
  }
  const members: Member[] = [];
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (zip.u32(at, `central directory entry ${i}`) !== 0x02014b50) {
      throw new SyntaxError(`${path}: zip central directory entry ${i} is malformed`);
    }
    const what = `central directory entry ${i}`;
    const m: Member = {
      name: "",
      flags: zip.u16(at + 8, what),
      method: zip.u16(at + 10, what),
      crc: zip.u32(at + 16, what),
      compressed: zip.u32(at + 20, what),
      size: zip.u32(at + 24, what),
      local: zip.u32(at + 42, what),
    };
    const nameLength = zip.u16(at + 28, what);
    const extraLength = zip.u16(at + 30, what);
    const commentLength = zip.u16(at + 32, what);
    m.name = new TextDecoder().decode(zip.slice(at + 46, nameLength, what));
    // zip64: 0xFFFFFFFF fields are given, in this order, in extra field 0x0001.
    const extraEnd = at + 46 + nameLength + extraLength;
    for (let e = at + 46 + nameLength; e + 4 <= extraEnd;) {
      const id = zip.u16(e, what);
      const len = zip.u16(e + 2, what);
      if (id === 0x0001) {
        let f = e + 4;
        const next = () => {
          if (f + 8 > e + 4 + len) throw new SyntaxError(`${path}: the zip64 extra field of ${what} is too short`);
          const v = zip.u64(f, what);
          f += 8;
          return v;
        };
        if (m.size === 0xffffffff) m.size = next();
        if (m.compressed === 0xffffffff) m.compressed = next();
        if (m.local === 0xffffffff) m.local = next();
      }
      e += 4 + len;
    }
    const label = `${path}: member ${JSON.stringify(m.name)}`;
    if (m.method !== 0 && m.method !== 8) {
      throw new SyntaxError(`${label} uses zip compression method ${m.method}: expected stored (0) or deflate (8)`);
    }
    if (m.flags & 1) throw new SyntaxError(`${label} is encrypted`);
    if (m.method === 0 && m.compressed !== m.size) {
      throw new SyntaxError(`${label} is stored with ${m.compressed} bytes but declares ${m.size}`);
    }
    members.push(m);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return members;
}

function findEndOfCentralDirectory(zip: ZipView): number {
  const length = zip.bytes.length;
  for (let i = length - 22; i >= Math.max(0, length - 22 - 65535); i--) {
    if (zip.u32(i, "end record") === 0x06054b50) return i;
  }
  throw new SyntaxError(`${zip.path} is not a zip archive (.npz): no end-of-central-directory record`);
}

/** Inflates raw deflate data as a stream, stopping as soon as it passes `size` bytes. */
async function inflate(raw: Uint8Array, size: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  const reader = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("deflate-raw"))
    .getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > size) {
        throw new SyntaxError(`${what} inflates past the ${size} bytes its header declares`);
      }
      out.set(value, at);
      at += value.length;
    }
  } catch (cause) {
    await reader.cancel().catch(() => {});
    if (cause instanceof SyntaxError && cause.message.startsWith(what)) throw cause;
    throw new SyntaxError(`${what} is not valid deflate data: ${(cause as Error).message}`, { cause });
  }
  return out.subarray(0, at);
}

/**
 * Parses one `.npy` array (format versions 1 to 3, C or Fortran order up to 2-D).
 *
 * @example Parse an array written by numpy.save
 * ```ts ignore
 * const entry = parseNpy(await Deno.readFile("W_enc.npy"), "W_enc.npy");
 * ```
 *
 * @param bytes The array file.
 * @param what Its name, for error messages.
 * @returns The array as a safetensors-style entry (C order).
 * @throws {SyntaxError} When the header is malformed or the data is not exactly what the shape needs.
 * @throws {TypeError} When the dtype is unsupported.
 */
export function parseNpy(bytes: Uint8Array, what: string): SafetensorsEntry {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((m, i) => bytes[i] === m)) {
    throw new SyntaxError(`${what} is not a .npy array: bad magic`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw new SyntaxError(`${what} is .npy format version ${major}: expected 1, 2 or 3`);
  if (major > 1 && bytes.length < 12) throw new SyntaxError(`${what} is truncated in its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) {
    throw new SyntaxError(`${what} has a header of ${headerLength} bytes but the array is only ${bytes.length} bytes`);
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new SyntaxError(`${what}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  }
  const dtype = Object.hasOwn(NPY_DTYPES, descr) ? NPY_DTYPES[descr] : undefined;
  if (!dtype) {
    throw new TypeError(
      `${what} has NumPy dtype ${descr}: expected one of ${
        Object.keys(NPY_DTYPES).join(", ")
      } (object arrays are pickle and never loaded)`,
    );
  }
  const dims = shapeText.split(",").map((s) => s.trim());
  if (dims.at(-1) === "") dims.pop();
  if (!dims.every((d) => /^\d+$/.test(d))) {
    throw new SyntaxError(`${what} has shape (${shapeText}): expected non-negative integers`);
  }
  const shape = dims.map(Number);
  const elementBytes = DTYPE_BYTES[dtype];
  const needed = shape.reduce((a, b) => a * b, 1) * elementBytes;
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart !== needed) {
    throw new SyntaxError(
      `${what} of shape (${shape.join(", ")}) and dtype ${descr} needs ${needed} data bytes: it holds ${
        bytes.length - dataStart
      }`,
    );
  }
  let data = bytes.subarray(dataStart);
  if (fortran === "True" && shape.length === 2) data = transposeBytes(data, shape[1], shape[0], elementBytes);
  else if (fortran === "True" && shape.length > 2) {
    throw new TypeError(`${what} is a ${shape.length}-D Fortran-order array: expected C order`);
  }
  return { dtype, shape, bytes: data };
}

function transposeBytes(data: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out.set(data.subarray((r * cols + c) * size, (r * cols + c + 1) * size), (c * rows + r) * size);
    }
  }
  return out;
}
