// Paths that exist but are not what a dataset or a model is say what they are, not that they do not exist.
import { assertRejects } from "../_assert.ts";
import { resolveDocuments } from "../../core/data/documents.ts";
import { resolveModelDir } from "../../core/lm/model_source.ts";

Deno.test("resolveDocuments() and resolveModelDir() name a FIFO, a device or a file for what it is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await new Deno.Command("mkfifo", { args: [`${dir}/corpus.txt`] }).output();
    await assertRejects(() => resolveDocuments(`${dir}/corpus.txt`), TypeError, "corpus.txt is a FIFO (named pipe)");
    await assertRejects(() => resolveDocuments("/dev/zero"), TypeError, "/dev/zero is a character device");
    await Deno.writeTextFile(`${dir}/config.json`, "{}");
    await assertRejects(
      () => resolveModelDir(`${dir}/config.json`),
      TypeError,
      "config.json is a file: expected a model folder",
    );
    await assertRejects(() => resolveModelDir("/dev/null"), TypeError, "/dev/null is not a folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
