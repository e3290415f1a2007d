// Hostile and damaged SAE folders through readSae: every input must load exactly what its bytes mean or
// fail with a one-line error naming the file; never crash, hang or load something else silently.
// SAE_FUZZ_INPUTS sets the number of inputs (default 2,400), SAE_FUZZ_SEED the random seed.
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import type { HostTensor } from "../../core/gpu/tensor.ts";
import { readSae, type SaeOnDisk } from "../../core/sae/read_sae.ts";
import { SAE } from "../../core/sae/sae.ts";
import { encodeSafetensors, parseSafetensors, readSafetensors, type TensorToWrite } from "../../core/io/safetensors.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES, gpu } from "../_gpu.ts";
import { npy, npz, zipArchive } from "./_npz_writer.ts";
import { parseYaml } from "../../core/io/read_yaml.ts";
import { TORCH_FIXTURES } from "./_torch_fixtures.ts";

const INPUTS = Number(Deno.env.get("SAE_FUZZ_INPUTS") ?? 2400);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? 16);
const HANG_MS = 5000;
/** Successful loads that also go all the way to a GPU SAE (slower, so only a few). */
const GPU_LOADS = 12;

type Files = Record<string, Uint8Array>;
type Special = "fifo" | "dev-zero" | "folder" | "dangling" | "good-link";
/** Why a successful load is wrong, or undefined when it is right. */
type Oracle = (loaded: SaeOnDisk) => string | undefined;

interface Seed {
  name: string;
  /** "other": the layouts of SAELens's other loaders (Llama Scope, .pt state dicts, circuit-tracer transcoders). */
  kind: "saelens" | "sparsify" | "npz" | "other";
  /** The folder loaded, relative to the input's root (Gemma Scope and sparsify read meaning from it). */
  folder: string;
  files: Files;
  /** The safetensors files among `files`. */
  tensorFiles: string[];
  /** Whether one changed stored value maps to one changed loaded value (not when scaling_factor folds in). */
  valueFlips: boolean;
  /** Config files other than a SAELens or sparsify cfg.json (JSON or YAML). */
  configs?: string[];
  /** Field edits of those configs with known verdicts. */
  edits?: ConfigEdit[];
  /** Stored tensor names and the weights they load as (`encoder.weight` → `W_enc`). */
  rename?: Record<string, string>;
  /** Tensor files whose extra tensors the loader does not read (as SAELens's does not). */
  ignoresExtras?: string[];
  original?: SaeOnDisk;
}

/** One field of a config file set to a value: refused when invalid; read as `read` says when valid. */
interface ConfigEdit {
  file: string;
  path: string[];
  invalid: unknown[];
  valid?: { value: unknown; read: (s: SaeOnDisk) => unknown; expect: unknown }[];
}

interface Input {
  label: string;
  files: Files;
  special?: { file: string; kind: Special };
  oracle: Oracle;
  /** Loads and checks a standalone file instead of an SAE folder; resolves to why the load is wrong. */
  run?: (dir: string) => Promise<string | undefined>;
}

// mulberry32: a small seeded generator, so a failure can be replayed with SAE_FUZZ_SEED.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const enc = new TextEncoder(), dec = new TextDecoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 1));

