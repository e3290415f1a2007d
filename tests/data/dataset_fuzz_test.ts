// Hostile and damaged datasets through openTokenDataset, as `sae eval --dataset` and `sae train` read them: .txt
// files and folders of them, .jsonl (text or token fields), Parquet, and token-row safetensors. Every input gives
// exactly the rows its documents mean (checked against an independent reading of what was written) or fails with
// one line naming the file; never a crash, a hang, or memory beyond the rows asked for.
// SAE_FUZZ_DATASETS sets the number of inputs (default 150), SAE_FUZZ_SEED the seed.
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { openTokenDataset } from "../../core/data/token_dataset.ts";
import { concatAndChunk } from "../../core/data/token_rows.ts";
import { encodeSafetensors } from "../../core/io/safetensors.ts";
import { assertEquals } from "../_assert.ts";
import { type FuzzCase, FuzzRandom, FuzzRun } from "../_fuzz.ts";

const INPUTS = Number(Deno.env.get("SAE_FUZZ_DATASETS") ?? 150);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? 23);
const random = new FuzzRandom(SEED);
// Every row is read (the files are small): damage at the end must surface too.
const CONTEXT = 8, ROWS = Infinity, BOS = 1, VOCAB = 0x3000;
// One token per UTF-16 unit: rows can be computed independently of any tokenizer's merges.
const tokenizer = { toTokens: (text: string) => Array.from(text, (c) => c.charCodeAt(0) % VOCAB) };

/** What a dataset input must read as: the documents (text or token ids), or "refuse". */
type Expected = (string | number[])[] | { rows: number[][] } | "refuse";

interface DatasetInput {
  label: string;
  /** The path read, relative to the input's folder. */
  path: string;
  files: Record<string, Uint8Array>;
  special?: "fifo" | "dev-zero" | "folder" | "dangling";
  expected: Expected;
}

const enc = new TextEncoder();
const PIECES = ["the", " budget", "\u00e9t\u00e9", "\u{1F600}", "  ", "\t", "42", "\u0000", "\u2028", "\u05e9\u05dc"];

function text(): string {
  return Array.from({ length: 1 + random.int(12) }, () => random.pick(PIECES)).join("");
}

function txtInput(): DatasetInput {
  const lines = Array.from({ length: 1 + random.int(8) }, () => random.next() < 0.2 ? "" : text());
  const crlf = random.next() < 0.3, trailing = random.next() < 0.5;
  const body = lines.join(crlf ? "\r\n" : "\n") + (trailing ? "\n" : "");
  const bytes = enc.encode(body);
  const roll = random.next();
  if (roll < 0.6) {
    return { label: `.txt of ${lines.length} lines`, path: "d.txt", files: { "d.txt": bytes }, expected: lines };
  }
  if (roll < 0.7) {
    const bad = bytes.slice();
    if (bad.length) bad[random.int(bad.length)] = random.pick([0xff, 0xc0, 0x80]);
    // 0x80 over a continuation byte is still UTF-8 (another character, the same lines): read as such
    let still: string | undefined;
    try {
      still = new TextDecoder("utf-8", { fatal: true }).decode(bad);
    } catch { /* not UTF-8: refused */ }
    if (still !== undefined) {
      const docs = (trailing ? still.slice(0, -1) : still).split(crlf ? "\r\n" : "\n");
      return { label: ".txt with a byte changed, still UTF-8", path: "d.txt", files: { "d.txt": bad }, expected: docs };
    }
    return { label: ".txt with a byte that is not UTF-8", path: "d.txt", files: { "d.txt": bad }, expected: "refuse" };
  }
  if (roll < 0.8) {
    return { label: "empty .txt", path: "d.txt", files: { "d.txt": new Uint8Array() }, expected: "refuse" };
  }
  if (roll < 0.9) {
    // a folder of .txt files, read in path order, one document each
    const files: Record<string, Uint8Array> = {};
    const docs: [string, string][] = [];
    for (let i = 0; i < 1 + random.int(4); i++) {
      const name = `${random.pick(["a", "b/c", "z"])}${i}.txt`;
      const doc = text();
      files[`corpus/${name}`] = enc.encode(doc);
      docs.push([name, doc]);
    }
    files["corpus/notes.md"] = enc.encode("not a document");
    docs.sort(([a], [b]) => a < b ? -1 : 1);
    return { label: `a folder of ${docs.length} .txt files`, path: "corpus", files, expected: docs.map(([, d]) => d) };
  }
  return {
    label: "a .txt of one 65 Mi-character line",
    path: "d.txt",
    files: { "d.txt": enc.encode("ab".repeat(33 * 2 ** 20)) },
    expected: "refuse",
  };
}

