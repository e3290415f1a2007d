/**
 * A transformer of any family (GPT-2, Llama, Mistral, Qwen 2/3, Gemma 1/2/3, GPT-NeoX) run through ONNX Runtime with
 * TransformerLens's hook points: `run`, `runWithCache`, `runWithHooks` and `generate`. The forward is one ONNX graph
 * cut after chosen hooks into segments; JavaScript hook functions run between segments and the rest of the forward
 * continues from what they return. Segments also break at every block boundary, so `stopAtLayer` runs only the
 * blocks it needs and no single ONNX model outgrows protobuf's 2 GB limit.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import { LOGITS, TOKEN_LOSS } from "./_transformer_graph.ts";
import { toBatch, TransformerForward } from "./_transformer_forward.ts";
import {
  type HookedTransformerConfig,
  type TransformerConfig,
  withTransformerLensNames,
} from "./transformer_config.ts";
import type { TransformerWeights } from "./transformer_weights.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { resolveModelDir } from "./model_source.ts";
import { checkHookName, hookReached } from "./hook_points.ts";
import {
  rightMultiplied,
  stackLayers,
  TransformerLensBlock,
  type TransformerLensNorm,
  transformerLensNorm,
} from "./transformer_lens_weights.ts";
import {
  type AppliedProcessing,
  centerRows,
  NO_PROCESSING,
  processesInPlace,
  processWeights,
  type WeightProcessing,
} from "./process_weights.ts";
import { generateTokens } from "./generation.ts";
import { type ReplacementRun, type ReplacementRunOptions, runWithReplacements } from "./replacement_run.ts";
import { ModelTokenizer } from "./model_tokenizer.ts";
import { checkFiniteOutput } from "./finite_output.ts";
import { type Backend, loadOrt, type Ort } from "./ort_backend.ts";
import { type ModelDtype, readModelCheckpoint, readModelConfig } from "./model_checkpoint.ts";
import type {
  CachedOutput,
  GenerateOptions,
  GenerateOutput,
  ModelInput,
  ModelOutput,
  ResidualOutput,
  ReturnType,
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
} from "./run_options.ts";

/** Options of {@linkcode HookedTransformer.load}. */
export interface LoadOptions {
  /**
   * TransformerLens weight processing; `false` is `from_pretrained_no_processing`.
   * @default {{}} (fold_ln, center_writing_weights, center_unembed, fold_value_biases, where the family takes them)
   */
  processing?: WeightProcessing | false;
  /**
   * ONNX Runtime backend; `"auto"` uses onnxruntime-node where it loads (`--allow-ffi`) and
   * onnxruntime-web (WebAssembly, all cores) otherwise.
   * @default {"auto"}
   */
  backend?: Backend | "auto";
  /**
   * How the weight matrices are kept: `float32`, `stored` (a bfloat16 or float16 checkpoint stays so, each block
   * widened to float32 while it runs), or `auto`: float32 unless that would take more than 60% of the machine's
   * memory. LayerNorm models that are processed are always float32.
   * @default {"auto"}
   */
  dtype?: ModelDtype;
  /** Most ONNX sessions kept alive; older ones are released. @default {64} */
  maxSessions?: number;
  /** Hub settings, when the model is named by id. */
  hub?: HubOptions;
}

/**
 * A transformer with TransformerLens's hook points, weight processing and generation, for every family sae runs.
 * TransformerLens's names work alongside the camelCase ones: `cfg.d_model`, `cfg.n_key_value_heads`, ... and the
 * weights as TransformerLens shapes them, `W_E` [d_vocab, d_model], `W_U` [d_model, d_vocab], per block
 * `blocks[l].attn.W_Q` [n_heads, d_model, d_head], `blocks[l].mlp.W_gate`, ..., and stacked over layers, `W_Q`
 * [n_layers, n_heads, d_model, d_head], ...
 *
 * @example TransformerLens names
 * ```ts ignore
 * console.log(model.cfg.d_model, model.W_U.shape, model.blocks[0].attn.W_O.shape); // 128 [128, 50257] [4, 32, 128]
 * ```
 *
 * @example Cache the residual stream an SAE reads
 * ```ts ignore
 * import { HookedTransformer } from "./hooked_transformer.ts";
 * const model = await HookedTransformer.load("../shared/fixtures/families/gemma2/model");
 * const { cache } = await model.runWithCache("Hello world", { names: ["blocks.1.hook_resid_post"], stopAtLayer: 2 });
 * console.log(cache.get("blocks.1.hook_resid_post")!.shape); // [1, 3, 24]
 * ```
 */