function values(n: number, scale = 0.1): Float32Array {
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

function weights(dIn: number, dSae: number, extra: string[] = [], f16 = false): Record<string, TensorToWrite> {
  const mat = (n: number) => f16 ? Float16Array.from(values(n)) : values(n);
  const out: Record<string, TensorToWrite> = {
    W_enc: { shape: [dIn, dSae], data: mat(dIn * dSae) },
    W_dec: { shape: [dSae, dIn], data: mat(dIn * dSae) },
    b_enc: { shape: [dSae], data: values(dSae) },
    b_dec: { shape: [dIn], data: values(dIn) },
  };
  for (const name of extra) out[name] = { shape: [dSae], data: values(dSae).map(Math.abs) };
  return out;
}

const v6 = (architecture: string, extra: Record<string, unknown> = {}) => ({
  architecture,
  d_in: 4,
  d_sae: 8,
  dtype: "float32",
  device: "cpu",
  apply_b_dec_to_input: true,
  normalize_activations: "none",
  reshape_activations: "none",
  ...extra,
  metadata: { model_name: "gpt2", hook_name: "blocks.0.hook_resid_pre", context_size: 128, prepend_bos: true },
});

async function fixtureSeed(name: string): Promise<Seed> {
  const files: Files = {};
  for await (const e of Deno.readDir(join(FIXTURES, name))) {
    files[e.name] = await Deno.readFile(join(FIXTURES, name, e.name));
  }
  const tensorFiles = Object.keys(files).filter((f) => f.endsWith(".safetensors"));
  return { name, kind: "saelens", folder: ".", files, tensorFiles, valueFlips: true };
}

function seeds(): Seed[] {
  const saelens = (name: string, cfg: unknown, w: Record<string, TensorToWrite>, valueFlips = true): Seed => ({
    name,
    kind: "saelens",
    folder: ".",
    files: { "cfg.json": json(cfg), "sae_weights.safetensors": encodeSafetensors(w) },
    tensorFiles: ["sae_weights.safetensors"],
    valueFlips,
  });
  const legacy = {
    d_in: 4,
    d_sae: 8,
    hook_point: "blocks.1.hook_resid_pre",
    model_name: "gpt2",
    context_size: 64,
    normalize_activations: false,
    apply_b_dec_to_input: true,
    finetuning_scaling_factor: false,
  };
  const scaled = weights(4, 8);
  scaled.scaling_factor = { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => 1 + i / 8) };
  const ones = weights(4, 8);
  ones.scaling_factor = { shape: [8], data: new Float32Array(8).fill(1) };
  const gemma = (deflate: boolean): Seed => ({
    name: `gemma-scope${deflate ? "-deflated" : ""}`,
    kind: "npz",
    folder: "gemma-scope-2b-pt-res/layer_3/width_16k/average_l0_5",
    files: {
      "gemma-scope-2b-pt-res/layer_3/width_16k/average_l0_5/params.npz": npz({
        W_enc: { shape: [4, 8], data: values(32) },
        W_dec: { shape: [8, 4], data: values(32) },
        b_enc: { shape: [8], data: values(8) },
        b_dec: { shape: [4], data: values(4) },
        threshold: { shape: [8], data: values(8).map(Math.abs) },
      }, { deflate }),
    },
    tensorFiles: [],
    valueFlips: true,
  });
  const linear = (extra: Record<string, TensorToWrite> = {}) =>
    encodeSafetensors({
      "encoder.weight": { shape: [8, 4], data: values(32) },
      "encoder.bias": { shape: [8], data: values(8) },
      "decoder.weight": { shape: [4, 8], data: values(32) },
      "decoder.bias": { shape: [4], data: values(4) },
      ...extra,
    });
  const linearNames = {
    "encoder.weight": "W_enc",
    "encoder.bias": "b_enc",
    "decoder.weight": "W_dec",
    "decoder.bias": "b_dec",
  };
  const integers = ["4", 0, -1, 1.5, null, true];
  const llama = "Llama3_1-8B-Base-L0A-8x";
  const dl = (name: string, dictClass: string, pt: Uint8Array, k?: number): Seed => ({
    name,
    kind: "other",
    folder: "trainer_0",
    files: {
      "trainer_0/config.json": json({
        trainer: { dict_class: dictClass, activation_dim: 4, dict_size: 8, layer: 3, lm_name: "org/model", k },
        buffer: { ctx_len: 128 },
      }),
      "trainer_0/ae.pt": pt,
    },
    tensorFiles: [],
    valueFlips: true,
    configs: ["trainer_0/config.json"],
    edits: [
      { file: "trainer_0/config.json", path: ["trainer", "dict_class"], invalid: ["Foo", 5, null, "constructor"] },
      { file: "trainer_0/config.json", path: ["trainer", "activation_dim"], invalid: [...integers, 5] },
      { file: "trainer_0/config.json", path: ["trainer", "dict_size"], invalid: [...integers, 9] },
      {
        file: "trainer_0/config.json",
        path: ["trainer", "layer"],
        invalid: [-1, "3", 1.5, null],
        valid: [{ value: 7, read: (s) => s.cfg.metadata.hook_name, expect: "blocks.7.hook_resid_post" }],
      },
      {
        file: "trainer_0/config.json",
        path: ["buffer", "ctx_len"],
        invalid: [0, "128", null],
        valid: [{ value: 256, read: (s) => s.cfg.metadata.context_size, expect: 256 }],
      },
      ...(k === undefined ? [] : [{
        file: "trainer_0/config.json",
        path: ["trainer", "k"],
        invalid: [0, "3", 1.5, 9, null],
        valid: [{ value: 2, read: (s: SaeOnDisk) => s.cfg.k, expect: 2 }],
      }]),
    ],
  });
  const hookZ = "gpt2-small_L1_Hcat_z_v5.pt";
  const wandb = "d_model:\n  value: 4\nd_feature:\n  value: 8\nbatch_size:\n  value: 128\n";
  const torchFile = (name: string) => Deno.readFileSync(`${TORCH_FIXTURES}${name}.pt`);
  const others: Seed[] = [
    {
      name: "llama-scope",
      kind: "other",
      folder: llama,
      files: {
        [`${llama}/hyperparams.json`]: json({
          d_model: 4,
          d_sae: 8,
          hook_point_in: "blocks.0.hook_attn_out",
          jump_relu_threshold: 0.25,
          dataset_average_activation_norm: { in: 0.5, out: 0.5 },
        }),
        [`${llama}/checkpoints/final.safetensors`]: linear(),
      },
      tensorFiles: [`${llama}/checkpoints/final.safetensors`],
      valueFlips: false, // the input scale s = √4 / 0.5 is folded into W_enc, W_dec and b_dec
      rename: linearNames,
      configs: [`${llama}/hyperparams.json`],
      edits: [
        { file: `${llama}/hyperparams.json`, path: ["d_model"], invalid: [...integers, 5] },
        { file: `${llama}/hyperparams.json`, path: ["d_sae"], invalid: [...integers, 7] },
        {
          file: `${llama}/hyperparams.json`,
          path: ["jump_relu_threshold"],
          invalid: ["0.1", -1, null, []],
          valid: [{ value: 0.5, read: (s) => s.weights.threshold.data[7], expect: 2 }],
        },
        {
          file: `${llama}/hyperparams.json`,
          path: ["dataset_average_activation_norm", "in"],
          invalid: [0, -1, "1", null],
        },
        {
          file: `${llama}/hyperparams.json`,
          path: ["hook_point_in"],
          invalid: [5, "", null],
          valid: [{
            value: "blocks.3.hook_mlp_out",
            read: (s) => s.cfg.metadata.hook_name,
            expect: "blocks.3.hook_mlp_out",
          }],
        },
      ],
    },
    {
      name: "llama-scope-r1-distill",
      kind: "other",
      folder: "L0R",
      files: {
        "L0R/config.json": json({ d_model: 4, expansion_factor: 2, hook_point_in: "blocks.0.hook_resid_post" }),
        "L0R/sae_weights.safetensors": linear({ log_jumprelu_threshold: { shape: [8], data: values(8) } }),
      },
      tensorFiles: ["L0R/sae_weights.safetensors"],
      valueFlips: false, // the threshold is exp() of what is stored
      rename: { ...linearNames, log_jumprelu_threshold: "threshold" },
      configs: ["L0R/config.json"],
      edits: [
        { file: "L0R/config.json", path: ["d_model"], invalid: [...integers, 8] },
        { file: "L0R/config.json", path: ["expansion_factor"], invalid: [...integers, 3] },
      ],
    },
    dl("dictionary-learning-standard", "AutoEncoder", torchFile("dl_standard")),
    dl("dictionary-learning-gated", "GatedAutoEncoder", torchFile("dl_gated")),
    dl("dictionary-learning-topk", "AutoEncoderTopK", torchFile("dl_topk"), 3),
    {
      name: "deepseek-r1",
      kind: "other",
      folder: "DeepSeek-R1-Distill-Llama-8B-SAE-l19.pt",
      files: { "DeepSeek-R1-Distill-Llama-8B-SAE-l19.pt": torchFile("deepseek_l3") },
      tensorFiles: [],
      valueFlips: true,
    },
    {
      name: "hook-z",
      kind: "other",
      folder: hookZ,
      files: {
        [hookZ]: torchFile("hook_z_L1"),
        "gpt2-small_L1_Hcat_z_v5_cfg.json": json({ act_size: 4, dict_size: 8, act_name: "blocks.1.attn.hook_z" }),
      },
      tensorFiles: [],
      valueFlips: true,
      configs: ["gpt2-small_L1_Hcat_z_v5_cfg.json"],
      edits: [
        { file: "gpt2-small_L1_Hcat_z_v5_cfg.json", path: ["act_size"], invalid: [...integers, 5] },
        { file: "gpt2-small_L1_Hcat_z_v5_cfg.json", path: ["dict_size"], invalid: [...integers, 7] },
        {
          file: "gpt2-small_L1_Hcat_z_v5_cfg.json",
          path: ["act_name"],
          invalid: [5, "", null],
          valid: [{
            value: "blocks.2.attn.hook_z",
            read: (s) => s.cfg.metadata.hook_name,
            expect: "blocks.2.attn.hook_z",
          }],
        },
      ],
    },
    {
      name: "mwhanna-transcoder",
      kind: "other",
      folder: "layer_3.safetensors",
      files: {
        "wandb-config.yaml": enc.encode(wandb),
        "config.yaml": enc.encode("model_name: Qwen/Qwen3-4B\n"),
        "layer_3.safetensors": encodeSafetensors({
          W_enc: { shape: [8, 4], data: values(32) },
          b_enc: { shape: [8], data: values(8) },
          W_dec: { shape: [8, 4], data: values(32) },
          b_dec: { shape: [4], data: values(4) },
        }),
      },
      tensorFiles: ["layer_3.safetensors"],
      valueFlips: true,
      configs: ["wandb-config.yaml", "config.yaml"],
      edits: [
        { file: "wandb-config.yaml", path: ["d_model", "value"], invalid: [...integers, 5] },
        { file: "wandb-config.yaml", path: ["d_feature", "value"], invalid: [...integers, 7] },
        {
          file: "wandb-config.yaml",
          path: ["batch_size", "value"],
          invalid: [0, "1", null],
          valid: [{ value: 512, read: (s) => s.cfg.metadata.context_size, expect: 512 }],
        },
        {
          file: "config.yaml",
          path: ["model_name"],
          invalid: [5, "", null],
          valid: [{ value: "Qwen/Qwen3-8B", read: (s) => s.cfg.metadata.model_name, expect: "Qwen/Qwen3-8B" }],
        },
      ],
    },
    {
      name: "mntss-clt-layer",
      kind: "other",
      folder: "W_enc_3.safetensors",
      files: {
        "config.yaml": enc.encode(
          "model_name: google/gemma-2-2b\nfeature_input_hook: hook_resid_mid\nfeature_output_hook: hook_mlp_out\n",
        ),
        "W_enc_3.safetensors": encodeSafetensors({
          W_enc_3: { shape: [8, 4], data: values(32) },
          b_enc_3: { shape: [8], data: values(8) },
          b_dec_3: { shape: [4], data: values(4) },
        }),
        "W_dec_3.safetensors": encodeSafetensors({ W_dec_3: { shape: [8, 3, 4], data: values(96) } }),
      },
      tensorFiles: ["W_enc_3.safetensors", "W_dec_3.safetensors"],
      valueFlips: false, // W_dec sums three stored values
      rename: { W_enc_3: "W_enc", b_enc_3: "b_enc", b_dec_3: "b_dec", W_dec_3: "W_dec" },
      ignoresExtras: ["W_enc_3.safetensors", "W_dec_3.safetensors"],
      configs: ["config.yaml"],
      edits: [
        {
          file: "config.yaml",
          path: ["feature_input_hook"],
          invalid: [5, "", null],
          valid: [{
            value: "hook_resid_pre",
            read: (s) => s.cfg.metadata.hook_name,
            expect: "blocks.3.hook_resid_pre",
          }],
        },
      ],
    },
  ];
  const gemmaAt = (name: string, folder: string, valueFlips = true): Seed => ({
    ...gemma(false),
    name,
    folder,
    files: { [`${folder}/params.npz`]: Object.values(gemma(random() < 0.5).files)[0] },
    valueFlips,
  });
  return [
    ...others,
    gemmaAt("gemma-scope-transcoder", "gemma-scope-2b-pt-transcoders/layer_3/width_16k/average_l0_54"),
    gemmaAt("gemma-scope-embedding", "gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6", false),
    saelens("v6-standard", v6("standard"), weights(4, 8)),
    saelens("v6-standard-f16", v6("standard", { dtype: "float16" }), weights(4, 8, [], true)),
    saelens("v6-topk", v6("topk", { k: 3, rescale_acts_by_decoder_norm: false }), weights(4, 8)),
    saelens("v6-jumprelu", v6("jumprelu"), weights(4, 8, ["threshold"])),
    saelens("v6-gated", v6("gated"), (({ b_enc: _, ...w }) => w)(weights(4, 8, ["b_gate", "r_mag", "b_mag"]))),
    saelens("legacy-standard", legacy, ones),
    saelens("legacy-scaled", { ...legacy, finetuning_scaling_factor: true }, scaled, false),
    saelens("legacy-topk", { ...legacy, activation_fn_str: "topk", activation_fn_kwargs: { k: 2 } }, weights(4, 8)),
    {
      name: "sparsify",
      kind: "sparsify",
      folder: "layers.3",
      files: {
        "layers.3/cfg.json": json({ d_in: 4, num_latents: 8, k: 2, expansion_factor: 2, normalize_decoder: true }),
        "layers.3/sae.safetensors": encodeSafetensors({
          "encoder.weight": { shape: [8, 4], data: values(32) },
          "encoder.bias": { shape: [8], data: values(8) },
          W_dec: { shape: [8, 4], data: values(32) },
          b_dec: { shape: [4], data: values(4) },
        }),
      },
      tensorFiles: ["layers.3/sae.safetensors"],
      valueFlips: true,
    },
    gemma(false),
    gemma(true),
  ];
}

