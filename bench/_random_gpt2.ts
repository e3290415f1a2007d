// A GPT-2 with random weights as a Hugging Face folder (config.json, model.safetensors under GPT-2's names, and the
// fixture's tokenizer files), for benchmarks at a real model's size without downloading one.
import { join } from "node:path";
import { encodeSafetensors, type TensorToWrite } from "../core/io/safetensors.ts";

/** The fixture model's folder, whose tokenizer the random model borrows. */
export const FIXTURE_MODEL = new URL("../../shared/fixtures/gpt2-sotu-tiny", import.meta.url).pathname;

/** A GPT-2's shape (GPT-2 small: 12 layers, d_model 768, 12 heads, vocab 50257, n_ctx 1024). */
export interface Gpt2Shape {
  nLayer: number;
  dModel: number;
  nHead: number;
  vocab: number;
  nCtx: number;
}

/** Writes the model into `dir` (created); weights uniform with GPT-2's init std 0.02, layer norms the identity. */
export async function writeRandomGpt2(
  dir: string,
  { nLayer, dModel: d, nHead, vocab, nCtx }: Gpt2Shape,
): Promise<void> {
  const a = 0.02 * Math.sqrt(3);
  const random = (...shape: number[]): TensorToWrite => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 2 - 1) * a;
    return { shape, data };
  };
  const fill = (n: number, v: number): TensorToWrite => ({ shape: [n], data: new Float32Array(n).fill(v) });
  const tensors: Record<string, TensorToWrite> = { "wte.weight": random(vocab, d), "wpe.weight": random(nCtx, d) };
  for (let l = 0; l < nLayer; l++) {
    Object.assign(tensors, {
      [`h.${l}.ln_1.weight`]: fill(d, 1),
      [`h.${l}.ln_1.bias`]: fill(d, 0),
      [`h.${l}.attn.c_attn.weight`]: random(d, 3 * d),
      [`h.${l}.attn.c_attn.bias`]: fill(3 * d, 0),
      [`h.${l}.attn.c_proj.weight`]: random(d, d),
      [`h.${l}.attn.c_proj.bias`]: fill(d, 0),
      [`h.${l}.ln_2.weight`]: fill(d, 1),
      [`h.${l}.ln_2.bias`]: fill(d, 0),
      [`h.${l}.mlp.c_fc.weight`]: random(d, 4 * d),
      [`h.${l}.mlp.c_fc.bias`]: fill(4 * d, 0),
      [`h.${l}.mlp.c_proj.weight`]: random(4 * d, d),
      [`h.${l}.mlp.c_proj.bias`]: fill(d, 0),
    });
  }
  tensors["ln_f.weight"] = fill(d, 1);
  tensors["ln_f.bias"] = fill(d, 0);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  const config = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    n_ctx: nCtx,
    n_positions: nCtx,
    n_embd: d,
    n_head: nHead,
    n_layer: nLayer,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    bos_token_id: 50256,
    eos_token_id: 50256,
  };
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  for (const name of ["vocab.json", "merges.txt"]) await Deno.copyFile(join(FIXTURE_MODEL, name), join(dir, name));
}