export class HookedTransformer {
  /** Hyperparameters, under camelCase and TransformerLens's snake_case names. */
  readonly cfg: HookedTransformerConfig;
  /** Weights as run (processed unless loaded without processing). */
  readonly weights: TransformerWeights;
  /** The processing the weights went through. */
  readonly processing: AppliedProcessing;
  /** The tokenizer. */
  readonly tokenizer: ModelTokenizer;
  /** The ONNX Runtime backend in use. */
  readonly backend: Backend;
  readonly #forwarder: TransformerForward;
  #blocks: TransformerLensBlock[] | undefined;
  /** The unembedding's mean row, once computed. */
  #meanRow: Float64Array | undefined;

  private constructor(
    cfg: TransformerConfig,
    weights: TransformerWeights,
    processing: AppliedProcessing,
    tokenizer: ModelTokenizer,
    ort: { ort: Ort; backend: Backend },
    maxSessions: number,
  ) {
    this.cfg = withTransformerLensNames(cfg, {
      folded: processing.folded,
      prependBos: tokenizer.prependBosByDefault,
    });
    this.weights = weights;
    this.processing = processing;
    this.tokenizer = tokenizer;
    this.backend = ort.backend;
    this.#forwarder = new TransformerForward(cfg, weights, processing.centredUnembed, ort, maxSessions);
  }

  /**
   * Loads a Hugging Face model from a folder or the Hub (`gpt2-small`, `gemma-2-2b`, `meta-llama/Llama-3.1-8B`,
   * `pythia-70m-deduped`, ...) and processes its weights as TransformerLens's `from_pretrained` does.
   *
   * @param source A model folder, TransformerLens name or Hub repo id.
   * @param options Processing, backend, dtype.
   * @returns The model.
   * @throws {Deno.errors.NotFound} When a file is missing.
   * @throws {TypeError} When config and weights disagree, or the family is not one sae runs.
   * @throws {HubError} When a download fails.
   */
  static async load(source: string, options: LoadOptions = {}): Promise<HookedTransformer> {
    const dir = await resolveModelDir(source, options.hub);
    const { processing = {}, dtype = "auto" } = options;
    const inPlace = processing !== false && processesInPlace(await readModelConfig(dir), processing);
    const { config, weights } = await readModelCheckpoint(dir, inPlace ? "float32" : dtype);
    const tokenizer = await ModelTokenizer.load(dir, { bosTokenId: config.bosTokenId, prependBos: config.prependBos });
    if (tokenizer.vocabSize > config.dVocab) {
      throw new TypeError(
        `${dir}: the tokenizer has ids up to ${
          tokenizer.vocabSize - 1
        }, past the model's vocab_size of ${config.dVocab}`,
      );
    }
    const bos = tokenizer.bosTokenId;
    if (bos !== null && bos >= config.dVocab) {
      throw new TypeError(
        `${dir}: the BOS token id ${bos} (config.json bos_token_id, or the tokenizer's) is past the model's vocab_size of ${config.dVocab}`,
      );
    }
    return HookedTransformer.fromWeights(config, weights, tokenizer, options);
  }

  /**
   * Builds a model from weights in memory (processing them in place unless `processing` is false).
   *
   * @param config Hyperparameters.
   * @param weights Unprocessed weights.
   * @param tokenizer The tokenizer.
   * @param options Processing and backend.
   * @returns The model.
   */
  static async fromWeights(
    config: TransformerConfig,
    weights: TransformerWeights,
    tokenizer: ModelTokenizer,
    options: LoadOptions = {},
  ): Promise<HookedTransformer> {
    const { processing = {}, backend = "auto", maxSessions = 64 } = options;
    const applied = processWeights(weights, config, processing === false ? NO_PROCESSING : processing);
    return new HookedTransformer(config, weights, applied, tokenizer, await loadOrt(backend), maxSessions);
  }

