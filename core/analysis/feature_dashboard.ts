/**
 * The data of SAEDashboard's feature pages, in Neuronpedia's field names: for each chosen feature its
 * top activating examples and examples from equal-width activation intervals (each with ±5 tokens of
 * context and the feature's value on every token), the histogram of its non-zero activations, and the
 * tokens its decoder direction promotes and suppresses (W_dec[f] · W_U) with their histogram.
 *
 * One pass over the rows: the model runs only to the SAE's hook, and per chosen feature only its
 * non-zero activations are kept (with their token positions), plus the token ids of the rows read. The
 * BOS opening each row is left out, as in the evals: its activations are outliers that would fill every
 * top list.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import { batchRows } from "../data/token_rows.ts";
import { histogram } from "../eval/histogram.ts";
import type { SAE } from "../sae/sae.ts";
import { mulberry32 } from "../util/mulberry32.ts";
import { pushForward } from "./hook_to_residual.ts";
import { checkFeatureIndex } from "./index_checks.ts";
import { checkNeuronpediaId, neuronpediaFeatureUrl } from "./neuronpedia.ts";
import { saeInput, saeSite } from "../sae/sae_on_model.ts";

/** One example: a window of tokens around a token where the feature fired. */
export interface DashboardActivation {
  /** Lower edge of the example's group (−1 for the top examples, as Neuronpedia marks them). */
  bin_min: number;
  /** Upper edge of the group (the max activation for the top examples). */
  bin_max: number;
  /** Fraction of the feature's non-zero activations in the group (−1 for the top examples). */
  bin_contains: number;
  /** The window's tokens as text. */
  tokens: string[];
  /** The feature's value on each of them. */
  values: number[];
  /** Index in the window of the token the example was chosen for. */
  qualifying_token_index: number;
}

/** One feature's dashboard (Neuronpedia's feature fields). */
export interface DashboardFeature {
  /** Feature index. */
  feature_index: number;
  /** Its Neuronpedia page, when the SAE has a Neuronpedia id. */
  neuronpedia_url: string | null;
  /** Largest activation seen. */
  maxActApprox: number;
  /** Fraction of tokens where it fired (each row's opening BOS left out). */
  frac_nonzero: number;
  /** The 10 tokens W_dec[f] · W_U raises most, and by how much. */
  pos_str: string[];
  /** Their logit values. */
  pos_values: number[];
  /** The 10 tokens it lowers most. */
  neg_str: string[];
  /** Their logit values. */
  neg_values: number[];
  /** Histogram of the non-zero activations: counts. */
  freq_hist_data_bar_heights: number[];
  /** Bin centres. */
  freq_hist_data_bar_values: number[];
  /** Histogram of W_dec[f] · W_U over the vocabulary: counts. */
  logits_hist_data_bar_heights: number[];
  /** Bin centres. */
  logits_hist_data_bar_values: number[];
  /** Top examples first, then the interval groups from the highest down. */
  activations: DashboardActivation[];
  /** Rows read. */
  n_prompts_total: number;
  /** Tokens per row. */
  n_tokens_in_prompt: number;
  /** The dataset. */
  dataset: string;
}

/** Dashboards of several features (Neuronpedia's batch fields). */
export interface FeatureDashboards {
  /** Neuronpedia model id, e.g. `gpt2-small`. */
  model_id: string;
  /** Layer of the hook. */
  layer: number;
  /**
   * Neuronpedia SAE set, e.g. `res-jb`: from the SAE's Neuronpedia id, or without one the kind of hook
   * as Neuronpedia's sets begin (`res`, `res_mid`, `res_post`, `mlp`, `att`).
   */
  sae_set: string;
  /** The SAE's Neuronpedia id (MODEL/SET) the names come from, or null when it has none. */
  neuronpedia_id: string | null;
  /** The SAE's hook. */
  hook_name: string;
  /** Tokens read. */
  n_tokens: number;
  /** One per chosen feature, in the order asked. */
  features: DashboardFeature[];
}

/** Options of {@linkcode featureDashboards}. */
export interface DashboardOptions {
  /** Rows per forward pass. @default {8} */
  batchSize?: number;
  /** Stop once this many tokens are read. @default {Infinity} */
  maxTokens?: number;
  /** Top examples per feature. @default {20} */
  topExamples?: number;
  /** Tokens of context on each side of an example. @default {5} */
  context?: number;
  /** Equal-width activation intervals. @default {10} */
  intervals?: number;
  /** Examples drawn per interval. @default {5} */
  examplesPerInterval?: number;
  /** Histogram bins. @default {50} */
  bins?: number;
  /** Seed of the interval draws. @default {0} */
  seed?: number;
  /** Name of the dataset, stored with each feature. @default {""} */
  dataset?: string;
  /** Called after each batch with the rows and tokens read. */
  onProgress?: (rows: number, tokens: number) => void;
}