// ---- comparing loads

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function tensorsOf(s: SaeOnDisk): Record<string, HostTensor> {
  return s.sparsity ? { ...s.weights, "(sparsity)": s.sparsity } : s.weights;
}

/** Elements that differ (by bits) between two loads with the same tensors, or a reason they are not comparable. */
function differences(a: SaeOnDisk, b: SaeOnDisk): { name: string; index: number; value: number }[] | string {
  const ta = tensorsOf(a), tb = tensorsOf(b);
  if (Object.keys(ta).sort().join() !== Object.keys(tb).sort().join()) {
    return `tensors ${Object.keys(tb)} instead of ${Object.keys(ta)}`;
  }
  const out: { name: string; index: number; value: number }[] = [];
  for (const [name, t] of Object.entries(ta)) {
    const u = tb[name];
    if (t.shape.join() !== u.shape.join()) return `${name} has shape [${u.shape}] instead of [${t.shape}]`;
    if (sameBits(t.data, u.data)) continue;
    for (let i = 0; i < t.data.length; i++) {
      if (!Object.is(t.data[i], u.data[i])) out.push({ name, index: i, value: u.data[i] });
    }
  }
  return out;
}

const cfgText = (s: SaeOnDisk) => JSON.stringify([s.cfg, s.format, s.storedF16]);

function same(seed: Seed): Oracle {
  return (loaded) => {
    if (cfgText(loaded) !== cfgText(seed.original!)) return `config ${cfgText(loaded)} instead of the original's`;
    const d = differences(seed.original!, loaded);
    if (typeof d === "string") return d;
    return d.length === 0
      ? undefined
      : `${d.length} values differ from the original, first ${d[0].name}[${d[0].index}]`;
  };
}

const mustFail: Oracle = () => "loaded although the input is invalid";

// ---- mutations

function headerOf(bytes: Uint8Array): { n: number; header: Record<string, unknown> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, header: JSON.parse(dec.decode(bytes.subarray(8, 8 + n))) };
}

function withHeader(header: unknown, data: Uint8Array, prefixDelta = 0): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length + prefixDelta), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A bit flip, a byte set, a truncation, appended, inserted or deleted bytes; half the point changes land
 * before `headerEnd` (a safetensors header), where the interesting parsing is. */
function mutateBytes(bytes: Uint8Array, headerEnd: number): { kind: string; at: number; out: Uint8Array } {
  const kind = pick(["flip", "flip", "set", "truncate", "append", "insert", "delete"] as const);
  let out = bytes.slice();
  let at = 0;
  const anywhere = () => headerEnd > 0 && random() < 0.5 ? int(headerEnd) : int(bytes.length);
  if (kind === "flip") {
    at = anywhere();
    out[at] ^= 1 << int(8);
  } else if (kind === "set") {
    at = anywhere();
    out[at] = int(256);
  } else if (kind === "truncate") out = bytes.slice(0, int(bytes.length));
  else if (kind === "append") {
    out = new Uint8Array(bytes.length + 1 + int(64));
    out.set(bytes);
    for (let i = bytes.length; i < out.length; i++) out[i] = int(256);
  } else {
    at = anywhere();
    out = kind === "insert"
      ? new Uint8Array([...bytes.subarray(0, at), int(256), ...bytes.subarray(at)])
      : new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
  }
  return { kind, at, out };
}

/** A byte-level change to any file; the oracle depends on where it lands. */
function byteMutation(seed: Seed): Input {
  const name = pick(Object.keys(seed.files));
  const isTensorFile = seed.tensorFiles.includes(name);
  const { kind, at, out } = mutateBytes(seed.files[name], isTensorFile ? 8 + headerOf(seed.files[name]).n : 0);
  const headerEnd = isTensorFile ? 8 + headerOf(seed.files[name]).n : 0;
  const files = { ...seed.files, [name]: out };
  const label = `${seed.name} ${name} ${kind} at ${at}`;
  const before = seed.files[name];
  if (out.length === before.length && out.every((b, i) => b === before[i])) return { label, files, oracle: same(seed) };
  if (seed.configs?.includes(name)) return { label, files, oracle: configOracle(seed, name, out) };
  if (name.endsWith("cfg.json")) return { label, files, oracle: cfgOracle(seed, out) };
  if (isTensorFile && (kind === "flip" || kind === "set") && at >= headerEnd) {
    return { label, files, oracle: valueOracle(seed, before, out, at, headerEnd) };
  }
  if (isTensorFile && (kind === "flip" || kind === "set")) return { label, files, oracle: same(seed) };
  // Truncated, grown or shifted safetensors never tile their data section as declared; an npz member is
  // protected by its CRC-32; either way a load must give the original or fail.
  return { label, files, oracle: same(seed) };
}

