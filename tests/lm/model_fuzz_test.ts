// Hostile and damaged model folders through readModelCheckpoint, ModelTokenizer.load and HookedTransformer: every
// input loads exactly what its files mean or fails with one line naming the file; never a crash, a hang, unbounded
// memory, a file written beside the folder, a damaged original, or a model other than the files describe.
// The seeds are the fixture models of every family (GPT-2, Pythia, Llama 3, Gemma 2, Qwen 2, Qwen 3 sharded, Mistral,
// Gemma 3). SAE_FUZZ_MODELS sets the number of inputs (default 100), SAE_FUZZ_SEED the seed.
import { join } from "node:path";
import { encodeSafetensors, parseSafetensors, type TensorToWrite, toFloat32 } from "../../core/io/safetensors.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { readModelCheckpoint } from "../../core/lm/model_checkpoint.ts";
import { ModelTokenizer } from "../../core/lm/model_tokenizer.ts";
import type { TransformerConfig } from "../../core/lm/transformer_config.ts";
import { WeightTensor } from "../../core/lm/weight_tensor.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { type FuzzCase, FuzzRandom, FuzzRun } from "../_fuzz.ts";
import { familyFixtureDirs } from "./_family_models.ts";

const INPUTS = Number(Deno.env.get("SAE_FUZZ_MODELS") ?? 100);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? 23);
const random = new FuzzRandom(SEED);
const TEXT = "The budget of 1996, and its \u00e9lan: 42 votes!";

type Files = Record<string, Uint8Array | "link">;
type Special = "fifo" | "dev-zero" | "folder" | "dangling";

/** A seed model folder and what reading it gives. */
interface Seed {
  name: string;
  dir: string;
  /** The HF config. */
  config: Record<string, unknown>;
  /** The structural count fields of its config (layers, widths, heads, vocabulary). */
  counts: string[];
  /** Its epsilon field. */
  eps: string;
  /** The weights files and, when sharded, the index. */
  weightFiles: string[];
  /** The tokenizer files. */
  tokenizerFiles: string[];
  digest?: string;
  cfg?: TransformerConfig;
  tokens?: number[];
}

/** One input: files to write over a copy of the seed (links to the seed's unmutated files) and its oracle. */
interface ModelInput {
  label: string;
  seed: Seed;
  files: Files;
  special?: { file: string; kind: Special };
  /** "config" and "weights" inputs read the checkpoint; "tokenizer" ones the tokenizer; "run" the whole model. */
  check: "config" | "weights" | "tokenizer" | "run";
  /** Why a successful read is wrong, or undefined; `refuse` when the input must be refused. */
  oracle: "refuse" | ((got: { config?: TransformerConfig; digest?: string; tokens?: number[] }) => string | undefined);
  /** The file a clean error must name. */
  names?: string;
}

const enc = new TextEncoder(), dec = new TextDecoder();

/** FNV-1a of a file's bytes. */
function bytesDigest(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return `${bytes.length}:${h.toString(16)}`;
}

/** A fingerprint of every weight: shapes and exact values, walked in a fixed order. */
function weightDigest(value: unknown, path = "weights"): string {
  if (value instanceof WeightTensor) {
    const data = value.toFloat32();
    let h = 0x811c9dc5;
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i], 0x01000193) >>> 0;
    return `${path}:${value.shape.join("x")}:${h.toString(16)}`;
  }
  if (Array.isArray(value)) return value.map((v, i) => weightDigest(v, `${path}.${i}`)).join("|");
  if (value && typeof value === "object") {
    return Object.keys(value).sort().map((k) => weightDigest((value as Record<string, unknown>)[k], `${path}.${k}`))
      .join("|");
  }
  return `${path}=${String(value)}`;
}

