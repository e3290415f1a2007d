// A GPT-2 with random weights as a Hugging Face folder (bench/_random_model.ts), for the benchmarks at GPT-2 small's
// size without downloading it.
import { writeRandomModel } from "./_random_model.ts";

/** The fixture model's folder. */
export const FIXTURE_MODEL = new URL("../../shared/fixtures/gpt2-sotu-tiny", import.meta.url).pathname;

/** A GPT-2's shape (GPT-2 small: 12 layers, d_model 768, 12 heads, vocab 50257, n_ctx 1024). */
export interface Gpt2Shape {
  nLayer: number;
  dModel: number;
  nHead: number;
  vocab: number;
  nCtx: number;
}

/** Writes the model into `dir` (created): float32 weights with GPT-2's init std 0.02, layer norms the identity. */
export async function writeRandomGpt2(dir: string, { nLayer, dModel, nHead, vocab, nCtx }: Gpt2Shape): Promise<void> {
  await writeRandomModel(dir, {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    n_ctx: nCtx,
    n_positions: nCtx,
    n_embd: dModel,
    n_head: nHead,
    n_layer: nLayer,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    bos_token_id: 50256,
    eos_token_id: 50256,
  }, "F32");
}
