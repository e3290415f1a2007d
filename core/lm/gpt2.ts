/**
 * GPT-2 run through ONNX Runtime with TransformerLens's hook points: `run`, `runWithCache`,
 * `runWithHooks` and `generate`. The forward is one ONNX graph cut after chosen hooks into segments;
 * JavaScript hook functions run between segments and the rest of the forward continues from what they
 * return. Segments also break at every block boundary, so `stopAtLayer` runs only the blocks it needs
 * and no single ONNX model outgrows protobuf's 2 GB limit (GPT-2 XL included).
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import { LOGITS, TOKEN_LOSS } from "./_gpt2_graph.ts";
import { Gpt2Forward, toBatch } from "./_gpt2_forward.ts";
import { type Gpt2Config, type HookedGpt2Config, withTransformerLensNames } from "./gpt2_config.ts";
import { type Gpt2Weights, readGpt2Checkpoint } from "./gpt2_weights.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { resolveModelDir } from "./model_source.ts";
import { checkHookName, hookReached } from "./hook_points.ts";
import {
  stackLayers,
  TransformerLensBlock,
  type TransformerLensLayerNorm,
  transformerLensLayerNorm,
} from "./transformer_lens_weights.ts";
import { processWeights, type WeightProcessing } from "./process_weights.ts";
import { generateTokens } from "./generation.ts";
import { type ReplacementRun, runWithReplacements } from "./replacement_run.ts";
import { Gpt2Tokenizer } from "./tokenizer.ts";
import { type Backend, loadOrt, type Ort } from "./ort_backend.ts";
import type {
  CachedOutput,
  GenerateOptions,
  GenerateOutput,
  ModelInput,
  ModelOutput,
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
} from "./run_options.ts";

/** Options of {@linkcode HookedGpt2.load}. */
export interface LoadOptions {
  /**
   * TransformerLens weight processing; `false` is `from_pretrained_no_processing`.
   * @default {{}} (fold_ln, center_writing_weights, center_unembed, fold_value_biases)
   */
  processing?: WeightProcessing | false;
  /**
   * ONNX Runtime backend; `"auto"` uses onnxruntime-node where it loads (`--allow-ffi`) and
   * onnxruntime-web (WebAssembly, all cores) otherwise.
   * @default {"auto"}
   */
  backend?: Backend | "auto";
  /** Most ONNX sessions kept alive; older ones are released. @default {64} */
  maxSessions?: number;
  /** Hub settings, when the model is named by id. */
  hub?: HubOptions;
}