async function seeds(): Promise<Seed[]> {
  const llama = ["hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size", "num_attention_heads"];
  const list: Omit<Seed, "config" | "weightFiles" | "tokenizerFiles">[] = [
    {
      name: "gpt2",
      dir: `${FIXTURES}gpt2-sotu-tiny`,
      counts: ["n_layer", "n_embd", "vocab_size", "n_positions"],
      eps: "layer_norm_epsilon",
    },
    {
      name: "pythia",
      dir: `${FIXTURES}families/pythia/model`,
      counts: ["hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size"],
      eps: "layer_norm_eps",
    },
    {
      name: "llama",
      dir: `${FIXTURES}families/llama/model`,
      counts: [...llama, "num_key_value_heads"],
      eps: "rms_norm_eps",
    },
    { name: "gemma2", dir: `${FIXTURES}families/gemma2/model`, counts: llama, eps: "rms_norm_eps" },
  ];
  for (const family of ["qwen2", "qwen3", "mistral", "gemma3"] as const) {
    list.push({ name: family, dir: (await familyFixtureDirs(family)).modelDir, counts: llama, eps: "rms_norm_eps" });
  }
  const out: Seed[] = [];
  for (const s of list) {
    const names = [...Deno.readDirSync(s.dir)].map((e) => e.name);
    out.push({
      ...s,
      config: JSON.parse(await Deno.readTextFile(join(s.dir, "config.json"))),
      weightFiles: names.filter((n) => n.endsWith(".safetensors") || n === "model.safetensors.index.json"),
      tokenizerFiles: names.filter((n) => ["tokenizer.json", "vocab.json", "merges.txt"].includes(n)),
    });
  }
  return out;
}

/** The HF count field's TransformerConfig twin, for checking an accepted edit was read as written. */
const COUNT_FIELDS: Record<string, keyof TransformerConfig> = {
  n_layer: "nLayers",
  num_hidden_layers: "nLayers",
  n_embd: "dModel",
  hidden_size: "dModel",
  intermediate_size: "dMlp",
  vocab_size: "dVocab",
  n_positions: "nCtx",
  num_attention_heads: "nHeads",
  n_head: "nHeads",
  num_key_value_heads: "nKvHeads",
};

/** The seed's weights, and its config (its `architecture` label aside) or, given `differs`, one it accepts. */
function sameModel(seed: Seed, differs?: (c: TransformerConfig) => string | undefined) {
  const computed = (c: TransformerConfig) => JSON.stringify({ ...c, architecture: undefined });
  return (got: { config?: TransformerConfig; digest?: string }) => {
    if (got.digest !== seed.digest) return "loaded other weights than the files hold";
    if (differs) return differs(got.config!);
    return computed(got.config!) === computed(seed.cfg!) ? undefined : "read another config";
  };
}

/** A JSON text with one field set to a raw JSON value (so 1e999 and duplicate keys can be written). */
function withField(config: Record<string, unknown>, field: string, raw: string | undefined): string {
  const entries = Object.entries(config).filter(([k]) => k !== field).map(([k, v]) => `"${k}": ${JSON.stringify(v)}`);
  if (raw !== undefined) entries.splice(random.int(entries.length + 1), 0, `"${field}": ${raw}`);
  return `{${entries.join(", ")}}`;
}