/** A changed stored value: the load fails, or differs in that one value, which reads as the new bytes say. */
function valueOracle(seed: Seed, before: Uint8Array, after: Uint8Array, at: number, dataStart: number): Oracle {
  const { header } = headerOf(before);
  const hit = Object.entries(header).find(([k, e]) => {
    if (k === "__metadata__") return false;
    const [b, end] = (e as { data_offsets: number[] }).data_offsets;
    return at - dataStart >= b && at - dataStart < end;
  });
  if (!hit) return same(seed);
  const { dtype, data_offsets: [b] } = hit[1] as { dtype: string; data_offsets: number[] };
  const size = dtype === "F32" ? 4 : 2;
  const element = dataStart + b + Math.floor((at - dataStart - b) / size) * size;
  const view = new DataView(after.buffer, after.byteOffset);
  const value = Math.fround(size === 4 ? view.getFloat32(element, true) : view.getFloat16(element, true));
  const isWeight = !hit[0].includes("sparsity");
  // Where scaling_factor folds into W_dec, a changed value changes a whole row: only where is checked.
  const loadedAs = seed.rename?.[hit[0]] ?? hit[0];
  const changes = hit[0] === "scaling_factor" ? "W_dec" : loadedAs;
  return (loaded) => {
    if (isWeight && !Number.isFinite(value)) return `loaded a weight that is now ${value}`;
    if (cfgText(loaded) !== cfgText(seed.original!)) return "config changed by a change of weights";
    const d = differences(seed.original!, loaded);
    if (typeof d === "string") return d;
    if (!seed.valueFlips) {
      const elsewhere = d.find((x) => x.name !== changes && x.name !== loadedAs);
      return elsewhere ? `${elsewhere.name} changed by a change of ${hit[0]}` : undefined;
    }
    if (d.length > 1) return `${d.length} values changed by one changed value`;
    if (d.length === 1 && !Object.is(d[0].value, value)) {
      return `${d[0].name} reads ${d[0].value}, its bytes say ${value}`;
    }
    return undefined;
  };
}

const INFERENCE: Record<string, string> = { batchtopk: "jumprelu", matryoshka_batchtopk: "jumprelu" };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A changed cfg.json: a load must read each known field exactly as the new JSON says, weights unchanged. */
function cfgOracle(seed: Seed, text: Uint8Array): Oracle {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch {
    return mustFail;
  }
  return (loaded) => {
    if (!isObject(raw)) return "loaded a cfg.json that is not an object";
    const d = differences(seed.original!, loaded);
    if (typeof d === "string") return d;
    if (d.length > 0) return "weights changed by a change of cfg.json";
    const c = loaded.cfg;
    if (seed.kind === "sparsify") {
      const k = raw.k === undefined ? 32 : raw.k;
      const width = raw.num_latents ||
        (raw.d_in as number) * (raw.expansion_factor === undefined ? 32 : raw.expansion_factor as number);
      if (c.d_in !== raw.d_in || c.k !== k || c.d_sae !== width) return `sparsify cfg read as ${JSON.stringify(c)}`;
      return undefined;
    }
    const problems: string[] = [];
    const expect = (field: string, got: unknown, want: unknown) => {
      if (!Object.is(got, want)) {
        problems.push(`${field} read as ${JSON.stringify(got)}, the file says ${JSON.stringify(want)}`);
      }
    };
    expect("d_in", c.d_in, raw.d_in);
    expect("d_sae", c.d_sae, raw.d_sae);
    expect("apply_b_dec_to_input", c.apply_b_dec_to_input, raw.apply_b_dec_to_input ?? true);
    expect(
      "rescale_acts_by_decoder_norm",
      c.rescale_acts_by_decoder_norm ?? false,
      raw.rescale_acts_by_decoder_norm ?? false,
    );
    const activation = raw.activation_fn ?? raw.activation_fn_str;
    if (activation === "topk" && isObject(raw.activation_fn_kwargs)) {
      expect("architecture", c.architecture, "topk");
      expect("k", c.k, raw.activation_fn_kwargs.k);
    } else {
      const arch = raw.architecture ?? "standard";
      expect("architecture", c.architecture, typeof arch === "string" ? INFERENCE[arch] ?? arch : arch);
      if (raw.k !== undefined && raw.k !== null) expect("k", c.k, raw.k);
    }
    const n = raw.normalize_activations;
    expect(
      "normalize_activations",
      c.normalize_activations,
      typeof n === "boolean" ? (n ? "expected_average_only_in" : "none") : n ?? "none",
    );
    const dtype = raw.dtype ?? "float32";
    expect("dtype", c.dtype, typeof dtype === "string" ? dtype.replace(/^torch\./, "") : dtype);
    const hook = isObject(raw.metadata) ? raw.metadata.hook_name : raw.hook_point ?? raw.hook_name;
    if (hook !== undefined) expect("hook_name", c.metadata.hook_name, hook);
    return problems.length ? problems.join("; ") : undefined;
  };
}

