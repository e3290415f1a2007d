// Writes a stored (uncompressed) .npz, as numpy.savez does, for loader tests.
export function npz(arrays: Record<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const enc = new TextEncoder();
  const files = Object.entries(arrays).map(([name, a]) => {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${a.shape.join(", ")}${
      a.shape.length === 1 ? "," : ""
    }), }`;
    header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
    const h = enc.encode(header);
    const npy = new Uint8Array(10 + h.length + a.data.byteLength);
    npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(npy.buffer).setUint16(8, h.length, true);
    npy.set(h, 10);
    npy.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), 10 + h.length);
    return { name: enc.encode(`${name}.npy`), npy };
  });
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const local = new Uint8Array(30 + f.name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint32(18, f.npy.length, true);
    lv.setUint32(22, f.npy.length, true);
    lv.setUint16(26, f.name.length, true);
    local.set(f.name, 30);
    const dir = new Uint8Array(46 + f.name.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, 0x02014b50, true);
    dv.setUint32(20, f.npy.length, true);
    dv.setUint32(24, f.npy.length, true);
    dv.setUint16(28, f.name.length, true);
    dv.setUint32(42, offset, true);
    dir.set(f.name, 46);
    parts.push(local, f.npy);
    central.push(dir);
    offset += local.length + f.npy.length;
  }
  const dirSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
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