function configInput(seed: Seed): ModelInput {
  const base = { seed, check: "config" as const, names: "config.json" };
  const put = (label: string, text: string | Uint8Array, oracle: ModelInput["oracle"]): ModelInput => ({
    ...base,
    label: `${seed.name}: config.json ${label}`,
    files: { "config.json": typeof text === "string" ? enc.encode(text) : text },
    oracle,
  });
  const json = JSON.stringify(seed.config, null, 2);
  const roll = random.next();
  if (roll < 0.35) {
    const field = random.pick(seed.counts);
    const v = seed.config[field] as number;
    const raw = random.pick([
      `${v + 1}`,
      `${v - 1}`,
      "0",
      `${-v}`,
      `${v * 2}`,
      `"${v}"`,
      "null",
      `${v + 0.5}`,
      "true",
      `[${v}]`,
      "{}",
      "1e999",
    ]);
    return put(`${field} = ${raw}`, withField(seed.config, field, raw), "refuse");
  }
  if (roll < 0.45) {
    const field = random.pick(seed.counts);
    // a default may stand in for a missing field (as in transformers): then it must be the seed's value
    const twin = COUNT_FIELDS[field];
    return put(
      `without ${field}`,
      withField(seed.config, field, undefined),
      sameModel(seed, (c) => c[twin] === seed.config[field] ? undefined : `read ${twin} ${c[twin]} without ${field}`),
    );
  }
  if (roll < 0.55) {
    const eps = random.pick([1e-3, 2.5e-6]);
    const raw = random.pick([String(eps), "-1", '"small"', "null", "1e999", "[]"]);
    return put(
      `${seed.eps} = ${raw}`,
      withField(seed.config, seed.eps, raw),
      raw === String(eps)
        ? sameModel(seed, (c) => c.eps === eps ? undefined : `eps read as ${c.eps}, not ${eps}`)
        : "refuse",
    );
  }
  if (roll < 0.65) {
    const raw = random.pick(['"gpt3"', '""', "5", "null", '"__proto__"', '"constructor"']);
    return put(`model_type = ${raw}`, withField(seed.config, "model_type", raw), "refuse");
  }
  if (roll < 0.75) {
    // edits that change nothing the model computes
    const how = random.pick(["an unknown field", "no architectures", "compact", "another torch_dtype"]);
    const edited = how === "an unknown field"
      ? withField(seed.config, "sae_fuzz_unused", "[1, 2]")
      : how === "no architectures"
      ? withField(seed.config, "architectures", undefined)
      : how === "compact"
      ? JSON.stringify(seed.config)
      : withField(seed.config, "torch_dtype", '"float16"');
    return put(how, edited, sameModel(seed));
  }
  const bytes = enc.encode(json);
  const how = random.pick(
    ["truncated", "with a BOM", "as an array", "empty", "9 MB of padding", "a bad byte"] as const,
  );
  const text = how === "truncated"
    ? bytes.subarray(0, 1 + random.int(bytes.length - 2))
    : how === "with a BOM"
    ? new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])
    : how === "as an array"
    ? enc.encode(`[${json}]`)
    : how === "empty"
    ? new Uint8Array()
    : how === "9 MB of padding"
    ? enc.encode(json + " ".repeat(9 * 2 ** 20))
    : bytes.map((b, i, all) => i === all.length >> 1 ? 0xff : b);
  // a BOM is read past (transformers' json.load would refuse it): the same model, or a refusal
  return put(how, text, how === "with a BOM" ? sameModel(seed) : "refuse");
}

function specialInput(seed: Seed): ModelInput {
  const file = random.pick(["config.json", ...seed.weightFiles, ...seed.tokenizerFiles]);
  const kind = random.pick(["fifo", "dev-zero", "folder", "dangling"] as const);
  const check = seed.tokenizerFiles.includes(file) ? "tokenizer" : "config";
  return {
    label: `${seed.name}: ${file} is ${kind}`,
    seed,
    files: {},
    special: { file, kind },
    check,
    oracle: "refuse",
    names: file,
  };
}