/** A config parsed as its loader parses it (JSON, or YAML as PyYAML does), or undefined when it does not parse. */
function parseConfig(name: string, bytes: Uint8Array): unknown {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return name.endsWith(".yaml") ? parseYaml(text, name) : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A changed config of another loader: unparsable must fail; parsing to the same value must load the original;
 * another value may load or fail (its fields' readings are checked by configEditMutation), never crash or hang.
 */
function configOracle(seed: Seed, name: string, bytes: Uint8Array): Oracle {
  const parsed = parseConfig(name, bytes);
  if (parsed === undefined) return mustFail;
  if (JSON.stringify(parsed) === JSON.stringify(parseConfig(name, seed.files[name]))) return same(seed);
  return () => undefined;
}

/** An edit of one field of another loader's config: invalid values refused, valid ones read as they say. */
function configEditMutation(seed: Seed): Input {
  const edit = pick(seed.edits!);
  const valid = edit.valid !== undefined && random() < 0.4;
  const chosen = valid ? pick(edit.valid!) : undefined;
  const value = chosen ? chosen.value : pick(edit.invalid);
  const raw = structuredClone(parseConfig(edit.file, seed.files[edit.file])) as Record<string, unknown>;
  let at = raw;
  for (const key of edit.path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[edit.path.at(-1)!] = value;
  const text = edit.file.endsWith(".yaml") ? JSON.stringify(raw) : JSON.stringify(raw, null, 1); // JSON is YAML
  const files = { ...seed.files, [edit.file]: enc.encode(text) };
  const label = `${seed.name} ${edit.file} ${edit.path.join(".")} = ${JSON.stringify(value)} (${
    valid ? "valid" : "invalid"
  })`;
  if (!chosen) return { label, files, oracle: mustFail };
  return {
    label,
    files,
    oracle: (loaded) => {
      const got = chosen.read(loaded);
      return JSON.stringify(got) === JSON.stringify(chosen.expect) ? undefined : `read as ${JSON.stringify(got)}`;
    },
  };
}

/** Field edits of cfg.json with known verdicts: valid values must be read as written, invalid ones refused. */
function cfgFieldMutation(seed: Seed): Input {
  const cfgName = Object.keys(seed.files).find((f) => f.endsWith("cfg.json"))!;
  const raw = JSON.parse(dec.decode(seed.files[cfgName]));
  const bad = ["true", 1, 0, -1, 1.5, null, [], {}, "", 1e300, 2 ** 40];
  type Edit = { field: string; valid: unknown[]; invalid: unknown[]; read?: (s: SaeOnDisk) => unknown; meta?: boolean };
  const edits: Edit[] = seed.kind === "sparsify"
    ? [
      { field: "d_in", valid: [], invalid: bad },
      { field: "k", valid: [1, 2, 8], invalid: [...bad.filter((v) => v !== 1), 9], read: (s) => s.cfg.k },
      { field: "num_latents", valid: [], invalid: ["8", -1, 1.5, null, true] },
      { field: "expansion_factor", valid: [], invalid: ["2", 0, 1.5, null] },
      { field: "transcode", valid: [false], invalid: ["false", 0, null, true] },
      { field: "activation", valid: ["topk"], invalid: ["groupmax", 1, null] },
    ]
    : [
      {
        field: "apply_b_dec_to_input",
        valid: [true, false],
        invalid: ["true", "false", 1, 0, null, [], {}],
        read: (s) => s.cfg.apply_b_dec_to_input,
      },
      { field: "d_in", valid: [], invalid: bad },
      { field: "d_sae", valid: [], invalid: bad },
      {
        field: "rescale_acts_by_decoder_norm",
        valid: [true, false],
        invalid: ["true", 1, 0, null],
        read: (s) => s.cfg.rescale_acts_by_decoder_norm ?? false,
      },
      {
        field: "normalize_activations",
        valid: ["none", "layer_norm", "constant_norm_rescale"],
        invalid: ["None", 1, [], {}],
        read: (s) => s.cfg.normalize_activations,
      },
      {
        field: "reshape_activations",
        valid: ["none", "hook_z"],
        invalid: [null, 1, "z"],
        read: (s) => s.cfg.reshape_activations,
      },
      { field: "dtype", valid: ["float32", "bfloat16"], invalid: [null, 32, {}], read: (s) => s.cfg.dtype },
      {
        field: "hook_name",
        meta: true,
        valid: ["blocks.0.hook_resid_post"],
        invalid: [5, true, {}, []],
        read: (s) => s.cfg.metadata.hook_name,
      },
      {
        field: "context_size",
        meta: true,
        valid: [256],
        invalid: ["128", 0, -5, 1.5],
        read: (s) => s.cfg.metadata.context_size,
      },
      {
        field: "prepend_bos",
        meta: true,
        valid: [false],
        invalid: ["true", 1],
        read: (s) => s.cfg.metadata.prepend_bos,
      },
      {
        field: "hook_head_index",
        meta: true,
        valid: [0, 3, null],
        invalid: ["0", -1, 1.5],
        read: (s) => s.cfg.metadata.hook_head_index,
      },
      {
        field: "model_name",
        meta: true,
        valid: ["gpt2-medium"],
        invalid: [1, {}],
        read: (s) => s.cfg.metadata.model_name,
      },
      ...(raw.architecture !== undefined
        ? [{
          field: "architecture",
          valid: raw.architecture === "topk" || raw.architecture === "standard" ? ["standard"] : [],
          invalid: [null, 5, "", "TopK", ["topk"], {}, "constructor", "__proto__", "toString"],
          read: (s: SaeOnDisk) => s.cfg.architecture,
        }]
        : []),
      ...(raw.architecture === "topk"
        ? [{
          field: "k",
          valid: [1, 8],
          invalid: ["3", 3.5, 0, -1, null, true, raw.d_sae + 1],
          read: (s: SaeOnDisk) => s.cfg.k,
        }]
        : []),
      ...("finetuning_scaling_factor" in raw && seed.name !== "legacy-scaled"
        ? [{ field: "finetuning_scaling_factor", valid: [true, false], invalid: ["true", 1, null] }]
        : []),
      ...("activation_fn_kwargs" in raw
        ? [{
          field: "activation_fn_kwargs",
          valid: [{ k: 1 }],
          invalid: ["k", 5, [], { k: "3" }, { k: 0 }, null],
          read: (s: SaeOnDisk) => ({ k: s.cfg.k }),
        }]
        : []),
      { field: "metadata", valid: [], invalid: ["x", 5, []] },
    ];
  const edit = pick(edits);
  const valid = edit.valid.length > 0 && random() < 0.4;
  const value = pick(valid ? edit.valid : edit.invalid);
  const legacy = !isObject(raw.metadata);
  const mutated = structuredClone(raw);
  if (edit.meta && !legacy) mutated.metadata[edit.field] = value;
  else mutated[edit.meta && legacy && edit.field === "hook_name" ? "hook_point" : edit.field] = value;
  const files = { ...seed.files, [cfgName]: json(mutated) };
  const label = `${seed.name} cfg.json ${edit.field} = ${JSON.stringify(value)} (${valid ? "valid" : "invalid"})`;
  if (!valid) return { label, files, oracle: mustFail };
  return {
    label,
    files,
    oracle: (loaded) => {
      const d = differences(seed.original!, loaded);
      if (typeof d === "string" || d.length > 0) return "weights changed by a change of cfg.json";
      const got = edit.read?.(loaded);
      return edit.read && JSON.stringify(got) !== JSON.stringify(value) ? `read as ${JSON.stringify(got)}` : undefined;
    },
  };
}

/** Structured edits of a safetensors header, each with a known verdict. */
function headerMutation(seed: Seed): Input {
  const name = pick(seed.tensorFiles);
  const bytes = seed.files[name];
  const { n, header } = headerOf(bytes);
  const data = bytes.subarray(8 + n);
  const h = structuredClone(header) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const names = Object.keys(h).filter((k) => k !== "__metadata__");
  const t = pick(names);
  const kind = pick(
    [
      "prefix-off",
      "prefix-huge",
      "end+1",
      "begin-1",
      "shape+1",
      "dtype-int",
      "dtype-unknown",
      "drop",
      "overlap",
      "metadata-number",
      "not-object",
      "offsets-type",
      "huge-shape",
      "append",
      "swap",
      "extra-tensor",
    ] as const,
  );
  const label = `${seed.name} ${name} header ${kind} on ${t}`;
  const files = (b: Uint8Array) => ({ ...seed.files, [name]: b });
  switch (kind) {
    case "prefix-off": {
      const delta = pick([-8, -2, -1, 1, 2, 8]);
      return { label: `${label} ${delta}`, files: files(withHeader(h, data, delta)), oracle: mustFail };
    }
    case "prefix-huge": {
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(0, pick([2n ** 63n, 2n ** 40n, 100_000_001n, BigInt(out.length)]), true);
      return { label, files: files(out), oracle: mustFail };
    }
    case "end+1":
      h[t].data_offsets[1]++;
      break;
    case "begin-1":
      if (h[t].data_offsets[0] === 0) h[t].data_offsets[1]++;
      else h[t].data_offsets[0]--;
      break;
    case "shape+1":
      h[t].shape[int(h[t].shape.length)]++;
      break;
    case "dtype-int":
      h[t].dtype = h[t].dtype === "F32" ? "I32" : "I16";
      break;
    case "dtype-unknown":
      h[t].dtype = pick(["F8_E4M3X", "f32", "", "F128"]);
      break;
    case "drop":
      delete h[t];
      break;
    case "overlap":
      h.extra = { ...h[t] };
      break;
    case "metadata-number":
      (h as Record<string, unknown>).__metadata__ = { format: 5 };
      break;
    case "not-object":
      return { label, files: files(withHeader(pick([[1, 2], "x", 5, null]), data)), oracle: mustFail };
    case "offsets-type":
      (h[t] as Record<string, unknown>).data_offsets = pick([[0.5, 4], ["0", "4"], [-4, 0], [0, 2 ** 60], [0], null]);
      break;
    case "huge-shape":
      h[t].shape = [2 ** 31, 2 ** 31];
      break;
    case "extra-tensor": {
      // A tensor no architecture has, its bytes appended: SAELens loads its weights strictly; sparsify, and
      // SAELens reading sparsity.safetensors, ignore extras.
      const extra = pick(["__proto__", "constructor", "toString", "W_skip"]);
      // defineProperty, as assigning "__proto__" would set the prototype instead of adding a key
      Object.defineProperty(h, extra, {
        value: { dtype: "F32", shape: [1], data_offsets: [data.length, data.length + 4] },
        enumerable: true,
      });
      const out = withHeader(h, new Uint8Array([...data, 0, 0, 128, 63]));
      return {
        label: `${label} ${extra}`,
        files: files(out),
        oracle: seed.kind === "sparsify" || name.includes("sparsity") || seed.ignoresExtras?.includes(name)
          ? same(seed)
          : mustFail,
      };
    }
    case "append":
      return {
        label,
        files: files(new Uint8Array([...bytes, ...new Uint8Array(1 + int(16))])),
        oracle: mustFail,
      };
    case "swap": {
      // Two tensors of one size swapped: valid, and the load must show them swapped.
      const sizes = names.map((k) => h[k].data_offsets[1] - h[k].data_offsets[0]);
      const pairs = names.flatMap((a, i) =>
        names.slice(i + 1).filter((_, j) => sizes[i + 1 + j] === sizes[i]).map((b) => [a, b])
      );
      if (pairs.length === 0 || !seed.valueFlips || seed.kind === "sparsify") return headerMutation(seed);
      const [a, b] = pick(pairs);
      [h[a].data_offsets, h[b].data_offsets] = [h[b].data_offsets, h[a].data_offsets];
      const swapped: Oracle = (loaded) => {
        const o = tensorsOf(seed.original!), l = tensorsOf(loaded);
        const key = (k: string) => name.includes("sparsity") ? "(sparsity)" : k;
        if (!(key(a) in l) || !(key(b) in l)) return undefined; // an extra tensor the loader ignores
        // as multisets of values: a loader may lay a tensor out anew (mwhanna's W_enc is stored [d_sae, d_in] and
        // loaded transposed), so after the swap W_enc holds W_dec's values in another order
        const sorted = (t: { data: ArrayLike<number> }) => Float32Array.from(t.data).sort();
        return sameBits(sorted(l[key(a)]), sorted(o[key(b)])) && sameBits(sorted(l[key(b)]), sorted(o[key(a)]))
          ? undefined
          : `${a} and ${b} are not swapped`;
      };
      return { label: `${label} ${a}<->${b}`, files: files(withHeader(h, data)), oracle: swapped };
    }
  }
  return { label, files: files(withHeader(h, data)), oracle: mustFail };
}

/** A NaN or infinity written into one weight (the file otherwise valid): the load must fail. */
function nonFiniteMutation(seed: Seed): Input {
  const bad = pick([NaN, Infinity, -Infinity]);
  if (seed.kind === "npz") {
    const arrays = {
      W_enc: { shape: [4, 8], data: values(32) },
      W_dec: { shape: [8, 4], data: values(32) },
      b_enc: { shape: [8], data: values(8) },
      b_dec: { shape: [4], data: values(4) },
      threshold: { shape: [8], data: values(8) },
    };
    const t = pick(Object.keys(arrays)) as keyof typeof arrays;
    arrays[t].data[int(arrays[t].data.length)] = bad;
    const path = Object.keys(seed.files)[0];
    return {
      label: `${seed.name} ${t} holds ${bad}`,
      files: { [path]: npz(arrays, { deflate: random() < 0.5 }) },
      oracle: mustFail,
    };
  }
  const name = seed.tensorFiles.find((f) => !f.includes("sparsity"))!;
  const bytes = seed.files[name].slice();
  const { n, header } = headerOf(bytes);
  const [t, e] = pick(Object.entries(header).filter(([k]) => k !== "__metadata__")) as [
    string,
    { dtype: string; data_offsets: number[] },
  ];
  const size = e.dtype === "F32" ? 4 : 2;
  const count = (e.data_offsets[1] - e.data_offsets[0]) / size;
  const at = 8 + n + e.data_offsets[0] + int(count) * size;
  const view = new DataView(bytes.buffer);
  if (size === 4) view.setFloat32(at, bad, true);
  else view.setFloat16(at, bad, true);
  return { label: `${seed.name} ${t} holds ${bad}`, files: { ...seed.files, [name]: bytes }, oracle: mustFail };
}

/** A file replaced by a FIFO, a link to /dev/zero, a folder, a dangling link, or a link to a good copy. */
function specialMutation(seed: Seed): Input {
  const file = pick(Object.keys(seed.files));
  const kind = pick(["fifo", "dev-zero", "folder", "dangling", "good-link"] as const);
  return {
    label: `${seed.name} ${file} is ${kind}`,
    files: seed.files,
    special: { file, kind },
    oracle: kind === "good-link" ? same(seed) : mustFail,
  };
}

// 96 MiB of zeros deflates to ~96 kB: honest headers make a ratio of 1,000, lying ones a small size.
const ZEROS = 96 * 1024 * 1024;
const BOMB = new Uint8Array(deflateRawSync(new Uint8Array(ZEROS)));
const BOMB_CRC = crc32(new Uint8Array(ZEROS)) >>> 0;

/** Zip-level damage: bombs, bad CRCs, lying sizes and counts, npy headers disagreeing with their data. */
function npzMutation(seed: Seed): Input {
  const path = Object.keys(seed.files)[0];
  const good = (name: string, shape: number[]) => ({
    name: `${name}.npy`,
    data: npy(shape, values(shape.reduce((a, b) => a * b, 1))),
  });
  const rest = [good("W_dec", [8, 4]), good("b_enc", [8]), good("b_dec", [4]), good("threshold", [8])];
  const kind = pick(
    [
      "bomb",
      "lying-bomb",
      "bad-crc",
      "size-lie",
      "count-lie",
      "npy-shape",
      "npy-short",
      "dir-offset",
      "duplicate",
      "zip64-lie",
      "npy-descr",
    ] as const,
  );
  let archive: Uint8Array;
  const enc4 = good("W_enc", [4, 8]);
  switch (kind) {
    case "bomb":
      archive = zipArchive([{
        name: "W_enc.npy",
        data: new Uint8Array(0),
        deflate: true,
        compressed: BOMB,
        size: ZEROS,
        crc: BOMB_CRC,
      }, ...rest]);
      break;
    case "lying-bomb":
      archive = zipArchive([{
        name: "W_enc.npy",
        data: new Uint8Array(0),
        deflate: true,
        compressed: BOMB,
        size: pick([100, 4096, 1 << 20]),
        crc: BOMB_CRC,
      }, ...rest]);
      break;
    case "bad-crc":
      archive = zipArchive([
        { ...enc4, deflate: random() < 0.5, crc: (crc32(enc4.data) ^ (1 << int(32))) >>> 0 },
        ...rest,
      ]);
      break;
    case "size-lie":
      archive = zipArchive([{
        ...enc4,
        deflate: true,
        size: pick([0, 100, enc4.data.length - 1, enc4.data.length + 1, 0xfffffffe]),
      }, ...rest]);
      break;
    case "count-lie": {
      archive = zipArchive([enc4, ...rest]);
      const v = new DataView(archive.buffer);
      const eocd = archive.length - 22;
      const count = pick([0xffff, 6, 4]);
      v.setUint16(eocd + 8, count, true);
      v.setUint16(eocd + 10, count, true);
      break;
    }
    case "npy-descr":
      archive = zipArchive([{
        name: "W_enc.npy",
        data: npy([4, 8], values(32), pick(["constructor", "toString", ">f4", "|O", "<c8", "<i4"])),
      }, ...rest]);
      break;
    case "npy-shape":
      archive = zipArchive([{ name: "W_enc.npy", data: npy([4, 9], values(32)), deflate: random() < 0.5 }, ...rest]);
      break;
    case "npy-short": {
      const d = enc4.data.subarray(0, enc4.data.length - 1 - int(8));
      archive = zipArchive([{ name: "W_enc.npy", data: d }, ...rest]);
      break;
    }
    case "dir-offset": {
      archive = zipArchive([enc4, ...rest]);
      new DataView(archive.buffer).setUint32(archive.length - 22 + 16, pick([archive.length, 0xfffffff0, 3]), true);
      break;
    }
    case "zip64-lie": {
      // A zip64 locator before the end record, pointing far past the file (or at the wrong bytes).
      const plain = zipArchive([enc4, ...rest]);
      archive = new Uint8Array(plain.length + 20);
      archive.set(plain.subarray(0, plain.length - 22));
      const v = new DataView(archive.buffer);
      const at = plain.length - 22;
      v.setUint32(at, 0x07064b50, true);
      v.setBigUint64(at + 8, pick([2n ** 60n, 2n ** 53n + 1n, 0n, BigInt(at)]), true);
      archive.set(plain.subarray(plain.length - 22), at + 20);
      break;
    }
    case "duplicate":
      archive = zipArchive([enc4, enc4, ...rest]);
      break;
  }
  return { label: `${seed.name} npz ${kind}`, files: { [path]: archive }, oracle: mustFail };
}

function mutate(seed: Seed): Input {
  const r = random();
  if (seed.kind === "other") {
    const tensors = seed.tensorFiles.length > 0;
    if (r < 0.4) return byteMutation(seed);
    if (r < 0.6 && tensors) return headerMutation(seed);
    if (r < 0.85 && seed.edits) return configEditMutation(seed);
    if (r < 0.92 && tensors) return nonFiniteMutation(seed);
    return specialMutation(seed);
  }
  if (seed.kind === "npz") {
    if (r < 0.5) return byteMutation(seed);
    if (r < 0.8) return npzMutation(seed);
    if (r < 0.9) return nonFiniteMutation(seed);
    return specialMutation(seed);
  }
  if (r < 0.35) return byteMutation(seed);
  if (r < 0.55) return headerMutation(seed);
  if (r < 0.8) return cfgFieldMutation(seed);
  if (r < 0.9) return nonFiniteMutation(seed);
  return specialMutation(seed);
}

// ---- standalone safetensors files, against an independent reading of the format's rules

const DTYPE_SIZES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

interface Tensors {
  tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;
  metadata: Record<string, string>;
}

/**
 * What a file means under the safetensors library's rules (`Metadata::validate` and the header
 * checks of `SafeTensors::read_metadata`), or undefined when the library refuses it.
 */
function referenceRead(bytes: Uint8Array): Tensors | undefined {
  if (bytes.length < 8) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
  if (n > 100_000_000n || 8n + n > BigInt(bytes.length)) return undefined;
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + Number(n)));
    if (!text.startsWith("{")) return undefined;
    header = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(header)) return undefined;
  const data = bytes.subarray(8 + Number(n));
  const out: Tensors = { tensors: {}, metadata: {} };
  const ranges: [number, number][] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(e) || Object.values(e).some((v) => typeof v !== "string")) return undefined;
      out.metadata = e as Record<string, string>;
      continue;
    }
    if (!isObject(e) || typeof e.dtype !== "string" || !(e.dtype in DTYPE_SIZES)) return undefined;
    const { shape, data_offsets: offsets } = e;
    const whole = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(whole)) return undefined;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(whole)) return undefined;
    const [b, end] = offsets as number[];
    if (end < b || (end - b) !== shape.reduce((x: number, y: number) => x * y, 1) * DTYPE_SIZES[e.dtype]) {
      return undefined;
    }
    ranges.push([b, end]);
    out.tensors[name] = { dtype: e.dtype, shape, bytes: data.subarray(b, end) };
  }
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, end] of ranges) {
    if (b !== at) return undefined;
    at = end;
  }
  return at === data.length ? out : undefined;
}

