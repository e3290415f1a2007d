/**
 * PyTorch checkpoints (`torch.save`'s zip format, PyTorch 1.6 and later) read the way
 * `torch.load(weights_only=True)` reads them, never running pickled code: `<archive>/data.pkl` through the
 * restricted unpickler of `torch_pickle.ts`, each tensor's bytes from its storage record `<archive>/data/<key>`,
 * bounds-checked against the storage. The older pre-1.6 format (a bare pickle stream) is refused.
 *
 * @module
 */

import { readRegularFile } from "./read_regular_file.ts";
import { DTYPE_BYTES, type SafetensorsEntry } from "./safetensors.ts";
import { loadPickle, type PickleKey, type PickleValue, type TorchStorage, TorchTensor } from "./torch_pickle.ts";
import { readZipMembers } from "./zip_archive.ts";

/** A loaded checkpoint: its pickled value, and the tensors' bytes on demand. */
export interface TorchCheckpoint {
  /** What was saved (a state dict is a `Map` of names to tensors). */
  value: PickleValue;
  /** The contiguous bytes of one of its tensors (a view of the storage when already contiguous). */
  tensor(t: TorchTensor, what: string): SafetensorsEntry;
}

/**
 * Parses a checkpoint from its bytes.
 *
 * @example
 * ```ts ignore
 * const ckpt = await parseTorchCheckpoint(await Deno.readFile("ae.pt"), "ae.pt");
 * ```
 *
 * @param bytes The whole file.
 * @param path Its name, for errors.
 * @returns The checkpoint.
 * @throws {SyntaxError} When it is not a zip-format checkpoint, its pickle breaks the weights-only rules, or a
 * tensor reaches outside its storage.
 * @throws {RangeError} When the archive declares more than it can inflate to.
 */
export async function parseTorchCheckpoint(bytes: Uint8Array, path: string): Promise<TorchCheckpoint> {
  if (bytes[0] === 0x80) {
    throw new SyntaxError(
      `${path} is a pickle stream, PyTorch's format before 1.6 (or pickle.dump's): sae reads torch.save's zip ` +
        "format; re-save it with torch.save(torch.load(path, weights_only=True), path) or as safetensors",
    );
  }
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new SyntaxError(`${path} is not a PyTorch checkpoint (a zip archive)`);
  }
  const records = new Map<string, Uint8Array>();
  for (const m of await readZipMembers(bytes, path, "a PyTorch checkpoint")) {
    if (records.has(m.name)) throw new SyntaxError(`${path} holds the record ${m.name} twice`);
    records.set(m.name, m.data);
  }
  const pickles = [...records.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new SyntaxError(
      `${path} holds ${pickles.length} <archive>/data.pkl records: a torch.save checkpoint has one`,
    );
  }
  const prefix = pickles[0].slice(0, -"data.pkl".length);
  const order = records.get(`${prefix}byteorder`);
  if (order !== undefined && new TextDecoder().decode(order) !== "little") {
    throw new SyntaxError(`${path} was saved on a big-endian machine: expected byteorder "little"`);
  }
  const storage = (s: TorchStorage) => {
    const data = records.get(`${prefix}data/${s.key}`);
    if (data === undefined) throw new SyntaxError(`${path}: storage ${s.key} has no record ${prefix}data/${s.key}`);
    if (data.length !== s.numel * DTYPE_BYTES[s.dtype]) {
      throw new SyntaxError(
        `${path}: storage ${s.key} holds ${data.length} bytes: ${s.numel} ${s.dtype} elements need ${
          s.numel * DTYPE_BYTES[s.dtype]
        }`,
      );
    }
  };
  const value = loadPickle(records.get(pickles[0])!, `${path}:${pickles[0]}`, storage);
  return { value, tensor: (t, what) => tensorBytes(t, records.get(`${prefix}data/${t.storage.key}`)!, what) };
}

/** The tensor's elements in C order, checked to lie inside its storage. */
function tensorBytes(t: TorchTensor, data: Uint8Array, what: string): SafetensorsEntry {
  const size = DTYPE_BYTES[t.storage.dtype];
  const count = t.shape.reduce((a, b) => a * b, 1);
  const entry = (bytes: Uint8Array): SafetensorsEntry => ({ dtype: t.storage.dtype, shape: [...t.shape], bytes });
  if (count === 0) return entry(new Uint8Array(0));
  const last = t.offset + t.shape.reduce((n, d, i) => n + (d - 1) * t.stride[i], 0);
  if (!Number.isSafeInteger(last) || last >= t.storage.numel) {
    throw new SyntaxError(
      `${what} of shape [${t.shape}] and stride [${t.stride}] from element ${t.offset} reaches element ${last} of a ${t.storage.numel}-element storage`,
    );
  }
  let expected = 1;
  const contiguous = t.shape.every((_, i) => {
    const j = t.shape.length - 1 - i;
    const ok = t.shape[j] === 1 || t.stride[j] === expected;
    expected *= t.shape[j];
    return ok;
  });
  if (contiguous) return entry(data.subarray(t.offset * size, (t.offset + count) * size));
  // a view saved as is (a transposed weight, a slice): gather it element by element
  const out = new Uint8Array(count * size);
  const index = new Array(t.shape.length).fill(0);
  for (let n = 0; n < count; n++) {
    const from = t.offset + index.reduce((s, k, i) => s + k * t.stride[i], 0);
    out.set(data.subarray(from * size, (from + 1) * size), n * size);
    for (let d = t.shape.length - 1; d >= 0 && ++index[d] === t.shape[d]; d--) index[d] = 0;
  }
  return entry(out);
}

/**
 * Reads a checkpoint that holds a state dict: a dict of names to tensors, as `torch.save(module.state_dict())`
 * and SAE releases' `.pt` files are.
 *
 * @example
 * ```ts ignore
 * const tensors = await readTorchStateDict("ae.pt");
 * console.log(tensors.get("encoder.weight")?.shape);
 * ```
 *
 * @param path The file (a regular file, see {@linkcode readRegularFile}).
 * @returns Tensors by name, in the dict's order, as safetensors-style entries.
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {TypeError} When it holds other than a dict of string names to tensors.
 * @throws {SyntaxError} When it is not a checkpoint sae can read safely (see {@linkcode parseTorchCheckpoint}).
 */
export async function readTorchStateDict(path: string): Promise<Map<string, SafetensorsEntry>> {
  const checkpoint = await parseTorchCheckpoint(
    await readRegularFile(path, Number.MAX_SAFE_INTEGER, "a PyTorch checkpoint"),
    path,
  );
  const { value } = checkpoint;
  if (!(value instanceof Map)) throw new TypeError(`${path} holds ${kind(value)}: expected a state dict of tensors`);
  const out = new Map<string, SafetensorsEntry>();
  for (const [name, t] of value) {
    if (typeof name !== "string") throw new TypeError(`${path}: a state dict key is ${String(name)}: expected a name`);
    if (!(t instanceof TorchTensor)) throw new TypeError(`${path}: "${name}" holds ${kind(t)}: expected a tensor`);
    out.set(name, checkpoint.tensor(t, `${path}: tensor "${name}"`));
  }
  return out;
}

function kind(v: PickleValue | PickleKey): string {
  if (v instanceof Map) return "a dict";
  if (Array.isArray(v)) return "a list";
  if (v instanceof TorchTensor) return "a tensor";
  return v === null ? "None" : typeof v === "object" ? "a tuple" : `the ${typeof v} ${String(v).slice(0, 40)}`;
}