/** The seed's safetensors file (the only one, or a shard) parsed, mutated and written back. */
function weightsInput(seed: Seed, original: Map<string, Uint8Array>): ModelInput {
  const shards = seed.weightFiles.filter((f) => f.endsWith(".safetensors"));
  const file = random.pick(shards);
  const bytes = original.get(file)!;
  const base = { seed, check: "weights" as const, names: file };
  const put = (label: string, out: Uint8Array, oracle: ModelInput["oracle"], names = file): ModelInput => ({
    ...base,
    label: `${seed.name}: ${file} ${label}`,
    files: { [file]: out },
    oracle,
    names,
  });
  const { tensors } = parseSafetensors(bytes, file);
  const names = [...tensors.keys()];
  const asWritten = () =>
    Object.fromEntries(names.map((n) => {
      const e = tensors.get(n)!;
      return [n, { shape: [...e.shape], data: toFloat32(e, n) }];
    })) as Record<string, TensorToWrite & { data: Float32Array }>;
  const roll = random.next();
  if (roll < 0.5) {
    // header-level edits, re-encoded as a well-formed file: the content is what is wrong
    const all = asWritten();
    const victim = random.pick(names);
    const how = random.pick([
      "without",
      "with an extra tensor beside",
      "renamed",
      "reshaped",
      "NaN in",
      "Inf in",
      "3e38 in",
      "one value changed in",
    ]);
    let named = victim;
    if (how === "without") delete all[victim];
    else if (how === "with an extra tensor beside") {
      all["model.extra.weight"] = all[victim], named = "model.extra.weight";
    } else if (how === "renamed") all[`${victim}_x`] = all[victim], delete all[victim];
    else if (how === "reshaped") {
      const s = all[victim].shape;
      all[victim] = { ...all[victim], shape: s.length > 1 && s[0] !== s[1] ? [s[1], s[0], ...s.slice(2)] : [...s, 1] };
    } else {
      const data = all[victim].data.slice();
      const at = random.int(data.length);
      data[at] = how === "NaN in" ? NaN : how === "Inf in" ? -Infinity : how === "3e38 in" ? 3e38 : data[at] + 0.25;
      all[victim] = { ...all[victim], data };
    }
    // GPT-2's attn.bias / attn.masked_bias are its causal-mask buffers, not weights (newer checkpoints leave them out):
    // the model, as TransformerLens, masks by position and never reads them, so one missing, reshaped or holding other
    // values leaves the same model; a renamed one or an extra tensor is still a tensor the model does not know
    if (/\.attn\.(bias|masked_bias)$/.test(victim) && how !== "renamed" && how !== "with an extra tensor beside") {
      const same = (got: { digest?: string }) =>
        got.digest === seed.digest ? undefined : "a mask buffer changed weights";
      return put(`${how} ${victim}`, encodeSafetensors(all), same, named);
    }
    const refused = how !== "3e38 in" && how !== "one value changed in";
    return put(
      `${how} ${victim}`,
      encodeSafetensors(all),
      refused ? "refuse" : (got) => got.digest === seed.digest ? `the change to ${victim} was lost` : undefined,
      named,
    );
  }
  // byte-level damage
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const how = random.pick(
    ["truncated", "header length garbled", "header byte flipped", "dtype renamed", "trailing bytes"] as const,
  );
  if (how === "truncated") return put(how, bytes.subarray(0, random.int(bytes.length - 1)), "refuse");
  if (how === "header length garbled") {
    const out = bytes.slice();
    new DataView(out.buffer).setBigUint64(
      0,
      BigInt(random.pick([headerLength + 1, 2 ** 40, 7, 0, bytes.length])),
      true,
    );
    return put(how, out, "refuse");
  }
  if (how === "dtype renamed") {
    const header = dec.decode(bytes.subarray(8, 8 + headerLength));
    const dtype = random.pick(['"F64"', '"I8"', '"BOOL"', '"F8_E4M3"', '"X"']);
    const edited = header.replace(/"dtype":\s*"[A-Z0-9_]+"/, `"dtype":${dtype}`);
    const padded = edited + " ".repeat(Math.max(0, headerLength - edited.length));
    const out = new Uint8Array(bytes.length - headerLength + padded.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(padded.length), true);
    out.set(enc.encode(padded), 8), out.set(bytes.subarray(8 + headerLength), 8 + padded.length);
    return put(`${how} ${dtype}`, out, "refuse");
  }
  if (how === "trailing bytes") {
    const out = new Uint8Array(bytes.length + 16);
    out.set(bytes);
    // the safetensors format has nothing after the data: refused or read as without them, never mixed in
    return put(how, out, sameModel(seed));
  }
  const out = bytes.slice();
  const at = 8 + random.int(headerLength);
  out[at] = random.pick([0x00, 0x22, 0x7d, 0xff, 0x5c]);
  // a flipped header byte may leave valid JSON meaning the same header: then the same model
  return put(`${how} at ${at}`, out, sameModel(seed));
}

