import { assertEquals, assertRejects } from "../_assert.ts";
import { batchRows, concatAndChunk } from "../../core/data/token_rows.ts";

const BOS = 0;

async function rows(docs: number[][], ctx: number, withBos = true): Promise<number[][]> {
  const out: number[][] = [];
  for await (const row of concatAndChunk(docs, ctx, withBos ? BOS : undefined)) out.push(row);
  return out;
}

// Expected rows worked out by hand from SAELens's _add_tokens_to_batch (begin_batch_token and
// sequence_separator_token both BOS, begin_sequence_token None).
Deno.test("concatAndChunk() opens every row with BOS and continues a long document after it", async () => {
  assertEquals(await rows([[1, 2, 3, 4, 5, 6, 7, 8]], 4), [[0, 1, 2, 3], [0, 4, 5, 6]]);
});

Deno.test("concatAndChunk() separates documents with BOS and drops the last partial row", async () => {
  assertEquals(await rows([[1, 2], [3, 4, 5, 6], [7]], 4), [[0, 1, 2, 0], [0, 3, 4, 5], [0, 6, 0, 7]]);
});

Deno.test("concatAndChunk() starts a document that begins a row without a separator", async () => {
  assertEquals(await rows([[1, 2, 3], [4, 5, 6]], 4), [[0, 1, 2, 3], [0, 4, 5, 6]]);
});

Deno.test("concatAndChunk() passes rows that already start with BOS through unchanged", async () => {
  const cut = [[0, 9, 8, 7], [0, 6, 5, 4]];
  assertEquals(await rows(cut, 4), cut);
});

Deno.test("concatAndChunk() skips empty documents and adds nothing without a BOS", async () => {
  assertEquals(await rows([[], [1, 2, 3], [], [4, 5]], 2, false), [[1, 2], [3, 4]]);
});

Deno.test("batchRows() refuses rows of different lengths", async () => {
  await assertRejects(
    async () => {
      for await (const _ of batchRows([[1, 2], [3]], 4)) { /* drain */ }
    },
    TypeError,
    "Rows must all have one length: got 1 after 2",
  );
});
