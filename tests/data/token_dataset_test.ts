import { parquetWriteBuffer } from "hyparquet-writer";
import { assertEquals, assertRejects } from "../_assert.ts";
import { resolveDocuments, SOTU } from "../../core/data/documents.ts";
import { openTokenDataset } from "../../core/data/token_dataset.ts";
import { encodeSafetensors } from "../../core/io/safetensors.ts";
import { startHubServer } from "../hub/_hub_server.ts";

// A tokenizer that makes one token per character: rows can be read off by eye
const charTokenizer = { toTokens: (text: string) => Array.from(text, (c) => c.charCodeAt(0)) };
const BOS = 1;

async function allRows(source: string, contextSize = 4, extra = {}): Promise<number[][]> {
  const data = await openTokenDataset(source, { tokenizer: charTokenizer, contextSize, bos: BOS, ...extra });
  const out: number[][] = [];
  for await (const row of data.rows()) out.push(row);
  return out;
}

const codes = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const parquet = (columns: { name: string; data: unknown[] }[]) =>
  new Uint8Array(parquetWriteBuffer({ columnData: columns as never, rowGroupSize: 2 }));

Deno.test("openTokenDataset() reads a folder of .txt files in path order, one document each", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/b`);
  await Deno.writeTextFile(`${dir}/b/2.txt`, "cde");
  await Deno.writeTextFile(`${dir}/a.txt`, "abcdef");
  await Deno.writeTextFile(`${dir}/notes.md`, "ignored");
  assertEquals(await allRows(dir), [[BOS, ...codes("abc")], [BOS, ...codes("def")], [BOS, ...codes("cde")]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTokenDataset() reads .txt lines, .jsonl text or token fields and Parquet columns alike", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/d.txt`, "abc\n\nxy\r\nz");
  await Deno.writeTextFile(`${dir}/d.jsonl`, '{"text": "abc"}\n\n{"text": "xy"}\n{"tokens": [122]}\n');
  await Deno.writeFile(`${dir}/d.parquet`, parquet([{ name: "text", data: ["abc", "", "xy", "z"] }]));
  await Deno.writeFile(`${dir}/ids.parquet`, parquet([{ name: "input_ids", data: [[97, 98, 99], [120, 121], [122]] }]));
  const expected = [[BOS, ...codes("abc")], [BOS, ...codes("xy"), BOS]];
  for (const name of ["d.txt", "d.jsonl", "d.parquet", "ids.parquet"]) {
    assertEquals(await allRows(`${dir}/${name}`), expected, name);
  }
  await Deno.writeTextFile(`${dir}/body.jsonl`, '{"body": "abcd"}\n');
  assertEquals(await allRows(`${dir}/body.jsonl`, 4, { textColumn: "body" }), [[BOS, ...codes("abc")]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTokenDataset() uses a safetensors eval_tokens (else tokens) tensor as it is", async () => {
  const dir = await Deno.makeTempDir();
  const rows = new BigInt64Array([50256n, 5n, 6n, 7n, 8n, 9n]);
  await Deno.writeFile(
    `${dir}/t.safetensors`,
    encodeSafetensors({
      tokens: { shape: [1, 2], data: new BigInt64Array([1n, 2n]) },
      eval_tokens: { shape: [2, 3], data: rows },
    }),
  );
  const data = await openTokenDataset(`${dir}/t.safetensors`, { tokenizer: charTokenizer, bos: BOS });
  assertEquals(data.contextSize, 3);
  const out: number[][] = [];
  for await (const row of data.rows()) out.push(row);
  assertEquals(out, [[50256, 5, 6], [7, 8, 9]]);
  await assertRejects(
    () => openTokenDataset(`${dir}/t.safetensors`, { tokenizer: charTokenizer, contextSize: 4 }),
    RangeError,
    "holds rows of 3 tokens",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTokenDataset() refuses empty data, long contexts, missing paths and unknown columns up front", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/short.txt`, "ab\n");
  await assertRejects(() => allRows(`${dir}/short.txt`), TypeError, "is empty: it gives no full row of 4 tokens");
  await assertRejects(
    () => allRows(`${dir}/short.txt`, 2048, { maxContext: 1024 }),
    RangeError,
    "above the model's 1024",
  );
  await assertRejects(() => allRows(`${dir}/missing.txt`), TypeError, "does not exist");
  await Deno.writeTextFile(`${dir}/d.jsonl`, '{"body": "abcd"}\n');
  await assertRejects(() => allRows(`${dir}/d.jsonl`), TypeError, 'line 1 has no "text" string');
  await Deno.writeFile(`${dir}/d.parquet`, parquet([{ name: "body", data: ["abcd"] }]));
  await assertRejects(() => allRows(`${dir}/d.parquet`), TypeError, "its columns are body");
  await Deno.mkdir(`${dir}/empty`);
  await assertRejects(() => allRows(`${dir}/empty`), TypeError, "holds no .txt files");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resolveDocuments() streams a Hugging Face dataset's split through the Hub and its cache", async () => {
  const home = await Deno.makeTempDir();
  const hub = await startHubServer({
    "org/speeches": {
      type: "dataset",
      commit: "c".repeat(40),
      files: {
        "README.md": new TextEncoder().encode("# speeches"),
        "data/train-00000-of-00002.parquet": parquet([{ name: "text", data: ["abc", "de"] }]),
        "data/train-00001-of-00002.parquet": parquet([{ name: "text", data: ["fgh"] }]),
        "data/test-00000-of-00001.parquet": parquet([{ name: "text", data: ["zzz"] }]),
      },
    },
    "org/model": { commit: "d".repeat(40), files: { "config.json": new TextEncoder().encode("{}") } },
  });
  try {
    const hubOptions = { endpoint: hub.endpoint, cacheDir: `${home}/hub` };
    const read = async (source: string, split?: string) => {
      const docs: string[] = [];
      for await (const d of (await resolveDocuments(source, { hub: hubOptions, split })).documents()) {
        docs.push(d as string);
      }
      return docs;
    };
    assertEquals(await read("org/speeches"), ["abc", "de", "fgh"]);
    assertEquals(await read("hf://datasets/org/speeches", "test"), ["zzz"]);
    const snapshot = `${home}/hub/datasets--org--speeches/snapshots/${"c".repeat(40)}/data`;
    assertEquals((await Deno.stat(`${snapshot}/train-00001-of-00002.parquet`)).isFile, true);
    // offline, the listing and files come from the cache
    const offline = await resolveDocuments("org/speeches", { hub: { ...hubOptions, offline: true } });
    let n = 0;
    for await (const _ of offline.documents()) n++;
    assertEquals(n, 3);
    await assertRejects(() => read("org/speeches", "validation"), TypeError, 'no data files for split "validation"');
    await assertRejects(() => read("org/model"), Error, "404");
  } finally {
    await hub.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test(`resolveDocuments("${SOTU}") gives the embedded State of the Union addresses`, async () => {
  const source = await resolveDocuments(SOTU);
  const first = await source.documents().next();
  assertEquals(typeof first.value === "string" && first.value.startsWith("Fellow-Citizens of the Senate"), true);
});

Deno.test("openTokenDataset() refuses token ids outside the vocabulary, naming the file and the place", async () => {
  const dir = await Deno.makeTempDir();
  for (const [bad, expected] of [[-5n, "-5"], [50257n, "50257"]] as const) {
    const path = `${dir}/tokens.safetensors`;
    const ids = new BigInt64Array([50256n, 11n, 12n, 13n, 50256n, bad, 14n, 15n]);
    await Deno.writeFile(path, encodeSafetensors({ tokens: { shape: [2, 4], data: ids } }));
    await assertRejects(
      () => openTokenDataset(path, { tokenizer: charTokenizer, vocabSize: 50257 }),
      RangeError,
      `${path}: tensor "tokens" holds token id ${expected} at row 1, position 1: expected an integer in 0..50256`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTokenDataset() refuses token ids of documents outside the vocabulary", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/d.jsonl`, JSON.stringify({ tokens: [1, 2, 3, 99, 4, 5] }) + "\n");
  await assertRejects(
    () => openTokenDataset(`${dir}/d.jsonl`, { tokenizer: charTokenizer, contextSize: 2, vocabSize: 50 }),
    RangeError,
    `The dataset ${dir}/d.jsonl holds token id 99: expected an integer in 0..49`,
  );
  await Deno.remove(dir, { recursive: true });
});