/** A file of random tensors of every dtype, in a random header order, with a random padding. */
function randomSafetensors(): Uint8Array {
  const count = 1 + int(5);
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  if (random() < 0.5) header.__metadata__ = { format: "pt", note: "fuzz" };
  const names = Array.from({ length: count }, (_, i) => `t${i}.weight`);
  for (const name of names) {
    const dtype = pick(Object.keys(DTYPE_SIZES));
    const shape = Array.from({ length: int(3) + (random() < 0.1 ? 0 : 1) }, () => int(5));
    const size = shape.reduce((x, y) => x * y, 1) * DTYPE_SIZES[dtype];
    const part = Uint8Array.from({ length: size }, () => int(256));
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    parts.push(part);
    offset += size;
  }
  const shuffled = Object.fromEntries(Object.entries(header).sort(() => random() - 0.5));
  const text = JSON.stringify(shuffled) + " ".repeat(int(8));
  return withHeaderText(text, parts);
}

function withHeaderText(text: string, parts: Uint8Array[]): Uint8Array {
  const h = enc.encode(text);
  const size = parts.reduce((x, p) => x + p.length, 0);
  const out = new Uint8Array(8 + h.length + size);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let at = 8 + h.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A changed standalone safetensors file. */
function fileMutation(original: Uint8Array): { label: string; bytes: Uint8Array } {
  const { n, header } = headerOf(original);
  const data = original.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const h = structuredClone(header) as Record<
    string,
    Record<string, unknown> & { data_offsets: number[]; shape: number[] }
  >;
  const t = pick(names);
  const kind = pick(["bytes", "bytes", "bytes", "offset", "shape", "dtype", "swap", "drop", "copy", "prefix"] as const);
  switch (kind) {
    case "bytes": {
      const { kind, at, out } = mutateBytes(original, 8 + n);
      return { label: `safetensors ${kind} at ${at}`, bytes: out };
    }
    case "offset":
      h[t].data_offsets[int(2)] += pick([-1, 1, 4, -4]);
      break;
    case "shape":
      if (h[t].shape.length === 0) h[t].shape = [1];
      else h[t].shape[int(h[t].shape.length)] += pick([-1, 1]);
      break;
    case "dtype":
      h[t].dtype = pick(Object.keys(DTYPE_SIZES)); // sometimes the same size: then valid
      break;
    case "swap": {
      const u = pick(names);
      [h[t].data_offsets, h[u].data_offsets] = [h[u].data_offsets, h[t].data_offsets];
      break;
    }
    case "drop":
      delete h[t];
      break;
    case "copy":
      h[`${t}.copy`] = structuredClone(h[t]);
      break;
    case "prefix":
      return { label: `safetensors prefix`, bytes: withHeader(h, data, pick([-1, 1, 7, -7, 1 << 30])) };
  }
  return { label: `safetensors ${kind} on ${t}`, bytes: withHeader(h, data) };
}

/** Both readers (from bytes and from the file) must agree with the reference reading, or fail. */
function fileOracle(bytes: Uint8Array): (loaded: { fromBytes: unknown; fromFile: unknown }) => string | undefined {
  const expected = referenceRead(bytes);
  return ({ fromBytes, fromFile }) => {
    if (expected === undefined) return "loaded a file the safetensors library refuses";
    for (const [how, got] of [["parseSafetensors", fromBytes], ["readSafetensors", fromFile]] as const) {
      const file = got as {
        tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;
        metadata: unknown;
      };
      if (JSON.stringify(file.metadata) !== JSON.stringify(expected.metadata)) return `${how} read other metadata`;
      if ([...file.tensors.keys()].sort().join() !== Object.keys(expected.tensors).sort().join()) {
        return `${how} read tensors ${[...file.tensors.keys()]}`;
      }
      for (const [name, e] of Object.entries(expected.tensors)) {
        const g = file.tensors.get(name)!;
        if (g.dtype !== e.dtype || g.shape.join() !== e.shape.join() || g.bytes.length !== e.bytes.length) {
          return `${how} read ${name} as ${g.dtype} [${g.shape}]`;
        }
        if (!g.bytes.every((b, i) => b === e.bytes[i])) return `${how} read other bytes for ${name}`;
      }
    }
    return undefined;
  };
}

// ---- running

async function writeInput(dir: string, input: Input): Promise<void> {
  for (const [name, bytes] of Object.entries(input.files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    if (input.special?.file !== name) await Deno.writeFile(join(dir, name), bytes);
  }
  if (!input.special) return;
  const path = join(dir, input.special.file);
  switch (input.special.kind) {
    case "fifo": {
      const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
      if (!success) throw new Error(`mkfifo ${path} failed`);
      break;
    }
    case "dev-zero":
      await Deno.symlink("/dev/zero", path);
      break;
    case "folder":
      await Deno.mkdir(path);
      break;
    case "dangling":
      await Deno.symlink(`${path}.gone`, path);
      break;
    case "good-link":
      await Deno.writeFile(`${path}.real`, input.files[input.special.file]);
      await Deno.symlink(`${path}.real`, path);
      break;
  }
}

type Outcome = "success" | "clean" | "crash" | "hang" | "wrong";
let gpuLoads = 0;

const FILE = "file.safetensors";

/** An input of one standalone safetensors file, read from its bytes and from disk. */
function fileInput(original: Uint8Array, label: string): Input {
  if (random() < 0.15) {
    const kind = pick(["fifo", "dev-zero", "folder", "dangling", "good-link"] as const);
    const check = kind === "good-link" ? fileOracle(original) : () => "loaded a file that is not a regular file";
    return {
      label: `${label} is ${kind}`,
      files: { [FILE]: original },
      special: { file: FILE, kind },
      oracle: () => undefined,
      run: async (dir) =>
        check({ fromBytes: parseSafetensors(original, FILE), fromFile: await readSafetensors(join(dir, FILE)) }),
    };
  }
  const { label: how, bytes } = fileMutation(original);
  return {
    label: `${label} ${how}`,
    files: { [FILE]: bytes },
    oracle: () => undefined,
    run: async (dir) => {
      const path = join(dir, FILE);
      const outcome = async <T>(f: () => T | Promise<T>) => {
        try {
          return { value: await f() };
        } catch (error) {
          return { error };
        }
      };
      const fromBytes = await outcome(() => parseSafetensors(bytes, path));
      const fromFile = await outcome(() => readSafetensors(path));
      if ("error" in fromBytes && "error" in fromFile) {
        throw isClean(fromBytes.error, dir) ? fromFile.error : fromBytes.error;
      }
      if ("error" in fromBytes || "error" in fromFile) {
        return `parseSafetensors and readSafetensors disagree: ${(fromBytes.error ?? fromFile.error) as Error}`;
      }
      return fileOracle(bytes)({ fromBytes: fromBytes.value, fromFile: fromFile.value });
    },
  };
}

function isClean(error: unknown, dir: string): boolean {
  return error instanceof Error && !error.message.includes("\n") && error.message.includes(dir);
}

async function loadFolder(loadPath: string, input: Input): Promise<string | undefined> {
  const result = await readSae(loadPath);
  const why = input.oracle(result);
  if (why !== undefined || gpuLoads >= GPU_LOADS) return why;
  gpuLoads++;
  const sae = await SAE.load(loadPath, { gpu });
  const cfg = JSON.stringify(sae.cfg);
  sae.destroy();
  return cfg === JSON.stringify(result.cfg) ? undefined : `SAE.load gives ${cfg}`;
}

async function classify(dir: string, loadPath: string, input: Input): Promise<{ outcome: Outcome; detail: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), HANG_MS));
  try {
    const why = await Promise.race([input.run ? input.run(dir) : loadFolder(loadPath, input), hang]);
    if (why === "hang") {
      // Unblock a reader stuck on a FIFO, so the test can end.
      if (input.special?.kind === "fifo") (await Deno.open(join(dir, input.special.file), { write: true })).close();
      return { outcome: "hang", detail: `no answer in ${HANG_MS} ms` };
    }
    return why === undefined ? { outcome: "success", detail: "" } : { outcome: "wrong", detail: why };
  } catch (error) {
    return {
      outcome: isClean(error, dir) ? "clean" : "crash",
      detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(`readSae() and readSafetensors() survive ${INPUTS} mutated SAE folders and safetensors files`, async () => {
  const all = [
    ...seeds(),
    ...await Promise.all(["sae-standard", "sae-standard-legacy", "sae-topk"].map(fixtureSeed)),
  ];
  const root = await Deno.makeTempDir({ prefix: "sae-fuzz-" });
  const tally: Record<Outcome, number> = { success: 0, clean: 0, crash: 0, hang: 0, wrong: 0 };
  const failures: string[] = [];
  let files = 0;
  try {
    for (const seed of all) {
      const dir = join(root, `seed-${seed.name}`);
      await writeInput(dir, { label: seed.name, files: seed.files, oracle: () => undefined });
      seed.original = await readSae(join(dir, seed.folder));
    }
    const reference = await Deno.readFile(join(FIXTURES, "reference-dev.safetensors"));
    for (let i = 0; i < INPUTS; i++) {
      // One input in four is a lone safetensors file (random tensors of every dtype, or the 3 MB reference
      // file); of SAE folders, fixtures (1 MB each) are one in five, the rest small generated SAEs of every format.
      const file = random() < 0.25;
      if (file) files++;
      const seed = random() < 0.2 ? all[all.length - 1 - int(3)] : all[int(all.length - 3)];
      const input = !file
        ? mutate(seed)
        : random() < 0.05
        ? fileInput(reference, "reference-dev.safetensors")
        : fileInput(randomSafetensors(), "random safetensors");
      const dir = join(root, String(i));
      await writeInput(dir, input);
      const { outcome, detail } = await classify(dir, join(dir, seed.folder), input);
      tally[outcome]++;
      if (outcome === "crash" || outcome === "hang" || outcome === "wrong") {
        failures.push(`${outcome}: ${input.label}: ${detail}`);
      }
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  console.log(
    `loader fuzz (seed ${SEED}): ${INPUTS} inputs (${files} lone safetensors files, ${gpuLoads} SAEs also ` +
      `through SAE.load), ${tally.clean} clean errors, ${tally.success} successes, ${tally.crash} crashes, ` +
      `${tally.hang} hangs, ${tally.wrong} silently wrong loads`,
  );
  assertEquals(failures.slice(0, 20), []);
});
