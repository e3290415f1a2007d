/**
 * SAELens's evals for an SAE on a model (`run_evals` with CE and KL): reconstruction and sparsity at the
 * hook, and the model's next-token loss and distribution with the SAE spliced in and with the hook
 * zero-ablated. Rows stream through in batches; nothing but running sums is kept.
 *
 * @module
 */

import { saeInput, saeSite, writeSaeOutput } from "../sae/sae_on_model.ts";
import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import { batchRows } from "../data/token_rows.ts";
import type { SAE } from "../sae/sae.ts";
import { type Histogram, histogram, integerHistogram } from "./histogram.ts";
import { ReconstructionSums } from "./reconstruction.ts";
import { CpuTensor } from "../cpu/cpu_tensor.ts";

/** Density above which a feature counts as dense (SAE_FACTS). */
export const DENSE_DENSITY = 0.1;

/** The metrics, under SAELens's names where it has them. */
export interface SaeEvaluation {
  /** Rows and tokens evaluated. */
  rows: number;
  /** Tokens evaluated (rows × context). */
  tokens: number;
  /** Mean count of active features per token (each row's opening BOS left out, as for the metrics to `explained_variance`). */
  l0: number;
  /** Mean Σ f per token. */
  l1: number;
  /** Mean squared error per element. */
  mse: number;
  /** Mean cosine similarity of the SAE's input and output. */
  cossim: number;
  /** Mean ‖x̂‖ / ‖x‖. */
  l2_ratio: number;
  /** 1 − E‖x − x̂‖² / Σ_d Var(x_d), over all tokens. */
  explained_variance: number;
  /** Mean next-token cross-entropy of the model (every position of every row). */
  ce_orig: number;
  /** The same with the SAE's reconstruction spliced in at the hook. */
  ce_sae: number;
  /** The same with the hook zeroed. */
  ce_zero_ablation: number;
  /** (CE_zero − CE_sae) / (CE_zero − CE_orig). */
  ce_loss_score: number;
  /** Mean KL(p_orig ‖ p_sae) per position, summed over the vocabulary. */
  kl_div_sae: number;
  /** Mean KL(p_orig ‖ p_zero). */
  kl_div_zero_ablation: number;
  /** (KL_zero − KL_sae) / KL_zero. */
  kl_div_score: number;
  /** Features that never fired. */
  dead_features: number;
  /** Features firing on more than 10% of tokens. */
  dense_features: number;
  /** Number of features. */
  d_sae: number;
  /** Per feature, the fraction of tokens where it fired. */
  feature_density: number[];
  /** Histogram of log10(density + 1e-10) over [-10, 0] in 50 bins (dead features in the first). */
  log_density_histogram: Histogram;
  /**
   * Histogram of L0 per token, each row's opening BOS left out (SAELens's basic-loading notebook's first plot): whole
   * bins from the smallest L0 to the largest, at most 50.
   */
  l0_histogram: Histogram;
}

/** Options of {@linkcode evaluateSae}. */
export interface EvaluateOptions {
  /** Rows per forward pass. @default {8} */
  batchSize?: number;
  /** Stop after this many batches. @default {Infinity} */
  maxBatches?: number;
  /** Called after each batch with the rows and tokens done and the metrics so far. */
  onProgress?: (rows: number, tokens: number, sofar: EvalSoFar) => void;
  /** Keep the continuation's run memory between batches (`runWithReplacements`' `keepRunMemory`). @default {false} */
  keepRunMemory?: boolean;
}

/** Key metrics over the batches done so far, for progress lines. */
export interface EvalSoFar {
  /** Mean active features per token. */
  l0: number;
  /** Explained variance. */
  explained_variance: number;
  /** CE loss score. */
  ce_loss_score: number;
}

/** Σ of the values, in float64. */
function sum(values: Float32Array | Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]; // indexed: a for-of is ten times slower
  return total;
}

/**
 * Evaluates an SAE on rows of tokens.
 *
 * Every row must have the same length. The BOS opening each row is left out of the reconstruction
 * metrics and densities (BOS tokens that separate documents inside a row are counted); the SAE is
 * spliced in at every position, and the loss and KL count every position.
 *
 * @example
 * ```ts ignore
 * const data = await openTokenDataset("reference-dev.safetensors", { tokenizer: model });
 * const m = await evaluateSae(model, sae, data.rows());
 * console.log(m.ce_loss_score, m.l0, m.explained_variance);
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param rows Token rows, all of one length.
 * @param options Batch size, batch limit, progress.
 * @returns The metrics.
 * @throws {TypeError} When the SAE does not fit the model, no row comes or rows differ in length.
 */
