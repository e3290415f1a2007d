import { crc32, deflateRawSync } from "node:zlib";

/** One zip member; `compressed`, `size` and `crc` override what `data` gives (to write broken archives). */
export interface ZipMember {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  compressed?: Uint8Array;
  size?: number;
  crc?: number;
}

// A .npy file (format 1.0, C order) of float32 values, as numpy.save writes it (another descr: a broken one).
export function npy(shape: number[], data: Float32Array, descr = "<f4"): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${
    shape.length === 1 ? "," : ""
  }), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + h.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(h, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + h.length);
  return out;
}

// A zip archive of the members, stored or deflated.
export function zipArchive(members: ZipMember[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = enc.encode(m.name);
    const stored = m.compressed ?? (m.deflate ? new Uint8Array(deflateRawSync(m.data)) : m.data);
    const method = m.deflate ? 8 : 0;
    const crc = m.crc ?? crc32(m.data) >>> 0;
    const size = m.size ?? m.data.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, stored.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const dir = new Uint8Array(46 + name.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, 0x02014b50, true);
    dv.setUint16(10, method, true);
    dv.setUint32(16, crc, true);
    dv.setUint32(20, stored.length, true);
    dv.setUint32(24, size, true);
    dv.setUint16(28, name.length, true);
    dv.setUint32(42, offset, true);
    dir.set(name, 46);
    parts.push(local, stored);
    central.push(dir);
    offset += local.length + stored.length;
  }
  const dirSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, dirSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Writes a .npz, stored as numpy.savez does (or deflated as numpy.savez_compressed), for loader tests.
export function npz(
  arrays: Record<string, { shape: number[]; data: Float32Array }>,
  { deflate = false }: { deflate?: boolean } = {},
): Uint8Array {
  return zipArchive(
    Object.entries(arrays).map(([name, a]) => ({ name: `${name}.npy`, data: npy(a.shape, a.data), deflate })),
  );
}