function indexInput(seed: Seed): ModelInput {
  const index = JSON.parse(dec.decode(Deno.readFileSync(join(seed.dir, "model.safetensors.index.json"))));
  const names = Object.keys(index.weight_map);
  const victim = random.pick(names);
  const how = random.pick(
    [
      "without",
      "pointing to a missing shard",
      "pointing to the other shard",
      "with an entry for a tensor nowhere",
      "damaged",
    ] as const,
  );
  if (how === "without") delete index.weight_map[victim];
  else if (how === "pointing to a missing shard") index.weight_map[victim] = "model-00009-of-00009.safetensors";
  else if (how === "pointing to the other shard") {
    const shards = [...new Set(Object.values(index.weight_map) as string[])];
    index.weight_map[victim] = shards.find((s) => s !== index.weight_map[victim]) ?? "x.safetensors";
  } else if (how === "with an entry for a tensor nowhere") {
    index.weight_map["model.layers.99.x.weight"] = index.weight_map[victim];
  }
  const text = how === "damaged" ? JSON.stringify(index).slice(0, -2) : JSON.stringify(index);
  return {
    label: `${seed.name}: model.safetensors.index.json ${how} ${victim}`,
    seed,
    files: { "model.safetensors.index.json": enc.encode(text) },
    check: "weights",
    // every listed shard is read, as transformers reads them: a tensor is found wherever it is among them, and an
    // entry for a tensor in no shard names nothing the model needs
    oracle: how === "pointing to a missing shard" || how === "damaged" ? "refuse" : sameModel(seed),
  };
}

function tokenizerInput(seed: Seed, original: Map<string, Uint8Array>): ModelInput {
  const base = { seed, check: "tokenizer" as const };
  // every success must still spell the text back exactly (byte-level BPE: every text is representable)
  const roundTrip = (neutral: boolean) => (got: { tokens?: number[] }) => {
    if (neutral && JSON.stringify(got.tokens) !== JSON.stringify(seed.tokens)) {
      return `tokens ${got.tokens} differ from the seed's`;
    }
    return undefined;
  };
  if (seed.tokenizerFiles.includes("vocab.json")) {
    const vocab: Record<string, number> = JSON.parse(dec.decode(original.get("vocab.json")!));
    const merges = dec.decode(original.get("merges.txt")!);
    const how = random.pick(
      [
        "vocab without a byte token",
        "vocab with 2 entries",
        "vocab as an array",
        "vocab damaged",
        "merges empty",
        "merges with CRLF",
        "merges without #version",
        "a merge of 3 parts",
        "a merge of unknown tokens",
      ] as const,
    );
    if (how.startsWith("vocab")) {
      const edited = { ...vocab };
      let text: string;
      if (how === "vocab without a byte token") {
        delete edited[random.pick(["\u0120", ",", "a", "\u00c4"])], text = JSON.stringify(edited);
      } else if (how === "vocab with 2 entries") text = JSON.stringify({ a: 0, "<|endoftext|>": 1 });
      else if (how === "vocab as an array") text = JSON.stringify(Object.keys(vocab));
      else text = JSON.stringify(vocab).slice(0, -5);
      return {
        ...base,
        label: `${seed.name}: ${how}`,
        files: { "vocab.json": enc.encode(text) },
        oracle: "refuse",
        names: "vocab.json",
      };
    }
    const lines = merges.split("\n");
    const body = lines.filter((l) => !l.startsWith("#version"));
    const text = how === "merges empty"
      ? ""
      : how === "merges with CRLF"
      ? lines.join("\r\n")
      : how === "merges without #version"
      ? body.join("\n")
      : how === "a merge of 3 parts"
      ? [lines[0], "a b c", ...lines.slice(1)].join("\n")
      : [lines[0], "\u0120zzqq \u0120qqzz", ...lines.slice(1)].join("\n");
    const neutral = how === "merges with CRLF" || how === "merges without #version";
    return {
      ...base,
      label: `${seed.name}: ${how}`,
      files: { "merges.txt": enc.encode(text) },
      oracle: neutral ? roundTrip(true) : "refuse",
      names: "merges.txt",
    };
  }
  const json = JSON.parse(dec.decode(original.get("tokenizer.json")!));
  const how = random.pick(
    ["damaged", "model type unknown", "model missing", "vocab as an array", "pretty-printed"] as const,
  );
  let text: string;
  if (how === "damaged") text = JSON.stringify(json).slice(0, -3);
  else if (how === "model type unknown") text = JSON.stringify({ ...json, model: { ...json.model, type: "Quantum" } });
  else if (how === "model missing") text = JSON.stringify({ ...json, model: undefined });
  else if (how === "vocab as an array") text = JSON.stringify({ ...json, model: { ...json.model, vocab: [1, 2, 3] } });
  else text = JSON.stringify(json, null, 1);
  return {
    ...base,
    label: `${seed.name}: tokenizer.json ${how}`,
    files: { "tokenizer.json": enc.encode(text) },
    oracle: how === "pretty-printed" ? roundTrip(true) : "refuse",
    names: "tokenizer.json",
  };
}

