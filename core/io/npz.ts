/**
 * NumPy `.npz` archives (as Gemma Scope ships `params.npz`): a zip of `.npy` arrays (see
 * {@linkcode readZipMembers}: stored or deflated, zip64, zip bombs refused, CRC-32 checked). Numeric arrays
 * only; object arrays (pickle) are refused.
 *
 * @module
 */

import { readRegularFile } from "./read_regular_file.ts";
import { DTYPE_BYTES, type SafetensorsDtype, type SafetensorsEntry } from "./safetensors.ts";
import { readZipMembers } from "./zip_archive.ts";

const NPY_DTYPES: Record<string, SafetensorsDtype> = {
  "<f4": "F32",
  "<f2": "F16",
  "<f8": "F64",
  "<i8": "I64",
  "<i4": "I32",
  "|u1": "U8",
};

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
 * @throws {RangeError} When the members declare more than 100 times the archive (a zip bomb, see {@linkcode readZipMembers}).
 */
export async function parseNpz(bytes: Uint8Array, path: string): Promise<Map<string, SafetensorsEntry>> {
  const arrays = new Map<string, SafetensorsEntry>();
  for (const m of await readZipMembers(bytes, path, ".npz")) {
    const key = m.name.replace(/\.npy$/, "");
    if (arrays.has(key)) throw new SyntaxError(`${path} holds the array ${key} twice`);
    arrays.set(key, parseNpy(m.data, `${path}:${m.name}`));
  }
  return arrays;
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
