import { join } from "node:path";
import { openRegularFile, readRegularFile, readRegularTextFile } from "../../core/io/read_regular_file.ts";
import { assertEquals, assertRejects } from "../_assert.ts";

async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assertEquals(success, true);
}

Deno.test("readRegularFile() refuses a FIFO at once instead of blocking on it", async () => {
  const dir = await Deno.makeTempDir();
  await mkfifo(join(dir, "cfg.json"));
  await assertRejects(
    () => readRegularFile(join(dir, "cfg.json"), 1024, "a JSON file"),
    TypeError,
    `${join(dir, "cfg.json")} is a FIFO (named pipe): expected a regular file`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readRegularFile() follows links and refuses a link to /dev/zero or a folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", join(dir, "zero"));
  await assertRejects(() => readRegularFile(join(dir, "zero"), 1e12, "weights"), TypeError, "is a character device");
  await assertRejects(() => readRegularFile(dir, 1e12, "weights"), TypeError, `${dir} is a folder`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readRegularFile() refuses a file over its bound before reading it", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array(2048));
  await assertRejects(
    () => readRegularFile(path, 1024, "a JSON config"),
    RangeError,
    `${path} is 2048 bytes: expected at most 1024 for a JSON config`,
  );
  await Deno.remove(path);
});

Deno.test("openRegularFile() names a dangling link as such", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink(join(dir, "gone"), join(dir, "link"));
  await assertRejects(
    () => openRegularFile(join(dir, "link"), 1024, "a file"),
    Deno.errors.NotFound,
    "is a symbolic link to a missing file",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readRegularTextFile() refuses invalid UTF-8, naming the file", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array([0x7b, 0xff, 0x7d]));
  await assertRejects(() => readRegularTextFile(path, 1024, "a text"), SyntaxError, `${path} is not valid UTF-8`);
  await Deno.remove(path);
});