function jsonlInput(): DatasetInput {
  const docs: (string | number[])[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 1 + random.int(6); i++) {
    const roll = random.next();
    if (roll < 0.15) lines.push(random.pick(["", "   "]));
    else if (roll < 0.3) {
      const ids = Array.from({ length: 1 + random.int(6) }, () => 2 + random.int(VOCAB - 2));
      lines.push(JSON.stringify({ [random.pick(["tokens", "input_ids"])]: ids, other: 1 })), docs.push(ids);
    } else {
      const t = text();
      lines.push(JSON.stringify({ meta: { n: i }, text: t })), docs.push(t);
    }
  }
  const good = lines.join("\n");
  const roll = random.next();
  const file = (body: string) => ({ "d.jsonl": enc.encode(body) });
  if (roll < 0.5) {
    return { label: `.jsonl of ${lines.length} lines`, path: "d.jsonl", files: file(good), expected: docs };
  }
  const bad = random.pick(
    [
      ["a line that is not JSON", `${good}\n{"text": "x"`],
      ["a text that is a number", `${good}\n{"text": 5}`],
      ["a row with no text field", `${good}\n{"body": "x"}`],
      ["token ids below zero", `${good}\n{"tokens": [3, -1]}`],
      ["token ids that are not integers", `${good}\n{"tokens": [3, 1.5]}`],
      [`token ids past the vocabulary`, `${good}\n{"tokens": [3, ${VOCAB}]}`],
      ["a row that is an array", `${good}\n["text"]`],
      ["a row that is null", `${good}\nnull`],
    ] as const,
  );
  return { label: `.jsonl with ${bad[0]}`, path: "d.jsonl", files: file(bad[1]), expected: "refuse" };
}

function parquetInput(): DatasetInput {
  const docs = Array.from({ length: 1 + random.int(6) }, text);
  const bytes = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "text", data: docs }], rowGroupSize: 2 }));
  const roll = random.next();
  if (roll < 0.5) {
    return {
      label: `Parquet of ${docs.length} rows`,
      path: "d.parquet",
      files: { "d.parquet": bytes },
      expected: docs,
    };
  }
  if (roll < 0.7) {
    const cut = bytes.subarray(0, random.int(bytes.length - 1));
    return {
      label: `Parquet cut at ${cut.length} of ${bytes.length} bytes`,
      path: "d.parquet",
      files: { "d.parquet": cut },
      expected: "refuse",
    };
  }
  if (roll < 0.85) {
    // the footer length and magic: damage there is always detectable
    const bad = bytes.slice();
    bad[bad.length - 1 - random.int(8)] ^= 0x5a;
    return {
      label: "Parquet with its footer damaged",
      path: "d.parquet",
      files: { "d.parquet": bad },
      expected: "refuse",
    };
  }
  const other = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "body", data: docs }] }));
  return {
    label: "Parquet without a text column",
    path: "d.parquet",
    files: { "d.parquet": other },
    expected: "refuse",
  };
}

function tokensInput(): DatasetInput {
  const rows = 1 + random.int(5), width = CONTEXT;
  const ids = Array.from({ length: rows * width }, () => 2 + random.int(VOCAB - 2));
  // encodeSafetensors writes I64 and float types: token files come as int64, sometimes float32
  const as = random.pick(["I64", "F32"] as const);
  const data = as === "I64" ? BigInt64Array.from(ids, BigInt) : Float32Array.from(ids);
  const roll = random.next();
  const put = (label: string, tensors: Parameters<typeof encodeSafetensors>[0], expected: Expected): DatasetInput => ({
    label: `tokens ${as} ${label}`,
    path: "t.safetensors",
    files: { "t.safetensors": encodeSafetensors(tensors) },
    expected,
  });
  const rowsOf = () => Array.from({ length: rows }, (_, r) => ids.slice(r * width, (r + 1) * width));
  if (roll < 0.5) return put(`[${rows}, ${width}]`, { tokens: { shape: [rows, width], data } }, { rows: rowsOf() });
  if (roll < 0.6) return put("as eval_tokens", { eval_tokens: { shape: [rows, width], data } }, { rows: rowsOf() });
  if (roll < 0.7) return put("flat", { tokens: { shape: [rows * width], data } }, "refuse");
  if (roll < 0.8) return put("of another name", { ids: { shape: [rows, width], data } }, "refuse");
  if (roll < 0.9) {
    const bad = data.slice();
    if (bad instanceof BigInt64Array) bad[random.int(bad.length)] = -1n;
    else bad[random.int(bad.length)] = -1;
    return put("with a negative id", { tokens: { shape: [rows, width], data: bad } }, "refuse");
  }
  return put(`of rows of ${width * 2}`, {
    tokens: { shape: [rows, width * 2], data: new BigInt64Array(rows * width * 2).fill(2n) },
  }, "refuse");
}

