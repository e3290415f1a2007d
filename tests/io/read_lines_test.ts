import { assertEquals, assertRejects } from "../_assert.ts";
import { readLines } from "../../core/io/read_lines.ts";

async function collect(path: string, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(path, max)) out.push(line);
  return out;
}

Deno.test("readLines() splits LF and CRLF lines across chunks, keeping empty lines and a last line without newline", async () => {
  const path = await Deno.makeTempFile();
  const long = "y".repeat(200_000); // spans several of the stream's chunks
  await Deno.writeTextFile(path, `a\r\n\nb${long}\nlast`);
  assertEquals(await collect(path), ["a", "", `b${long}`, "last"]);
  await Deno.remove(path);
});

Deno.test("readLines() refuses a line longer than its bound at once, naming the file and line", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, `{"text": "ok"}\n{"text": "${"z".repeat(3_000_000)}"}\n`);
  const started = performance.now();
  await assertRejects(() => collect(path, 1_000_000), RangeError, `${path}: line 2 is longer than 1000000 characters`);
  assertEquals(performance.now() - started < 5000, true);
  await Deno.remove(path);
});

Deno.test("readLines() refuses bytes that are not UTF-8, naming the file, instead of reading U+FFFD into the text", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, new Uint8Array([0x61, 0x0a, 0xc3, 0xa9, 0x62, 0xff, 0x0a]));
  await assertRejects(
    () => collect(path),
    TypeError,
    `${path} is not UTF-8 text: line 2 holds a byte that is not UTF-8 (byte 5`,
  );
  await Deno.writeFile(path, new Uint8Array([0x61, 0x0a, 0x0a, 0xe2, 0x82])); // cut short at the end
  await assertRejects(() => collect(path), TypeError, "line 3 holds a byte that is not UTF-8 (byte 3");
  await Deno.remove(path);
});
