/**
 * Zip archives read whole from memory, as NumPy's `.npz` and PyTorch's `.pt` checkpoints are: stored or
 * deflated members, zip64 included. Deflated members are inflated as streams that stop at their declared size,
 * the archive may declare at most {@linkcode MAX_ZIP_RATIO} times its own size (zip bombs), and every member's
 * CRC-32 is checked.
 *
 * @module
 */

import { crc32 } from "node:zlib";

/**
 * How many times its own size an archive may inflate to, beyond {@linkcode ZIP_RATIO_FREE_BYTES}: float
 * weights barely compress (numpy.savez and torch.save store them), so more is a zip bomb.
 */
export const MAX_ZIP_RATIO = 100;

/** Total inflated bytes allowed whatever the ratio (small archives of zeros compress well). */
export const ZIP_RATIO_FREE_BYTES = 64 * 1024 * 1024;

/** One member of an archive, its bytes checked. */
export interface ZipMember {
  /** Its name in the archive. */
  name: string;
  /** Its bytes: a view into the archive when stored, a new array when deflated. */
  data: Uint8Array;
}

/** Bounds-checked little-endian reads that fail naming the archive. */
class ZipView {
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array, readonly path: string, readonly kind: string) {
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
 * The members of a zip archive, in central-directory order, each checked against its CRC-32.
 *
 * @example Read the arrays of an archive
 * ```ts ignore
 * const members = await readZipMembers(await Deno.readFile("params.npz"), "params.npz", ".npz");
 * console.log(members.map((m) => m.name)); // ["W_enc.npy", ...]
 * ```
 *
 * @param bytes The whole archive.
 * @param path Its name, for errors.
 * @param kind What it should be, for errors (".npz", "a PyTorch checkpoint").
 * @returns The members.
 * @throws {SyntaxError} When the archive is malformed, encrypted, uses another compression, or a member fails its
 * CRC-32 or inflates to other than its declared size.
 * @throws {RangeError} When the members declare more than {@linkcode MAX_ZIP_RATIO} times the archive.
 */
export async function readZipMembers(bytes: Uint8Array, path: string, kind: string): Promise<ZipMember[]> {
  const zip = new ZipView(bytes, path, kind);
  const members = centralDirectory(zip);
  const declared = members.reduce((n, m) => n + m.size, 0);
  const allowed = Math.max(ZIP_RATIO_FREE_BYTES, MAX_ZIP_RATIO * bytes.length);
  if (declared > allowed) {
    throw new RangeError(
      `${path} declares ${declared} bytes of members in a ${bytes.length}-byte archive: expected at most ${allowed} (${MAX_ZIP_RATIO} times its size), so it is refused as a zip bomb`,
    );
  }
  const out: ZipMember[] = [];
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
    const data = m.method === 0 ? raw : await inflate(raw, m.size, what);
    if (data.length !== m.size) {
      throw new SyntaxError(`${what} holds ${data.length} bytes: its header declares ${m.size}`);
    }
    const crc = crc32(data) >>> 0;
    if (crc !== m.crc) {
      throw new SyntaxError(
        `${what} fails its CRC-32 check (computed ${crc.toString(16)}, declared ${
          m.crc.toString(16)
        }): the archive is corrupt`,
      );
    }
    out.push({ name: m.name, data });
  }
  return out;
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
  throw new SyntaxError(`${zip.path} is not a zip archive (${zip.kind}): no end-of-central-directory record`);
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