function specialInput(): DatasetInput {
  const name = random.pick(["d.txt", "d.jsonl", "d.parquet", "t.safetensors"]);
  const special = random.pick(["fifo", "dev-zero", "folder", "dangling"] as const);
  // a folder named .txt is a folder of documents: with none in it, refused
  return { label: `${name} is ${special}`, path: name, files: {}, special, expected: "refuse" };
}

/** The rows the documents make, the way the dataset chunks them. */
async function rowsOf(docs: (string | number[])[]): Promise<number[][]> {
  const out: number[][] = [];
  const tokens = docs.map((d) => typeof d === "string" ? tokenizer.toTokens(d) : d);
  for await (const row of concatAndChunk(tokens, CONTEXT, BOS)) {
    out.push(row);
    if (out.length === ROWS) break;
  }
  return out;
}

async function write(dir: string, input: DatasetInput): Promise<void> {
  await Deno.mkdir(dir);
  for (const [name, bytes] of Object.entries(input.files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeFile(join(dir, name), bytes);
  }
  const path = join(dir, input.path);
  if (input.special === "fifo") await new Deno.Command("mkfifo", { args: [path] }).output();
  else if (input.special === "dev-zero") await Deno.symlink("/dev/zero", path);
  else if (input.special === "folder") await Deno.mkdir(path);
  else if (input.special === "dangling") await Deno.symlink(`${path}.gone`, path);
}

Deno.test(`openTokenDataset() survives ${INPUTS} generated and damaged .txt, .jsonl, Parquet and token files`, async () => {
  const root = await Deno.makeTempDir({ prefix: "sae-dataset-fuzz-" });
  const fuzz = new FuzzRun({ root, hangMs: 15000, memoryBytes: 768 * 2 ** 20 });
  try {
    for (let i = 0; i < INPUTS; i++) {
      const roll = random.next();
      const input = roll < 0.3
        ? txtInput()
        : roll < 0.55
        ? jsonlInput()
        : roll < 0.75
        ? parquetInput()
        : roll < 0.9
        ? tokensInput()
        : specialInput();
      const name = String(i), dir = join(root, name), path = join(dir, input.path);
      await write(dir, input);
      const c: FuzzCase = {
        label: input.label,
        mustName: path,
        unblock: input.special === "fifo" ? async () => (await Deno.open(path, { write: true })).close() : undefined,
        run: async () => {
          const data = await openTokenDataset(path, { tokenizer, contextSize: CONTEXT, bos: BOS, vocabSize: VOCAB });
          const got: number[][] = [];
          for await (const row of data.rows()) {
            got.push(row);
            if (got.length === ROWS) break;
          }
          const { expected } = input;
          if (expected === "refuse") return `read ${got.length} rows: ${input.label}`;
          const want = "rows" in expected ? expected.rows.slice(0, ROWS) : await rowsOf(expected);
          // no rows at all is refused: a success always has at least one
          return JSON.stringify(got) === JSON.stringify(want)
            ? undefined
            : `rows ${JSON.stringify(got)} != ${JSON.stringify(want)}`;
        },
      };
      const outcome = await fuzz.run(c, name);
      // an input whose documents make no row must be refused, not read as nothing
      if (
        outcome === "success" && input.expected !== "refuse" && !("rows" in input.expected) &&
        (await rowsOf(input.expected)).length === 0
      ) {
        fuzz.failures.push(`wrong: ${input.label}: made no rows yet was not refused`);
      }
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  console.log(fuzz.summary("dataset fuzz", SEED));
  assertEquals(fuzz.failures.slice(0, 25), []);
});