/** A whole model run on weights holding 3e38 (finite, so it loads) must fail at its outputs, not print NaN. */
function runInput(seed: Seed, original: Map<string, Uint8Array>): ModelInput {
  const file = seed.weightFiles.find((f) => f.endsWith(".safetensors"))!;
  const { tensors } = parseSafetensors(original.get(file)!, file);
  const all: Record<string, TensorToWrite> = {};
  const victim = random.pick([...tensors.keys()].filter((n) => /mlp|attn|self_attn|ln|norm/.test(n)));
  for (const [n, e] of tensors) {
    const data = toFloat32(e, n);
    all[n] = { shape: [...e.shape], data: n === victim ? data.map(() => 3e38) : data };
  }
  return {
    label: `${seed.name}: a whole run with ${victim} all 3e38`,
    seed,
    files: { [file]: encodeSafetensors(all) },
    check: "run",
    // finite logits can stand (a norm may absorb the value); non-finite ones must have been an error
    oracle: (got) => got.digest === "finite" ? undefined : "a run on overflowing weights printed non-finite logits",
  };
}

async function writeInput(dir: string, input: ModelInput): Promise<void> {
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(input.seed.dir)) {
    const path = join(dir, e.name);
    const given = input.files[e.name];
    if (given instanceof Uint8Array) await Deno.writeFile(path, given);
    else if (input.special?.file !== e.name) await Deno.symlink(join(input.seed.dir, e.name), path);
  }
  for (const [name, bytes] of Object.entries(input.files)) {
    if (bytes instanceof Uint8Array && !(await Deno.lstat(join(dir, name)).catch(() => undefined))) {
      await Deno.writeFile(join(dir, name), bytes);
    }
  }
  if (!input.special) return;
  const path = join(dir, input.special.file);
  await Deno.remove(path).catch(() => {});
  if (input.special.kind === "fifo") await new Deno.Command("mkfifo", { args: [path] }).output();
  else if (input.special.kind === "dev-zero") await Deno.symlink("/dev/zero", path);
  else if (input.special.kind === "folder") await Deno.mkdir(path);
  else await Deno.symlink(`${path}.gone`, path);
}