/**
 * GPT-2 with TransformerLens's hook points, weight processing and generation. TransformerLens's names
 * work alongside the camelCase ones: `cfg.d_model`, `cfg.n_layers`, ... and the weights as run,
 * `W_E` [d_vocab, d_model], `W_pos` [n_ctx, d_model], `W_U` [d_model, d_vocab], `b_U`, per block
 * `blocks[l].attn.W_Q` [n_heads, d_model, d_head], ..., `blocks[l].mlp.W_in` [d_model, d_mlp], ..., and
 * stacked over layers, `W_Q` [n_layers, n_heads, d_model, d_head], ..., `b_out` [n_layers, d_model].
 *
 * @example TransformerLens names
 * ```ts ignore
 * console.log(model.cfg.d_model, model.W_U.shape, model.blocks[0].attn.W_O.shape); // 128 [128, 50257] [4, 32, 128]
 * ```
 *
 * @example Cache the residual stream an SAE reads
 * ```ts ignore
 * import { HookedGpt2 } from "./gpt2.ts";
 * const model = await HookedGpt2.load("../shared/fixtures/gpt2-sotu-tiny");
 * const { cache } = await model.runWithCache("Hello world", { names: ["blocks.2.hook_resid_pre"], stopAtLayer: 3 });
 * console.log(cache.get("blocks.2.hook_resid_pre")!.shape); // [1, 3, 128]
 * ```
 */ export class HookedGpt2 {
  /** Hyperparameters, under camelCase and TransformerLens's snake_case names. */
  readonly cfg: HookedGpt2Config;
  /** Weights as run (processed unless loaded without processing). */
  readonly weights: Gpt2Weights;
  /** The tokenizer. */
  readonly tokenizer: Gpt2Tokenizer;
  /** The ONNX Runtime backend in use. */
  readonly backend: Backend;
  readonly #forwarder: Gpt2Forward;
  #blocks: TransformerLensBlock[] | undefined;

  private constructor(
    cfg: Gpt2Config,
    weights: Gpt2Weights,
    tokenizer: Gpt2Tokenizer,
    ort: { ort: Ort; backend: Backend },
    maxSessions: number,
  ) {
    this.cfg = withTransformerLensNames(cfg);
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.backend = ort.backend;
    this.#forwarder = new Gpt2Forward(this.cfg, weights, ort, maxSessions);
  }

  /**
   * Loads a Hugging Face GPT-2 (config.json, model.safetensors and a tokenizer) from a folder or the Hub
   * (`gpt2`, `gpt2-small`, `openai-community/gpt2-medium`, ...) and processes its weights as
   * TransformerLens's `from_pretrained` does.
   *
   * @param source A model folder, alias or Hub repo id.
   * @param options Processing and backend.
   * @returns The model.
   * @throws {Deno.errors.NotFound} When a file is missing.
   * @throws {TypeError} When config and weights disagree.
   * @throws {HubError} When a download fails.
   */
  static async load(source: string, options: LoadOptions = {}): Promise<HookedGpt2> {
    const dir = await resolveModelDir(source, options.hub);
    const { config, weights } = await readGpt2Checkpoint(dir);
    const tokenizer = await Gpt2Tokenizer.load(dir);
    return HookedGpt2.fromWeights(config, weights, tokenizer, options);
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
    config: Gpt2Config,
    weights: Gpt2Weights,
    tokenizer: Gpt2Tokenizer,
    options: LoadOptions = {},
  ): Promise<HookedGpt2> {
    const { processing = {}, backend = "auto", maxSessions = 64 } = options;
    if (processing !== false) processWeights(weights, config, processing);
    return new HookedGpt2(config, weights, tokenizer, await loadOrt(backend), maxSessions);
  }

  /** Token embedding [d_vocab, d_model] (TransformerLens `W_E`; shares memory with `weights.W_E`). */
  get W_E(): HostTensor {
    return { shape: [this.cfg.dVocab, this.cfg.dModel], data: this.weights.W_E };
  }
  /** Position embedding [n_ctx, d_model] (TransformerLens `W_pos`). */
  get W_pos(): HostTensor {
    return { shape: [this.cfg.nCtx, this.cfg.dModel], data: this.weights.W_pos };
  }
  /** Unembedding [d_model, d_vocab] (TransformerLens `W_U`; centred by center_unembed). */
  get W_U(): HostTensor {
    return { shape: [this.cfg.dModel, this.cfg.dVocab], data: this.weights.W_U };
  }
  /** Unembedding bias [d_vocab] (TransformerLens `b_U`). */
  get b_U(): HostTensor {
    return { shape: [this.cfg.dVocab], data: this.weights.b_U };
  }
  /** Each block's weights under TransformerLens's names (`blocks[l].attn.W_Q`, `blocks[l].mlp.W_in`, ...). */
  get blocks(): readonly TransformerLensBlock[] {
    this.#blocks ??= this.weights.blocks.map((w) => new TransformerLensBlock(this.cfg, w));
    return this.#blocks;
  }
  /** The final layer norm's scale and shift, or null where fold_ln folded them into W_U. */
  get ln_final(): TransformerLensLayerNorm | null {
    return transformerLensLayerNorm(this.weights.lnFinal, this.cfg.dModel);
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
   * Token ids of a text, BOS first by default (TransformerLens `to_tokens`).
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
   * @throws {RangeError} When the input is longer than n_positions.
   */
  run(input: ModelInput, options: RunOptions = {}): Promise<ModelOutput> {
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
   * @throws {RangeError} On an unknown hook name (with close matches) or an input longer than n_positions.
   */
  async runWithHooks(input: ModelInput, options: RunWithHooksOptions): Promise<ModelOutput> {
    const { cache: _, ...out } = await this.runWithCache(input, { ...options, names: [] });
    return out;
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
   * @returns The clean value, per-position losses (clean first) and KL divergences.
   * @throws {RangeError} On an unknown hook name, an input longer than n_positions or fewer than 2 tokens per row.
   */
  runWithReplacements(
    input: ModelInput,
    hookName: string,
    replace: (clean: HostTensor) => HostTensor[] | Promise<HostTensor[]>,
  ): Promise<ReplacementRun> {
    checkHookName(hookName, this.cfg.nLayers);
    const batch = toBatch(this.#tokenize(input));
    if (batch.pos < 2) {
      throw new RangeError(`Cannot compute the loss as a row needs at least 2 tokens: current count is ${batch.pos}`);
    }
    return runWithReplacements(this.#forwarder, batch, hookName, replace);
  }

  /**
   * Runs the model and returns activations (TransformerLens `run_with_cache`).
   *
   * @param input Text or token ids.
   * @param options `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   * @throws {RangeError} On an unknown hook name or a bad `stopAtLayer`.
   */
  async runWithCache(input: ModelInput, options: RunWithCacheOptions = {}): Promise<CachedOutput> {
    const { returnType = "logits", lossPerToken = false, stopAtLayer, fwdHooks = [] } = options;
    const batch = toBatch(this.#tokenize(input));
    const { nLayers } = this.cfg;
    if (stopAtLayer !== undefined && !(Number.isInteger(stopAtLayer) && stopAtLayer >= 0 && stopAtLayer <= nLayers)) {
      throw new RangeError(`stopAtLayer must be an integer in 0..${nLayers}: got ${stopAtLayer}`);
    }
    for (const name of options.names ?? []) {
      checkHookName(name, nLayers);
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
    const outputs = stopAtLayer === undefined ? [...(wantLogits ? [LOGITS] : []), ...(wantLoss ? [TOKEN_LOSS] : [])] : [
      stopAtLayer < nLayers
        ? `blocks.${stopAtLayer}.hook_resid_pre`
        : this.#forwarder.graph(false).stageOutputs[nLayers],
    ];
    const { env, cache } = await this.#forwarder.forward(batch, { names, stopAtLayer, fwdHooks, outputs });
    const out: CachedOutput = { cache };
    if (stopAtLayer !== undefined) out.residual = this.#forwarder.host(env.get(outputs[0])!);
    if (wantLogits) out.logits = this.#forwarder.host(env.get(LOGITS)!);
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
      out.loss = sum / perToken.length;
      if (lossPerToken) out.lossPerToken = { shape: [batch.batch, batch.pos - 1], data: perToken };
    }
    return out;
  }

  /**
   * Generates tokens (TransformerLens `generate`), greedy or sampled, hooks active on every step.
   *
   * @example Greedy
   * ```ts ignore
   * const { text } = await model.generate("The nation", { maxNewTokens: 5, doSample: false });
   * ```
   *
   * @param input A prompt (text gets BOS) or token ids.
   * @param options Length, sampling, hooks, KV cache.
   * @returns Tokens and text.
   * @throws {RangeError} When prompt plus new tokens exceed n_positions.
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
    if (input.length > 0 && typeof input[0] === "string") {
      return (input as readonly string[]).map((t) => this.toTokens(t));
    }
    return input as readonly number[] | readonly (readonly number[])[];
  }
}
