// A whole `sae train` run on the cpu device (trainSae: the model's forward to the hook, the activation store, the
// steps) next to train_run_torch.py doing the same on the same token rows. Both time from the end of the first step
// to the end of the last, so start-up, loading, b_dec's initialisation and saving are left out on both sides.
import { join } from "node:path";
import { openTokenDataset } from "../core/data/token_dataset.ts";
import { writeSafetensors } from "../core/io/safetensors.ts";
import { ModelTokenizer } from "../core/lm/model_tokenizer.ts";
import { trainSae } from "../core/train/train_sae.ts";
import { torchBaseline } from "./_torch.ts";

/** What the run trains: a standard SAE at `blocks.<layer>.hook_resid_pre` of `model` on the sotu corpus. */
export interface TrainRunShape {
  model: string;
  layer: number;
  dSae: number;
  trainingTokens: number;
  batchTokens: number;
  contextSize: number;
  storeRows: number;
  nBatchesInBuffer: number;
}

/** sae's and PyTorch's training tokens per second (PyTorch's: a string saying why there is none). */
export interface TrainRunRates {
  sae: number;
  torch: number | string;
  steps: number;
  device: string;
}

/** Runs both and removes what they wrote. */
export async function trainRunRates(shape: TrainRunShape): Promise<TrainRunRates> {
  const { model, layer, dSae, trainingTokens, batchTokens, contextSize, storeRows, nBatchesInBuffer } = shape;
  const tmp = await Deno.makeTempDir({ prefix: "sae-bench-train-" });
  try {
    const marks: number[] = [];
    let device = "";
    const { saes, steps } = await trainSae({
      model_name: model,
      device: "cpu",
      hook_name: `blocks.${layer}.hook_resid_pre`,
      d_sae: dSae,
      architecture: "standard",
      training_tokens: trainingTokens,
      train_batch_size_tokens: batchTokens,
      context_size: contextSize,
      store_batch_size_prompts: storeRows,
      n_batches_in_buffer: nBatchesInBuffer,
      // the mixing buffer, as the PyTorch side reads the same rows through the same buffer
      shuffle_whole_corpus: false,
      eval_every_n_wandb_logs: 0,
      checkpoint_path: join(tmp, "checkpoints"),
      dataset_path: "sotu",
    }, {
      onStart: (_, d) => device = d,
      onProgress: ({ step, totalSteps }) => {
        if (step === 1 || step === totalSteps) marks.push(performance.now());
      },
    });
    saes.forEach((s) => s.destroy());
    const sae = (steps - 1) * batchTokens / ((marks[1] - marks[0]) / 1000);
    // The rows the run read, in order (the store reads at most the run's tokens plus one buffer's worth).
    const tokenizer = await ModelTokenizer.load(model);
    const dataset = await openTokenDataset("sotu", { tokenizer, contextSize, bos: tokenizer.bosTokenId ?? undefined });
    const wanted = Math.ceil(trainingTokens / contextSize) + (nBatchesInBuffer + 1) * storeRows;
    const rows: number[] = [];
    for await (const row of dataset.rows()) {
      rows.push(...row);
      if (rows.length >= wanted * contextSize) break;
    }
    const tokens = join(tmp, "tokens.safetensors");
    const count = rows.length / contextSize;
    await writeSafetensors(tokens, { tokens: { shape: [count, contextSize], data: BigInt64Array.from(rows, BigInt) } });
    const torch = await torchBaseline<{ tokens_per_s: number }>("train_run_torch.py", [
      model,
      tokens,
      layer,
      dSae,
      trainingTokens,
      batchTokens,
      storeRows,
      nBatchesInBuffer,
    ]);
    return { sae, torch: typeof torch === "string" ? torch : torch.tokens_per_s, steps, device };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
