import { crc32, deflateRawSync } from "node:zlib";
import { parseNpz, readNpz } from "../../core/io/npz.ts";
import { MAX_ZIP_RATIO } from "../../core/io/zip_archive.ts";
import { toFloat32 } from "../../core/io/safetensors.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { npy, npz, zipArchive } from "./_npz_writer.ts";

const W = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };

Deno.test("parseNpz() reads stored and deflated archives alike", async () => {
  for (const deflate of [false, true]) {
    const arrays = await parseNpz(npz({ W_enc: W }, { deflate }), "params.npz");
    assertEquals(arrays.get("W_enc")?.shape, [2, 3]);
    assertEquals(Array.from(toFloat32(arrays.get("W_enc")!, "W_enc")), [1, 2, 3, 4, 5, 6]);
  }
});

Deno.test("parseNpz() refuses a zip bomb before inflating it", async () => {
  const zeros = new Uint8Array(96 * 1024 * 1024);
  const bomb = zipArchive([{
    name: "W_enc.npy",
    data: new Uint8Array(0),
    deflate: true,
    compressed: new Uint8Array(deflateRawSync(zeros)),
    size: zeros.length,
    crc: crc32(zeros) >>> 0,
  }]);
  await assertRejects(
    () => parseNpz(bomb, "params.npz"),
    RangeError,
    `expected at most ${64 * 1024 * 1024} (${MAX_ZIP_RATIO} times its size), so it is refused as a zip bomb`,
  );
});

Deno.test("parseNpz() stops inflating at the declared size when the header lies", async () => {
  const big = npy([1024, 1024], new Float32Array(1024 * 1024));
  const lying = zipArchive([{ name: "W_enc.npy", data: big, deflate: true, size: 100 }]);
  await assertRejects(
    () => parseNpz(lying, "params.npz"),
    SyntaxError,
    `params.npz: member "W_enc.npy" inflates past the 100 bytes its header declares`,
  );
});

Deno.test("parseNpz() checks each member's CRC-32", async () => {
  const data = npy(W.shape, W.data);
  for (const deflate of [false, true]) {
    const bad = zipArchive([{ name: "W_enc.npy", data, deflate, crc: (crc32(data) ^ 1) >>> 0 }]);
    await assertRejects(() => parseNpz(bad, "params.npz"), SyntaxError, "fails its CRC-32 check");
  }
});

Deno.test("parseNpz() refuses an .npy whose shape disagrees with its data", async () => {
  const data = npy([2, 4], W.data); // 8 values declared, 6 stored
  await assertRejects(
    () => parseNpz(zipArchive([{ name: "W_enc.npy", data }]), "params.npz"),
    SyntaxError,
    "params.npz:W_enc.npy of shape (2, 4) and dtype <f4 needs 32 data bytes: it holds 24",
  );
});

Deno.test("parseNpz() names the archive when a record points outside it", async () => {
  const archive = npz({ W_enc: W });
  new DataView(archive.buffer).setUint32(archive.length - 22 + 16, 0xfffffff0, true); // central directory offset
  await assertRejects(() => parseNpz(archive, "params.npz"), SyntaxError, "params.npz: the zip central directory");
  await assertRejects(() => parseNpz(archive.subarray(0, 30), "params.npz"), SyntaxError, "params.npz is not a zip");
});

Deno.test("readNpz() refuses a FIFO or device", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", `${dir}/params.npz`);
  await assertRejects(() => readNpz(`${dir}/params.npz`), TypeError, "params.npz is a character device");
  await Deno.remove(dir, { recursive: true });
});