/** An append-only typed array. */
class Growable<T extends Float32Array | Int32Array> {
  data: T;
  length = 0;
  constructor(private make: (n: number) => T) {
    this.data = make(1024);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/** Index of `target` in the sorted `positions`, or −1. */
function find(positions: Int32Array, target: number): number {
  let lo = 0, hi = positions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] === target) return mid;
    if (positions[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Neuronpedia's model, layer and set for the SAE (from its Neuronpedia id where it has one). */
/** The kind of hook as Neuronpedia's set names begin, for an SAE with no Neuronpedia id. */
function hookKind(hookName: string): string {
  const kinds: [RegExp, string][] = [
    [/hook_resid_pre$/, "res"],
    [/hook_resid_mid$/, "res_mid"],
    [/hook_resid_post$/, "res_post"],
    [/(hook_mlp_out|mlp\.hook_post)$/, "mlp"],
    [/(hook_attn_out|attn\.hook_z)$/, "att"],
  ];
  return kinds.find(([re]) => re.test(hookName))?.[1] ?? hookName.replace(/^blocks\.\d+\./, "");
}

function neuronpediaNames(
  sae: SAE,
  hookName: string,
): { model_id: string; layer: number; sae_set: string; neuronpedia_id: string | null } {
  const layer = Number(/^blocks\.(\d+)\./.exec(hookName)?.[1] ?? 0);
  const id = sae.cfg.metadata.neuronpedia_id;
  if (typeof id === "string") {
    const [modelId, set] = checkNeuronpediaId(id);
    const m = /^(\d+)-(.+)$/.exec(set);
    return m
      ? { model_id: modelId, layer: Number(m[1]), sae_set: m[2], neuronpedia_id: id }
      : { model_id: modelId, layer, sae_set: set, neuronpedia_id: id };
  }
  return {
    model_id: String(sae.cfg.metadata.model_name ?? "model"),
    layer,
    sae_set: hookKind(hookName),
    neuronpedia_id: null,
  };
}

/**
 * Reads rows through the model and SAE and builds the dashboards of `features`.
 *
 * @example
 * ```ts ignore
 * const data = await openTokenDataset("sotu", { tokenizer: model, contextSize: 128, bos: 50256 });
 * const dash = await featureDashboards(model, sae, data.rows(), [0, 1, 2], { maxTokens: 65536 });
 * console.log(dash.features[0].pos_str); // the tokens feature 0 promotes
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param rows Token rows, all of one length.
 * @param features Feature indices.
 * @param options Batch size, token budget, example counts, histogram bins, seed, progress.
 * @returns The dashboards.
 * @throws {RangeError} When a feature index is outside the SAE.
 * @throws {TypeError} When the SAE does not fit the model or no rows come.
 */
export async function featureDashboards(
  model: HookedTransformer,
  sae: SAE,
  rows: AsyncIterable<number[]>,
  features: readonly number[],
  options: DashboardOptions = {},
): Promise<FeatureDashboards> {
  const {
    batchSize = 8,
    maxTokens = Infinity,
    topExamples = 20,
    context = 5,
    intervals = 10,
    examplesPerInterval = 5,
    bins = 50,
    seed = 0,
    dataset = "",
    onProgress,
  } = options;
  for (const f of features) checkFeatureIndex(f, sae.cfg.d_sae);
  const site = saeSite(model, sae);
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  const tokens = new Growable((n) => new Int32Array(n));
  const positions = features.map(() => new Growable((n) => new Int32Array(n)));
  const values = features.map(() => new Growable((n) => new Float32Array(n)));
  const bos = model.tokenizer.bosTokenId;
  const ids = (t: number) => tokens.data[t];
  let width = 0, rowCount = 0, counted = 0;

  const runBatch = async (batch: number[][]): Promise<void> => {
    const { cache } = await model.runWithCache(batch, {
      names: [site.hookName],
      stopAtLayer: site.stopAtLayer,
      returnType: "none",
    });
    const encoded = sae.encode(saeInput(site, cache.get(site.hookName)!, dIn));
    const f = await encoded.read().finally(() => encoded.destroy());
    const base = tokens.length;
    for (const row of batch) for (const t of row) tokens.push(t);
    const n = batch.length * width;
    const opensRow = (p: number) => p % width === 0 && ids(base + p) === bos;
    counted += n - batch.filter((row) => row[0] === bos).length;
    features.forEach((feature, k) => {
      for (let p = 0; p < n; p++) {
        if (opensRow(p)) continue;
        const v = f[p * dSae + feature];
        if (v > 0) {
          positions[k].push(base + p);
          values[k].push(v);
        }
      }
    });
    rowCount += batch.length;
    onProgress?.(rowCount, tokens.length);
  };

  for await (const batch of batchRows(rows, batchSize)) {
    width = batch[0].length;
    await runBatch(batch.slice(0, Math.ceil((maxTokens - tokens.length) / width)));
    if (tokens.length >= maxTokens) break;
  }
  if (rowCount === 0) throw new TypeError("No rows to read: the dataset is empty");

  const corpus = tokens.view();
  const strCache = new Map<number, string>();
  const str = (id: number) => {
    let s = strCache.get(id);
    if (s === undefined) strCache.set(id, s = model.toString([id]));
    return s;
  };
  const npNames = neuronpediaNames(sae, site.hookName);
  const npId = sae.cfg.metadata.neuronpedia_id;

  const dashboards = features.map((feature, k): DashboardFeature => {
    const pos = positions[k].view(), val = values[k].view();
    const example = (at: number, bin: [number, number, number]): DashboardActivation => {
      const token = pos[at];
      const rowStart = token - (token % width);
      const from = Math.max(rowStart, token - context), to = Math.min(rowStart + width - 1, token + context);
      const window: number[] = [], acts: number[] = [];
      for (let t = from; t <= to; t++) {
        window.push(corpus[t]);
        const i = find(pos, t);
        acts.push(i < 0 ? 0 : round3(val[i]));
      }
      return {
        bin_min: bin[0],
        bin_max: bin[1],
        bin_contains: bin[2],
        tokens: window.map(str),
        values: acts,
        qualifying_token_index: token - from,
      };
    };
    const order = Array.from(pos.keys()).sort((a, b) => val[b] - val[a]);
    const max = val.length > 0 ? val[order[0]] : 0;
    const activations = order.slice(0, topExamples).map((i) => example(i, [-1, round3(max), -1]));
    // interval groups from the highest down, examples drawn without replacement
    const rng = mulberry32(seed + feature);
    for (let g = intervals - 1; g >= 0 && val.length > 0; g--) {
      const lo = (max * g) / intervals, hi = (max * (g + 1)) / intervals;
      const members = order.filter((i) => val[i] > lo && val[i] <= hi);
      for (let j = members.length - 1; j > 0; j--) {
        const r = Math.floor(rng() * (j + 1));
        [members[j], members[r]] = [members[r], members[j]];
      }
      const bin: [number, number, number] = [round3(lo), round3(hi), members.length / val.length];
      for (const i of members.slice(0, examplesPerInterval).sort((a, b) => val[b] - val[a])) {
        activations.push(example(i, bin));
      }
    }
    // W_dec[f] taken into the residual stream, then through ln_final's weight (when not folded in) and W_U
    const row = sae.W_dec.data.subarray(feature * dIn, (feature + 1) * dIn);
    const logits = model.directionLogits(pushForward(model, site.hookName, site.head, row));
    const byLogit = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
    const top = byLogit.slice(0, 10), bottom = byLogit.slice(-10).reverse();
    const actHist = histogram(val, bins);
    const logitHist = histogram(logits, bins);
    return {
      feature_index: feature,
      neuronpedia_url: typeof npId === "string" ? neuronpediaFeatureUrl(npId, feature) : null,
      maxActApprox: round3(max),
      frac_nonzero: val.length / counted,
      pos_str: top.map(str),
      pos_values: top.map((v) => round3(logits[v])),
      neg_str: bottom.map(str),
      neg_values: bottom.map((v) => round3(logits[v])),
      freq_hist_data_bar_heights: actHist.counts,
      freq_hist_data_bar_values: actHist.centers.map(round3),
      logits_hist_data_bar_heights: logitHist.counts,
      logits_hist_data_bar_values: logitHist.centers.map(round3),
      activations,
      n_prompts_total: rowCount,
      n_tokens_in_prompt: width,
      dataset,
    };
  });
  return { ...npNames, hook_name: site.hookName, n_tokens: corpus.length, features: dashboards };
}