async function read(
  dir: string,
  input: ModelInput,
): Promise<{ config?: TransformerConfig; digest?: string; tokens?: number[] }> {
  if (input.check === "tokenizer") {
    const tok = await ModelTokenizer.load(dir);
    const tokens = tok.toTokens(TEXT, { prependBos: false });
    if (tok.toString(tokens) !== TEXT) {
      throw new Error(`the tokens do not spell the text back: ${tok.toString(tokens)}`);
    }
    return { tokens };
  }
  if (input.check === "run") {
    const model = await HookedTransformer.load(dir, { backend: "node" });
    try {
      const { logits } = await model.run(model.toTokens("Hello there"));
      return { digest: logits!.data.every(Number.isFinite) ? "finite" : "non-finite" };
    } finally {
      await model.dispose();
    }
  }
  const { config, weights } = await readModelCheckpoint(dir, "float32");
  return { config, digest: weightDigest(weights) };
}

Deno.test(`model folders of every family survive ${INPUTS} mutated configs, weights, shard indexes and tokenizers`, async () => {
  const all = await seeds();
  const originals = new Map<string, Map<string, Uint8Array>>();
  const fingerprint = new Map<string, string>();
  for (const seed of all) {
    const ckpt = await readModelCheckpoint(seed.dir, "float32");
    seed.digest = weightDigest(ckpt.weights);
    seed.cfg = ckpt.config;
    const files = new Map<string, Uint8Array>();
    for (const f of [...seed.weightFiles, ...seed.tokenizerFiles, "config.json"]) {
      const bytes = await Deno.readFile(join(seed.dir, f));
      files.set(f, bytes);
      fingerprint.set(join(seed.dir, f), bytesDigest(bytes));
    }
    originals.set(seed.name, files);
    if (seed.tokenizerFiles.length) {
      seed.tokens = (await ModelTokenizer.load(seed.dir)).toTokens(TEXT, { prependBos: false });
    }
  }
  const root = await Deno.makeTempDir({ prefix: "sae-model-fuzz-" });
  const intact = async () => {
    for (const [path, want] of fingerprint) {
      if (bytesDigest(await Deno.readFile(path)) !== want) return `${path} changed`;
    }
    return undefined;
  };
  const fuzz = new FuzzRun({ root, hangMs: 20000 });
  let runs = 0;
  try {
    for (let i = 0; i < INPUTS; i++) {
      const seed = random.pick(all);
      const roll = random.next();
      // whole runs are slow (a model's sessions): a few, on the models with small tokenizers
      const input = roll < 0.04 && (seed.name === "gpt2" || seed.name === "pythia")
        ? (runs++, runInput(seed, originals.get(seed.name)!))
        : roll < 0.35
        ? configInput(seed)
        : roll < 0.45
        ? specialInput(seed)
        : roll < 0.7 && seed.name === "qwen3" && random.next() < 0.5
        ? indexInput(seed)
        : roll < 0.7 && (seed.name !== "llama" && seed.name !== "gemma2" || random.next() < 0.3)
        ? weightsInput(seed, originals.get(seed.name)!)
        : seed.tokenizerFiles.length && seed.name !== "gemma2" && seed.name !== "gemma3"
        ? tokenizerInput(seed, originals.get(seed.name)!)
        : configInput(seed);
      const name = String(i);
      const dir = join(root, name);
      await writeInput(dir, input);
      const fifo = input.special?.kind === "fifo" ? join(dir, input.special.file) : undefined;
      const c: FuzzCase = {
        label: input.label,
        mustName: input.names ?? (input.special ? input.special.file : undefined),
        unblock: fifo ? async () => (await Deno.open(fifo, { write: true })).close() : undefined,
        run: async () => {
          const got = await read(dir, input);
          return input.oracle === "refuse" ? `loaded: ${input.label}` : input.oracle(got);
        },
      };
      await fuzz.run(c, name);
      await Deno.remove(dir, { recursive: true });
    }
    const lost = await intact();
    if (lost) fuzz.failures.push(`lost: ${lost}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  console.log(`${fuzz.summary("model fuzz", SEED)} (${runs} whole runs)`);
  assertEquals(fuzz.failures.slice(0, 25), []);
});