  /** Token embedding [d_vocab, d_model], with Gemma's √d_model folded in as TransformerLens does (then a copy). */
  get W_E(): HostTensor {
    const { embed } = this.weights;
    const data = embed.toFloat32();
    const scale = Math.fround(this.cfg.embedScale);
    return { shape: [...embed.shape], data: scale === 1 ? data : data.map((v) => v * scale) };
  }
  /** Position embedding [n_ctx, d_model] (TransformerLens `W_pos`); null with rotary positions. */
  get W_pos(): HostTensor | null {
    const pos = this.weights.posEmbed;
    return pos && { shape: [...pos.shape], data: pos.toFloat32() };
  }
  /**
   * Unembedding [d_model, d_vocab] (TransformerLens `W_U`, a copy): ln_final's weight folded in where it counts as
   * folded, centred over the vocabulary where center_unembed applies.
   */
  get W_U(): HostTensor {
    const t = rightMultiplied(this.weights.unembed.weight, this.#rmsFold(this.weights.lnFinal));
    if (this.processing.centredUnembed) centerRows(t.data, t.shape[0], t.shape[1]);
    return t;
  }
  /** Unembedding bias [d_vocab] (TransformerLens `b_U`, centred where center_unembed applies). */
  get b_U(): HostTensor {
    const bias = Float32Array.from(this.weights.unembed.bias ?? new Float32Array(this.cfg.dVocab));
    if (this.processing.centredUnembed) centerRows(bias, 1, bias.length);
    return { shape: [this.cfg.dVocab], data: bias };
  }
  /** Each block's weights under TransformerLens's names (`blocks[l].attn.W_Q`, `blocks[l].mlp.W_in`, ...). */
  get blocks(): readonly TransformerLensBlock[] {
    this.#blocks ??= this.weights.blocks.map((w) =>
      new TransformerLensBlock(this.cfg, w, this.processing.folded && this.cfg.normalization === "RMS")
    );
    return this.#blocks;
  }
  /** The final norm's weights, or null where fold_ln folded them into W_U. */
  get ln_final(): TransformerLensNorm | null {
    return this.processing.folded ? null : transformerLensNorm(this.weights.lnFinal);
  }
  /** Query weights of every layer [n_layers, n_heads, d_model, d_head] (a copy). */
  get W_Q(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.W_Q));
  }
  /** Key weights of every layer [n_layers, n_heads, d_model, d_head] (a copy). */
  get W_K(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.W_K));
  }
  /** Value weights of every layer [n_layers, n_heads, d_model, d_head] (a copy). */
  get W_V(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.W_V));
  }
  /** Attention output weights of every layer [n_layers, n_heads, d_head, d_model] (a copy). */
  get W_O(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.W_O));
  }
  /** Query biases [n_layers, n_heads, d_head] (a copy). */
  get b_Q(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.b_Q));
  }
  /** Key biases [n_layers, n_heads, d_head] (a copy). */
  get b_K(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.b_K));
  }
  /** Value biases [n_layers, n_heads, d_head] (a copy). */
  get b_V(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.b_V));
  }
  /** Attention output biases [n_layers, d_model] (a copy). */
  get b_O(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.attn.b_O));
  }
  /** MLP input weights [n_layers, d_model, d_mlp] (a copy). */
  get W_in(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.mlp.W_in));
  }
  /** MLP input biases [n_layers, d_mlp] (a copy). */
  get b_in(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.mlp.b_in));
  }
  /** MLP output weights [n_layers, d_mlp, d_model] (a copy). */
  get W_out(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.mlp.W_out));
  }
  /** MLP output biases [n_layers, d_model] (a copy). */
  get b_out(): HostTensor {
    return stackLayers(this.blocks.map((b) => b.mlp.b_out));
  }

  /**
   * The residual-space vector that reads a token's logit off the final norm's output: W_U's column for the token, times
   * ln_final's weight where the model applies it, less the vocabulary's mean column where logits are centred. The
   * logit is this vector's dot product with `ln_final.hook_normalized` (before any weight) plus b_U; Gemma 2's final
   * soft cap comes after.
   *
   * @example
   * ```ts ignore
   * const u = model.logitDirection(model.toSingleToken(" Paris")); // [d_model]
   * ```
   *
   * @param token A token id.
   * @returns The vector [d_model].
   */
  logitDirection(token: number): Float64Array {
    const d = this.cfg.dModel;
    const row = this.weights.unembed.weight.rows([token]);
    const mean = this.processing.centredUnembed ? this.#unembedMean() : undefined;
    const w = this.weights.lnFinal?.w;
    return Float64Array.from({ length: d }, (_, j) => (row[j] - (mean ? mean[j] : 0)) * (w ? w[j] : 1));
  }

  /**
   * Every token's logit of a residual-space direction read as the final norm's output, [d_vocab]: the direction
   * through ln_final's weight (where the model applies it) and W_U, centred over the vocabulary where logits are.
   *
   * @example Which tokens a decoder row promotes
   * ```ts ignore
   * const logits = model.directionLogits(decoderRowInResidualSpace);
   * ```
   *
   * @param direction A vector [d_model].
   * @returns The logits [d_vocab].
   */
  directionLogits(direction: ArrayLike<number>): Float32Array {
    const { dModel: d, dVocab } = this.cfg;
    const w = this.weights.lnFinal?.w;
    const r = Float64Array.from({ length: d }, (_, j) => direction[j] * (w ? w[j] : 1));
    const out = new Float32Array(dVocab);
    let total = 0;
    this.#unembedRows((rows, first) => {
      for (let t = 0; t < rows.length / d; t++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += rows[t * d + j] * r[j];
        out[first + t] = s;
        total += s;
      }
    });
    if (this.processing.centredUnembed) { for (let t = 0; t < dVocab; t++) out[t] -= total / dVocab; }
    return out;
  }

  /** The unembedding's mean row over the vocabulary [d_model]. */
  #unembedMean(): Float64Array {
    if (this.#meanRow) return this.#meanRow;
    const d = this.cfg.dModel;
    const mean = new Float64Array(d);
    this.#unembedRows((rows) => {
      for (let i = 0; i < rows.length; i++) mean[i % d] += rows[i];
    });
    for (let j = 0; j < d; j++) mean[j] /= this.cfg.dVocab;
    return this.#meanRow = mean;
  }

  /** The unembedding's rows [token, d_model] in float32 chunks (a 16-bit one is never widened whole). */
  #unembedRows(visit: (rows: Float32Array, first: number) => void): void {
    const w = this.weights.unembed.weight, chunk = 4096;
    for (let first = 0; first < this.cfg.dVocab; first += chunk) {
      const ids = Array.from({ length: Math.min(chunk, this.cfg.dVocab - first) }, (_, i) => first + i);
      visit(w.rows(ids), first);
    }
  }

  /** An RMSNorm's weight where the model still applies it though it counts as folded (RMSPre). */
  #rmsFold(norm: { w: Float32Array } | null): Float32Array | undefined {
    return this.processing.folded && norm ? norm.w : undefined;
  }

  /**
   * Token ids of a text, BOS first where the model's rule puts it (TransformerLens `to_tokens`).
   *
   * @param text The text.
   * @param options `prependBos`.
   * @returns The ids.
   */
  toTokens(text: string, options: { prependBos?: boolean } = {}): number[] {
    return this.tokenizer.toTokens(text, options);
  }

  /**
   * Each token as a string (TransformerLens `to_str_tokens`).
   *
   * @param input Text or ids.
   * @param options `prependBos` for text.
   * @returns The strings.
   */
  toStrTokens(input: string | readonly number[], options: { prependBos?: boolean } = {}): string[] {
    return this.tokenizer.toStrTokens(input, options);
  }

  /**
   * The id of a one-token string (TransformerLens `to_single_token`).
   *
   * @param text E.g. `" Paris"`.
   * @returns Its id.
   */
  toSingleToken(text: string): number {
    return this.tokenizer.toSingleToken(text);
  }

  /**
   * Decodes ids (TransformerLens `to_string`).
   *
   * @param ids Token ids.
   * @returns The text.
   */
  toString(ids: readonly number[]): string {
    return this.tokenizer.toString(ids);
  }

  /**
   * Runs the model (TransformerLens `model(tokens, return_type=...)`).
   *
   * @param input Text or token ids.
   * @param options `returnType`, `lossPerToken`.
   * @returns Logits and/or loss.
   * @throws {RangeError} When the input is longer than n_ctx.
   */
  run<R extends ReturnType = "logits">(input: ModelInput, options: RunOptions<R> = {}): Promise<ModelOutput<R>> {
    return this.runWithHooks(input, { ...options, fwdHooks: [] });
  }

  /**
   * Runs the model with hook functions (TransformerLens `run_with_hooks`).
   *
   * @example Zero-ablate a hook
   * ```ts ignore
   * const { loss } = await model.runWithHooks(tokens, {
   *   returnType: "loss",
   *   fwdHooks: [["blocks.2.hook_resid_pre", (x) => { x.data.fill(0); }]],
   * });
   * ```
   *
   * @param input Text or token ids.
   * @param options `fwdHooks`, `returnType`, `lossPerToken`.
   * @returns Logits and/or loss.
   * @throws {RangeError} On an unknown hook name (with close matches) or an input longer than n_ctx.
   */
  async runWithHooks<R extends ReturnType = "logits">(
    input: ModelInput,
    options: RunWithHooksOptions<R>,
  ): Promise<ModelOutput<R>> {
    const { cache: _, ...out } = await this.runWithCache(input, { ...options, names: [] });
    return out as ModelOutput<R>;
  }

  /**
   * Runs the blocks up to a hook once and continues from there with the hook's clean value and with each
   * replacement of it (SAELens's spliced and zero-ablated evals): each position's next-token loss and its KL
   * divergence from the clean run come out of the graph, never as [rows, ctx, vocab] arrays.
   *
   * @example Zero-ablate a hook
   * ```ts ignore
   * const run = await model.runWithReplacements(tokens, "blocks.2.hook_resid_pre", (clean) => [
   *   { shape: clean.shape, data: new Float32Array(clean.data.length) },
   * ]);
   * console.log(run.losses[0][0], run.losses[1][0], run.kl[0][0]); // clean loss, zero-ablated loss, their KL
   * ```
   *
   * @param input Text or token rows of one length.
   * @param hookName The hook whose value is replaced.
   * @param replace The replacements, from a copy of the clean value.
   * @param options Whether the continuation keeps its run memory between calls.
   * @returns The clean value, per-position losses (clean first) and KL divergences.
   * @throws {RangeError} On an unknown hook name, an input longer than n_ctx or fewer than 2 tokens per row.
   */
  runWithReplacements(
    input: ModelInput,
    hookName: string,
    replace: (clean: HostTensor) => HostTensor[] | Promise<HostTensor[]>,
    options?: ReplacementRunOptions,
  ): Promise<ReplacementRun> {
    checkHookName(hookName, this.cfg);
    const batch = toBatch(this.#tokenize(input));
    if (batch.pos < 2) {
      throw new RangeError(`Cannot compute the loss as a row needs at least 2 tokens: current count is ${batch.pos}`);
    }
    return runWithReplacements(this.#forwarder, batch, hookName, replace, options);
  }

  /**
   * Runs the model and returns activations (TransformerLens `run_with_cache`): with `stopAtLayer`, the residual
   * entering that block instead of logits or loss.
   *
   * @example Cache a hook
   * ```ts ignore
   * const { logits, cache } = await model.runWithCache(tokens, { names: ["blocks.2.hook_resid_pre"] });
   * const { residual } = await model.runWithCache(tokens, { stopAtLayer: 2 });
   * ```
   *
   * @param input Text or token ids.
   * @param options `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   * @throws {RangeError} On an unknown hook name or a bad `stopAtLayer`, or when an output holds NaN or ±Inf.
   */
  runWithCache(input: ModelInput, options: RunWithCacheOptions & { stopAtLayer: number }): Promise<ResidualOutput>;
  /**
   * Runs the model and returns activations (TransformerLens `run_with_cache`): logits (the default) and/or loss as
   * `returnType` asks.
   *
   * @param input Text or token ids.
   * @param options `names`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCache<R extends ReturnType = "logits">(
    input: ModelInput,
    options?: RunWithCacheOptions<R> & { stopAtLayer?: undefined },
  ): Promise<CachedOutput<R>>;
  /**
   * Runs the model and returns activations (TransformerLens `run_with_cache`), options known only at run time.
   *
   * @param input Text or token ids.
   * @param options `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCache(input: ModelInput, options?: RunWithCacheOptions): Promise<CachedOutput>;
  async runWithCache(input: ModelInput, options: RunWithCacheOptions = {}): Promise<CachedOutput> {
    const { returnType = "logits", lossPerToken = false, stopAtLayer, fwdHooks = [] } = options;
    const batch = toBatch(this.#tokenize(input));
    const { nLayers } = this.cfg;
    if (stopAtLayer !== undefined && !(Number.isInteger(stopAtLayer) && stopAtLayer >= 0 && stopAtLayer <= nLayers)) {
      throw new RangeError(`stopAtLayer must be an integer in 0..${nLayers}: got ${stopAtLayer}`);
    }
    for (const name of options.names ?? []) {
      checkHookName(name, this.cfg);
      if (!hookReached(name, stopAtLayer, nLayers)) {
        throw new RangeError(
          `Cannot cache ${name} as stopAtLayer ${stopAtLayer} runs blocks 0..${
            stopAtLayer! - 1
          } only: raise stopAtLayer`,
        );
      }
    }
    const names = options.names ??
      [...this.#forwarder.graph(false).hookNode.keys()].filter((name) => hookReached(name, stopAtLayer, nLayers));
    const wantLogits = stopAtLayer === undefined && (returnType === "logits" || returnType === "both");
    const wantLoss = stopAtLayer === undefined && (returnType === "loss" || returnType === "both");
    if (wantLoss && batch.pos < 2) throw new RangeError("The loss needs at least 2 tokens per row");
    // Short of the last block the residual is read at blocks.{stopAtLayer}.hook_resid_pre, after its hooks.
    // returnType "none" still runs the whole model, as TransformerLens does (hooks see every block): to the logits,
    // as a graph with no output cannot be built.
    const outputs = stopAtLayer === undefined
      ? [...(wantLogits || !wantLoss ? [LOGITS] : []), ...(wantLoss ? [TOKEN_LOSS] : [])]
      : [
        stopAtLayer < nLayers
          ? `blocks.${stopAtLayer}.hook_resid_pre`
          : this.#forwarder.graph(false).stageOutputs[nLayers],
      ];
    const { env, cache } = await this.#forwarder.forward(batch, { names, stopAtLayer, fwdHooks, outputs });
    for (const [name, t] of cache) {
      // masked attention scores are -Inf by design
      if (!name.endsWith("attn.hook_attn_scores")) checkFiniteOutput(t.data, name);
    }
    const out: CachedOutput = { cache };
    if (stopAtLayer !== undefined) {
      out.residual = this.#forwarder.host(env.get(outputs[0])!);
      checkFiniteOutput(out.residual.data, `blocks.${stopAtLayer}.hook_resid_pre`);
    }
    if (wantLogits) {
      out.logits = this.#forwarder.host(env.get(LOGITS)!);
      checkFiniteOutput(out.logits.data, "logits");
    }
    if (wantLoss) {
      // drop each row's last position: it has no next token
      const all = env.get(TOKEN_LOSS)!.data as Float32Array;
      const perToken = new Float32Array(batch.batch * (batch.pos - 1));
      let sum = 0;
      for (let b = 0; b < batch.batch; b++) {
        for (let p = 0; p < batch.pos - 1; p++) {
          perToken[b * (batch.pos - 1) + p] = all[b * batch.pos + p];
          sum += all[b * batch.pos + p];
        }
      }
      checkFiniteOutput(perToken, "losses");
      out.loss = sum / perToken.length;
      if (lossPerToken) out.lossPerToken = { shape: [batch.batch, batch.pos - 1], data: perToken };
    }
    return out;
  }

  /**
   * Generates tokens (TransformerLens `generate`), greedy or sampled, hooks active on every step, with a key/value
   * cache by default (rotary positions and sliding windows follow the cached length).
   *
   * @example Greedy
   * ```ts ignore
   * const { text } = await model.generate("The nation", { maxNewTokens: 5, doSample: false });
   * ```
   *
   * @param input A prompt (text gets BOS where the model's rule puts it) or token ids.
   * @param options Length, sampling, hooks, KV cache.
   * @returns Tokens and text.
   * @throws {RangeError} When prompt plus new tokens exceed n_ctx.
   */
  generate(input: ModelInput, options: GenerateOptions = {}): Promise<GenerateOutput> {
    return generateTokens(
      this.#forwarder,
      this.cfg,
      toBatch(this.#tokenize(input)),
      options,
      (ids) => this.toString(ids),
    );
  }

  /** Releases every ONNX session. */
  async dispose(): Promise<void> {
    await this.#forwarder.dispose();
  }

  #tokenize(input: ModelInput): readonly number[] | readonly (readonly number[])[] {
    if (typeof input === "string") return this.toTokens(input);
    if (!Array.isArray(input)) {
      throw new TypeError(
        `Cannot run the model on ${
          String(input)
        }: expected a text, a list of texts, a row of token ids or rows of them`,
      );
    }
    if (input.length > 0 && typeof input[0] === "string") {
      return (input as readonly string[]).map((t) => this.toTokens(t));
    }
    return input as readonly number[] | readonly (readonly number[])[];
  }
}
