import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from "../../core/io/safetensors.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";

function withHeader(header: unknown, dataBytes: number): Uint8Array {
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

Deno.test("encodeSafetensors() and parseSafetensors() round-trip F32, F16 and I64", () => {
  const bytes = encodeSafetensors({
    a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    b: { shape: [3], data: new Float16Array([0.5, -1, 2]) },
    c: { shape: [1], data: new BigInt64Array([50256n]) },
  }, { format: "pt" });
  const file = parseSafetensors(bytes, "t.safetensors");
  assertEquals((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8, 0);
  assertEquals(Array.from(toFloat32(file.tensors.get("a")!, "a")), [1, 2, 3, 4]);
  assertEquals(Array.from(toFloat32(file.tensors.get("b")!, "b")), [0.5, -1, 2]);
  assertEquals(file.tensors.get("c")!.dtype, "I64");
  assertEquals(file.metadata, { format: "pt" });
});

Deno.test("toFloat32() widens BF16 exactly", () => {
  const bf16 = new Uint16Array([0x3f80, 0xc040, 0x4049]); // 1, -3, 3.140625
  const file = parseSafetensors(
    withHeaderAndData({ w: { dtype: "BF16", shape: [3], data_offsets: [0, 6] } }, new Uint8Array(bf16.buffer)),
    "b",
  );
  assertEquals(Array.from(toFloat32(file.tensors.get("w")!, "w")), [1, -3, 3.140625]);
});

function withHeaderAndData(header: unknown, data: Uint8Array): Uint8Array {
  const out = withHeader(header, data.length);
  out.set(data, out.length - data.length);
  return out;
}

Deno.test("parseSafetensors() rejects a truncated file", () => {
  assertThrows(
    () => parseSafetensors(new Uint8Array(5), "short.safetensors"),
    SyntaxError,
    "short.safetensors is truncated",
  );
});

Deno.test("parseSafetensors() rejects a header length larger than the file", () => {
  const bytes = withHeader({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 4);
  new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
  assertThrows(() => parseSafetensors(bytes, "big.safetensors"), SyntaxError, "header length of 1000 bytes but only");
});

Deno.test("parseSafetensors() rejects a tensor whose bytes run past the data", () => {
  const bytes = withHeader({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8);
  assertThrows(
    () => parseSafetensors(bytes, "f"),
    SyntaxError,
    `tensor "w" has data_offsets [0, 16] outside the 8 data bytes`,
  );
});

Deno.test("parseSafetensors() rejects overlapping tensors", () => {
  const bytes = withHeader({
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
  }, 12);
  assertThrows(() => parseSafetensors(bytes, "f"), SyntaxError, `tensors "a" and "b" have overlapping data_offsets`);
});

Deno.test("parseSafetensors() rejects an unknown dtype, naming the tensor", () => {
  const bytes = withHeader({ w: { dtype: "F8_E4M3X", shape: [1], data_offsets: [0, 1] } }, 1);
  assertThrows(() => parseSafetensors(bytes, "f"), TypeError, `tensor "w" has dtype "F8_E4M3X": expected one of`);
});

Deno.test("parseSafetensors() rejects a shape that disagrees with the byte count", () => {
  const bytes = withHeader({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8);
  assertThrows(() => parseSafetensors(bytes, "f"), TypeError, "needs 12 bytes but data_offsets give 8");
});

Deno.test("parseSafetensors() rejects a header that is not JSON", () => {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setBigUint64(0, 8n, true);
  bytes.set(new TextEncoder().encode("{notjson"), 8);
  assertThrows(() => parseSafetensors(bytes, "f"), SyntaxError, "header that is not valid JSON");
});

Deno.test("parseSafetensors() names PyTorch pickle files", () => {
  const zip = new Uint8Array(64);
  zip.set([0x50, 0x4b, 0x03, 0x04]);
  assertThrows(() => parseSafetensors(zip, "model.pt"), SyntaxError, "model.pt is a PyTorch pickle file");
});

Deno.test("writeSafetensors() writes atomically and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  await writeSafetensors(`${dir}/x.safetensors`, { x: { shape: [1], data: new Float32Array([7]) } });
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assertEquals(names, ["x.safetensors"]);
  assertEquals(Array.from(toFloat32((await readSafetensors(`${dir}/x.safetensors`)).tensors.get("x")!, "x")), [7]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseSafetensors() refuses a length prefix one byte short instead of reading tensors one byte off", () => {
  const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, view.getBigUint64(0, true) - 1n, true);
  assertThrows(
    () => parseSafetensors(bytes, "w.safetensors"),
    SyntaxError,
    "w.safetensors: the tensors cover 8 data bytes but the file holds 9",
  );
});

Deno.test("parseSafetensors() refuses bytes after the last tensor and gaps between tensors", () => {
  const bytes = encodeSafetensors({ w: { shape: [1], data: new Float32Array([1]) } });
  assertThrows(
    () => parseSafetensors(new Uint8Array([...bytes, 0]), "f"),
    SyntaxError,
    "the tensors cover 4 data bytes but the file holds 5",
  );
  const gap = withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8);
  assertThrows(() => parseSafetensors(gap, "f"), SyntaxError, `tensor "a" starts at data byte 4: expected 0`);
});

Deno.test("readSafetensors() refuses a FIFO and a link to /dev/zero", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", `${dir}/zero.safetensors`);
  await assertRejects(() => readSafetensors(`${dir}/zero.safetensors`), TypeError, "is a character device");
  const { success } = await new Deno.Command("mkfifo", { args: [`${dir}/fifo.safetensors`] }).output();
  assertEquals(success, true);
  await assertRejects(() => readSafetensors(`${dir}/fifo.safetensors`), TypeError, "is a FIFO");
  await Deno.remove(dir, { recursive: true });
});
