/**
 * NumPy `.npz` archives (as Gemma Scope ships `params.npz`): a zip of `.npy` arrays, stored or
 * deflated, zip64 included. Float arrays only; object arrays (pickle) are refused.
 *
 * @module
 */

import { inflateRawSync } from "node:zlib";
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
 * Parses an `.npz` archive into tensors named by their member names without `.npy`.
 *
 * @example Parse an archive read from disk
 * ```ts ignore
 * const arrays = parseNpz(await Deno.readFile("params.npz"), "params.npz");
 * console.log(arrays.get("W_enc")?.shape);
 * ```
 *
 * @param bytes The whole archive.
 * @param path Its name, for error messages.
 * @returns Arrays by name, as safetensors-style entries.
 * @throws {SyntaxError} When the archive or an array header is malformed.
 * @throws {TypeError} When an array has an unsupported dtype.
 */
export function parseNpz(bytes: Uint8Array, path: string): Map<string, SafetensorsEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(view, path);
  let count = view.getUint16(eocd + 10, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const zip64 = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (view.getUint32(zip64, true) !== 0x06064b50) throw new SyntaxError(`${path}: broken zip64 end record`);
    count = Number(view.getBigUint64(zip64 + 32, true));
    dirOffset = Number(view.getBigUint64(zip64 + 48, true));
  }
  const arrays = new Map<string, SafetensorsEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) {
      throw new SyntaxError(`${path}: zip central directory entry ${i} is malformed`);
    }
    const method = view.getUint16(at + 10, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64: 0xFFFFFFFF fields are given, in this order, in extra field 0x0001.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let f = e + 4;
        const next = () => {
          const v = Number(view.getBigUint64(f, true));
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressed === 0xffffffff) compressed = next();
        if (local === 0xffffffff) local = next();
      }
      e += 4 + len;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (view.getUint32(local, true) !== 0x04034b50) {
      throw new SyntaxError(`${path}: member ${name} has a broken local header`);
    }
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(dataStart, dataStart + compressed);
    if (method !== 0 && method !== 8) {
      throw new SyntaxError(
        `${path}: member ${name} uses zip compression method ${method}: expected stored (0) or deflate (8)`,
      );
    }
    const member = method === 0 ? raw : new Uint8Array(inflateRawSync(raw));
    if (member.length !== size) throw new SyntaxError(`${path}: member ${name} is truncated`);
    arrays.set(name.replace(/\.npy$/, ""), parseNpy(member, `${path}:${name}`));
  }
  return arrays;
}

function findEndOfCentralDirectory(view: DataView, path: string): number {
  for (let i = view.byteLength - 22; i >= Math.max(0, view.byteLength - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) return i;
  }
  throw new SyntaxError(`${path} is not a zip archive (.npz): no end-of-central-directory record`);
}

/**
 * Parses one `.npy` array (format versions 1 to 3, C or Fortran order up to 2-D).
 *
 * @param bytes The array file.
 * @param what Its name, for error messages.
 * @returns The array as a safetensors-style entry (C order).
 * @throws {SyntaxError} When the header is malformed.
 * @throws {TypeError} When the dtype is unsupported.
 */
export function parseNpy(bytes: Uint8Array, what: string): SafetensorsEntry {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((m, i) => bytes[i] === m)) {
    throw new SyntaxError(`${what} is not a .npy array: bad magic`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] === "True";
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) {
    throw new SyntaxError(`${what}: unreadable .npy header ${header.trim()}`);
  }
  const dtype = NPY_DTYPES[descr];
  if (!dtype) {
    throw new TypeError(
      `${what} has NumPy dtype ${descr}: expected one of ${
        Object.keys(NPY_DTYPES).join(", ")
      } (object arrays are pickle and never loaded)`,
    );
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const elementBytes = DTYPE_BYTES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart < count * elementBytes) throw new SyntaxError(`${what} is truncated`);
  let data = bytes.subarray(dataStart, dataStart + count * elementBytes);
  if (fortran && shape.length === 2) data = transposeBytes(data, shape[1], shape[0], elementBytes);
  else if (fortran && shape.length > 2) {
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