export async function evaluateSae(
  model: HookedTransformer,
  sae: SAE,
  rows: AsyncIterable<number[]>,
  options: EvaluateOptions = {},
): Promise<SaeEvaluation> {
  const { batchSize = 8, maxBatches = Infinity, onProgress, keepRunMemory = false } = options;
  const site = saeSite(model, sae);
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  const bos = model.tokenizer.bosTokenId;
  const sums = new ReconstructionSums(dIn, dSae);
  const l0Counts = new Float64Array(dSae + 1); // tokens by L0: the histogram without keeping every token's L0
  let ceOrig = 0, ceSae = 0, ceZero = 0, lossCount = 0, klSae = 0, klZero = 0;
  let rowCount = 0, tokenCount = 0, batches = 0;

  const runBatch = async (batch: number[][]): Promise<void> => {
    const flat = batch.flat();
    const width = batch[0].length;
    const keep = (r: number) => r % width !== 0 || flat[r] !== bos;
    // The blocks before the hook run once; the clean, spliced and zero-ablated continuations run from its value,
    // and the loss and KL of every position come out of the graph.
    const run = await model.runWithReplacements(batch, site.hookName, async (clean) => {
      const x = saeInput(site, clean, dIn);
      const out = sae.encodeDecode(x);
      const recon = await out.recon.read().finally(() => out.recon.destroy());
      // the CPU engine's features as computed (a read() would copy [rows, d_sae] for nothing)
      const features = out.features instanceof CpuTensor
        ? await out.features.values()
        : await out.features.read().finally(() => out.features.destroy());
      sums.add(x.data, recon, features, keep).forEach((l0, r) => {
        if (keep(r)) l0Counts[l0]++;
      });
      // `clean` is the callback's own copy (x may be a view of it): the spliced value goes into it once summed
      const zeroed = { shape: clean.shape, data: Float32Array.from(clean.data) };
      writeSaeOutput(site, zeroed, new Float32Array(recon.length));
      writeSaeOutput(site, clean, recon);
      return [clean, zeroed];
    }, { keepRunMemory });
    const [origLoss, saeLoss, zeroLoss] = run.losses.map(sum);
    ceOrig += origLoss;
    ceSae += saeLoss;
    ceZero += zeroLoss;
    lossCount += run.losses[0].length;
    klSae += sum(run.kl[0]);
    klZero += sum(run.kl[1]);
    rowCount += batch.length;
    tokenCount += flat.length;
    if (onProgress) {
      const { l0, explainedVariance } = sums.means();
      onProgress(rowCount, tokenCount, {
        l0,
        explained_variance: explainedVariance,
        ce_loss_score: (ceZero - ceSae) / (ceZero - ceOrig),
      });
    }
  };

  for await (const batch of batchRows(rows, batchSize)) {
    await runBatch(batch);
    if (++batches >= maxBatches) break;
  }
  if (rowCount === 0) throw new TypeError("No rows to evaluate: the dataset is empty");

  const means = sums.means();
  const density = Array.from(means.density);
  const ce = { orig: ceOrig / lossCount, sae: ceSae / lossCount, zero: ceZero / lossCount };
  const kl = { sae: klSae / tokenCount, zero: klZero / tokenCount };
  return {
    rows: rowCount,
    tokens: tokenCount,
    l0: means.l0,
    l1: means.l1,
    mse: means.mse,
    cossim: means.cossim,
    l2_ratio: means.l2Ratio,
    explained_variance: means.explainedVariance,
    ce_orig: ce.orig,
    ce_sae: ce.sae,
    ce_zero_ablation: ce.zero,
    ce_loss_score: (ce.zero - ce.sae) / (ce.zero - ce.orig),
    kl_div_sae: kl.sae,
    kl_div_zero_ablation: kl.zero,
    kl_div_score: (kl.zero - kl.sae) / kl.zero,
    dead_features: density.filter((d) => d === 0).length,
    dense_features: density.filter((d) => d > DENSE_DENSITY).length,
    d_sae: dSae,
    feature_density: density,
    log_density_histogram: histogram(density.map((d) => Math.log10(d + 1e-10)), 50, [-10, 0]),
    l0_histogram: integerHistogram(l0Counts),
  };
}
