/**
 * GPT-2 run through ONNX Runtime with TransformerLens's hook points: `run`, `runWithCache`,
 * `runWithHooks` and `generate`. The forward is one ONNX graph cut after chosen hooks into segments;
 * JavaScript hook functions run between segments and the rest of the forward continues from what they
 * return. Segments also break at every block boundary, so `stopAtLayer` runs only the blocks it needs
 * and no single ONNX model outgrows protobuf's 2 GB limit (GPT-2 XL included).
 *
 * @module
 */

// onnxruntime is named by full npm specifier, not through deno.json's import map: `deno task bundle` keeps
// it external and the bundle must resolve it without deno.json.
// deno-lint-ignore no-import-prefix
import type * as OrtTypes from "npm:onnxruntime-web@1.30.0";
import type { HostTensor } from "../gpu/tensor.ts";
import { encodeOnnxModel } from "../util/onnx_proto.ts";
import {
  buildGpt2Graph,
  type Gpt2Graph,
  LOGITS,
  MASK,
  pastKey,
  pastValue,
  POSITIONS,
  presentKey,
  presentValue,
  segment,
  segmentInputs,
  TARGETS,
  TOKEN_LOSS,
  TOKENS,
} from "./_gpt2_graph.ts";
import { type Gpt2Config, type HookedGpt2Config, withTransformerLensNames } from "./gpt2_config.ts";
import { type Gpt2Weights, readGpt2Checkpoint } from "./gpt2_weights.ts";
import type { HubOptions } from "../hub/hf_hub.ts";
import { resolveModelDir } from "./model_source.ts";
import { checkHookName, hookReached } from "./hook_points.ts";
import {
  stackLayers,
  TransformerLensBlock,
  type TransformerLensLayerNorm,
  transformerLensLayerNorm,
} from "./transformer_lens_weights.ts";
import { processWeights, type WeightProcessing } from "./process_weights.ts";
import { sampleToken, type SamplingOptions } from "./sampling.ts";
import { mulberry32 } from "../util/mulberry32.ts";
import { Gpt2Tokenizer } from "./tokenizer.ts";

type Ort = typeof OrtTypes;
type OrtTensor = OrtTypes.Tensor;

/** Where ONNX Runtime runs: native (onnxruntime-node), WebAssembly, or WebGPU (onnxruntime-web). */
export type Backend = "node" | "web" | "webgpu";

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

/** Token ids: one sequence or a batch of equal-length sequences, or text (tokenized with BOS). */
export type ModelInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[];

/** Where a hook fires. */
export interface HookContext {
  /** The hook name, e.g. `blocks.2.hook_resid_pre`. */
  name: string;
  /** Absolute position of each position of the activation (with a KV cache, only the new ones). */
  positions: readonly number[];
}

/**
 * A forward hook: reads the activation and returns its replacement, or mutates it in place and returns
 * nothing (TransformerLens semantics).
 */
export type HookFn = (
  activation: HostTensor,
  hook: HookContext,
) => HostTensor | void | Promise<HostTensor | void>;

/**
 * Runs hook functions on an activation in order, as every run method does: each edits it in place or
 * returns a same-shaped replacement that the next one receives.
 *
 * @example
 * ```ts
 * import { applyHookFns } from "./gpt2.ts";
 * const act = { shape: [1, 2], data: Float32Array.of(1, 2) };
 * const out = await applyHookFns([(x) => void x.data.fill(3)], act, { name: "hook_embed", positions: [0] });
 * console.log([...out.data]); // [3, 3]
 * ```
 *
 * @param fns The hooks.
 * @param activation The activation, handed to the first hook.
 * @param hook Where they fire.
 * @returns The last hook's result.
 * @throws {TypeError} When a hook returns another shape.
 */
export async function applyHookFns(
  fns: readonly HookFn[],
  activation: HostTensor,
  hook: HookContext,
): Promise<HostTensor> {
  let act = activation;
  for (const fn of fns) {
    const replaced = await fn(act, hook);
    if (replaced) {
      if (replaced.shape.join() !== act.shape.join() || replaced.data.length !== act.data.length) {
        throw new TypeError(
          `The hook on ${hook.name} returned shape [${replaced.shape}]: expected [${act.shape}] (hooks may not change shapes)`,
        );
      }
      act = replaced;
    }
  }
  return act;
}

/** What a forward returns (TransformerLens `return_type`). */
export type ReturnType = "logits" | "loss" | "both" | "none";

/** Options shared by the run methods. */
export interface RunOptions {
  /** What to compute. @default {"logits"} */
  returnType?: ReturnType;
  /** Also return the loss of each position ([batch, pos − 1]) when computing the loss. @default {false} */
  lossPerToken?: boolean;
}

/** Options of {@linkcode HookedGpt2.runWithHooks}. */
export interface RunWithHooksOptions extends RunOptions {
  /** `[hookName, fn]` pairs, applied in order. */
  fwdHooks: readonly (readonly [string, HookFn])[];
}

/** Options of {@linkcode HookedGpt2.runWithCache}. */
export interface RunWithCacheOptions extends RunOptions {
  /** Hooks to cache. @default every hook point */
  names?: readonly string[];
  /**
   * Run blocks 0 … stopAtLayer − 1 only and return the residual stream entering block `stopAtLayer`.
   * Hooks of later blocks are not reached: naming one in `names` throws. `blocks.{stopAtLayer}.hook_resid_pre`
   * is that residual, so it is reached and cached (TransformerLens would stop before it).
   */
  stopAtLayer?: number;
  /** Hooks active during the run. @default {[]} */
  fwdHooks?: readonly (readonly [string, HookFn])[];
}

/** A forward's results. */
export interface ModelOutput {
  /** [batch, pos, d_vocab], when `returnType` is "logits" or "both". */
  logits?: HostTensor;
  /** Mean next-token cross-entropy over every position of every row. */
  loss?: number;
  /** [batch, pos − 1] per-position losses, with `lossPerToken`. */
  lossPerToken?: HostTensor;
  /** With `stopAtLayer`: the residual stream [batch, pos, d_model] entering that block. */
  residual?: HostTensor;
}

/** {@linkcode ModelOutput} plus the cached activations. */
export interface CachedOutput extends ModelOutput {
  /** Activations by hook name. */
  cache: Map<string, HostTensor>;
}

/** Options of {@linkcode HookedGpt2.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to add. @default {10} */
  maxNewTokens?: number;
  /** Stop a sequence at `<|endoftext|>` (finished rows are padded with it). @default {true} */
  stopAtEos?: boolean;
  /** Reuse keys and values of earlier positions so each step runs one position. @default {true} */
  useKvCache?: boolean;
  /** Hooks active on every step. @default {[]} */
  fwdHooks?: readonly (readonly [string, HookFn])[];
  /** Called after each step with the new token of each row. */
  onToken?: (tokens: number[]) => void;
}

/** What {@linkcode HookedGpt2.generate} returns. */
export interface GenerateOutput {
  /** Prompt and new tokens of each row. */
  tokens: number[][];
  /** Each row decoded (prompt included, as TransformerLens returns it). */
  text: string[];
}

interface Batch {
  batch: number;
  pos: number;
  ids: BigInt64Array;
  rows: number[][];
}

interface Segment {
  start: number;
  end: number;
  inputs: string[];
  outputs: string[];
  /** The hook whose functions run after this segment, if any. */
  hook?: string;
}

type KvCache = { keys: OrtTensor[]; values: OrtTensor[]; length: number };

async function loadOrt(backend: Backend | "auto"): Promise<{ ort: Ort; backend: Backend }> {
  if (backend === "node" || backend === "auto") {
    const ffi = await Deno.permissions.query({ name: "ffi" });
    if (ffi.state === "granted") {
      try {
        // deno-lint-ignore no-import-prefix
        return { ort: await import("npm:onnxruntime-node@1.30.0") as unknown as Ort, backend: "node" };
      } catch (e) {
        if (backend === "node") throw new Error(`onnxruntime-node did not load: ${(e as Error).message}`);
      }
    } else if (backend === "node") {
      throw new Error("The node backend needs --allow-ffi (onnxruntime-node is a native addon)");
    }
  }
  if (backend === "webgpu") {
    // deno-lint-ignore no-import-prefix
    const ort = await import("npm:onnxruntime-web@1.30.0/webgpu") as unknown as Ort;
    return { ort, backend };
  }
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-web@1.30.0") as unknown as Ort;
  ort.env.wasm.numThreads = navigator.hardwareConcurrency;
  return { ort, backend: "web" };
}

function toBatch(input: readonly number[] | readonly (readonly number[])[]): Batch {
  const rows = (input.length > 0 && Array.isArray(input[0]) ? input : [input]) as readonly (readonly number[])[];
  const pos = rows[0]?.length ?? 0;
  if (rows.length === 0 || pos === 0) throw new RangeError("Cannot run the model on an empty input");
  for (const r of rows) {
    if (r.length !== pos) throw new RangeError(`Every row must have ${pos} tokens: got a row of ${r.length}`);
  }
  return { batch: rows.length, pos, ids: BigInt64Array.from(rows.flat(), BigInt), rows: rows.map((r) => [...r]) };
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
 */
export class HookedGpt2 {
  /** Hyperparameters, under camelCase and TransformerLens's snake_case names. */
  readonly cfg: HookedGpt2Config;
  /** Weights as run (processed unless loaded without processing). */
  readonly weights: Gpt2Weights;
  /** The tokenizer. */
  readonly tokenizer: Gpt2Tokenizer;
  /** The ONNX Runtime backend in use. */
  readonly backend: Backend;
  readonly #ort: Ort;
  readonly #graphs = new Map<boolean, Gpt2Graph>();
  readonly #sessions = new Map<string, Promise<OrtTypes.InferenceSession>>();
  readonly #maxSessions: number;
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
    this.#ort = ort.ort;
    this.backend = ort.backend;
    this.#maxSessions = maxSessions;
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
      [...this.#graph(false).hookNode.keys()].filter((name) => hookReached(name, stopAtLayer, nLayers));
    const wantLogits = stopAtLayer === undefined && (returnType === "logits" || returnType === "both");
    const wantLoss = stopAtLayer === undefined && (returnType === "loss" || returnType === "both");
    if (wantLoss && batch.pos < 2) throw new RangeError("The loss needs at least 2 tokens per row");
    // Short of the last block the residual is read at blocks.{stopAtLayer}.hook_resid_pre, after its hooks.
    const outputs = stopAtLayer === undefined
      ? [...(wantLogits ? [LOGITS] : []), ...(wantLoss ? [TOKEN_LOSS] : [])]
      : [stopAtLayer < nLayers ? `blocks.${stopAtLayer}.hook_resid_pre` : this.#graph(false).stageOutputs[nLayers]];
    const { env, cache } = await this.#forward(batch, { names, stopAtLayer, fwdHooks, outputs });
    const out: CachedOutput = { cache };
    if (stopAtLayer !== undefined) out.residual = this.#host(env.get(outputs[0])!);
    if (wantLogits) out.logits = this.#host(env.get(LOGITS)!);
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
  async generate(input: ModelInput, options: GenerateOptions = {}): Promise<GenerateOutput> {
    const { maxNewTokens = 10, stopAtEos = true, useKvCache = true, fwdHooks = [], onToken } = options;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new RangeError(`maxNewTokens must be a non-negative integer: got ${maxNewTokens}`);
    }
    const batch = toBatch(this.#tokenize(input));
    if (batch.pos + maxNewTokens > this.cfg.nCtx) {
      throw new RangeError(
        `Cannot generate ${maxNewTokens} tokens after ${batch.pos}: the model's n_positions is ${this.cfg.nCtx}`,
      );
    }
    const rng = mulberry32(options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]);
    const rows = batch.rows; // toBatch's own copies, extended in place
    const finished = rows.map(() => false);
    const eos = this.cfg.eosTokenId;
    let kv: KvCache | undefined = useKvCache ? this.#emptyKv(batch.batch) : undefined;
    for (let step = 0; step < maxNewTokens; step++) {
      const start = kv && step > 0 ? rows[0].length - 1 : 0;
      const stepBatch = toBatch(rows.map((r) => r.slice(start)));
      const { env } = await this.#forward(stepBatch, { names: [], fwdHooks, kv, outputs: [LOGITS] });
      const logits = env.get(LOGITS)!.data as Float32Array;
      if (kv) kv = this.#nextKv(env, kv.length + stepBatch.pos);
      const vocab = this.cfg.dVocab;
      const next = finished.map((done, b) => {
        if (done) return eos;
        const offset = (b * stepBatch.pos + stepBatch.pos - 1) * vocab;
        const token = sampleToken(logits.subarray(offset, offset + vocab), options, rng);
        if (stopAtEos && token === eos) finished[b] = true;
        return token;
      });
      next.forEach((t, b) => rows[b].push(t));
      onToken?.(next);
      if (stopAtEos && finished.every(Boolean)) break;
    }
    return { tokens: rows, text: rows.map((r) => this.toString(r)) };
  }

  /** Releases every ONNX session. */
  async dispose(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) await (await s).release();
  }

  #tokenize(input: ModelInput): readonly number[] | readonly (readonly number[])[] {
    if (typeof input === "string") return this.toTokens(input);
    if (input.length > 0 && typeof input[0] === "string") {
      return (input as readonly string[]).map((t) => this.toTokens(t));
    }
    return input as readonly number[] | readonly (readonly number[])[];
  }

  #graph(kvCache: boolean): Gpt2Graph {
    let g = this.#graphs.get(kvCache);
    if (!g) {
      g = buildGpt2Graph(this.cfg, this.weights, kvCache);
      this.#graphs.set(kvCache, g);
    }
    return g;
  }

  #host(t: OrtTensor): HostTensor {
    return { shape: [...t.dims], data: t.data as Float32Array };
  }

  #emptyKv(batch: number): KvCache {
    const { nLayers, nHeads, dHead } = this.cfg;
    const empty = () => new this.#ort.Tensor("float32", new Float32Array(0), [batch, 0, nHeads, dHead]);
    return { keys: Array.from({ length: nLayers }, empty), values: Array.from({ length: nLayers }, empty), length: 0 };
  }

  #nextKv(env: Map<string, OrtTensor>, length: number): KvCache {
    const layers = Array.from({ length: this.cfg.nLayers }, (_, l) => l);
    return {
      keys: layers.map((l) => env.get(presentKey(l))!),
      values: layers.map((l) => env.get(presentValue(l))!),
      length,
    };
  }

  /** The segments of one forward: cut after each hooked node and at every stage end. */
  #plan(graph: Gpt2Graph, hooked: readonly string[], names: readonly string[], end: number): Segment[] {
    const cuts = new Set(graph.stageEnds.filter((e) => e <= end));
    cuts.add(end);
    const hookAt = new Map<number, string>();
    for (const name of hooked) {
      const after = graph.hookNode.get(name)! + 1;
      if (after <= end) {
        cuts.add(after);
        hookAt.set(after, name);
      }
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const wanted = new Set([...names, ...hooked]);
    if (graph.kvCache) {
      for (let l = 0; l < this.cfg.nLayers; l++) wanted.add(presentKey(l)).add(presentValue(l));
    }
    const segments: Segment[] = [];
    let start = 0;
    for (const stop of bounds) {
      if (stop === start) continue;
      segments.push({
        start,
        end: stop,
        inputs: segmentInputs(graph, start, stop),
        outputs: [],
        hook: hookAt.get(stop),
      });
      start = stop;
    }
    // A segment outputs what later segments read and what the caller wants, if it produces it.
    for (let i = 0; i < segments.length; i++) {
      const later = new Set(segments.slice(i + 1).flatMap((s) => s.inputs));
      const produced = graph.nodes.slice(segments[i].start, segments[i].end).flatMap((n) => n.outputs);
      segments[i].outputs = produced.filter((n) => later.has(n) || wanted.has(n));
    }
    return segments;
  }

  #session(graph: Gpt2Graph, seg: Segment): Promise<OrtTypes.InferenceSession> {
    const key = `${graph.kvCache}:${seg.start}:${seg.end}:${seg.outputs.join(",")}`;
    let session = this.#sessions.get(key);
    if (session) {
      this.#sessions.delete(key); // re-insert: most recently used last
    } else {
      const bytes = encodeOnnxModel(segment(graph, seg.start, seg.end, seg.outputs));
      const providers = this.backend === "webgpu" ? ["webgpu"] : ["cpu"];
      session = this.#ort.InferenceSession.create(bytes, { executionProviders: providers });
      while (this.#sessions.size >= this.#maxSessions) {
        const [oldest, old] = this.#sessions.entries().next().value!;
        this.#sessions.delete(oldest);
        old.then((s) => s.release());
      }
    }
    this.#sessions.set(key, session);
    return session;
  }

  async #forward(
    batch: Batch,
    opts: {
      names: readonly string[];
      fwdHooks: readonly (readonly [string, HookFn])[];
      outputs: readonly string[];
      stopAtLayer?: number;
      kv?: KvCache;
    },
  ): Promise<{ env: Map<string, OrtTensor>; cache: Map<string, HostTensor> }> {
    const { names, fwdHooks, outputs, stopAtLayer, kv } = opts;
    const past = kv?.length ?? 0;
    if (past + batch.pos > this.cfg.nCtx) {
      throw new RangeError(
        `The input has ${past + batch.pos} positions: the model's n_positions is ${this.cfg.nCtx} (truncate the text)`,
      );
    }
    const hooks = new Map<string, HookFn[]>();
    for (const [name, fn] of fwdHooks) {
      checkHookName(name, this.cfg.nLayers);
      hooks.set(name, [...hooks.get(name) ?? [], fn]);
    }
    const graph = this.#graph(kv !== undefined);
    const end = stopAtLayer === undefined
      ? graph.nodes.length
      : stopAtLayer < this.cfg.nLayers
      ? graph.hookNode.get(`blocks.${stopAtLayer}.hook_resid_pre`)! + 1
      : graph.stageEnds[stopAtLayer];
    const segments = this.#plan(graph, [...hooks.keys()], [...names, ...outputs], end);

    const ort = this.#ort;
    const positions = Array.from({ length: batch.pos }, (_, i) => past + i);
    const total = past + batch.pos;
    const mask = new Uint8Array(batch.pos * total);
    for (let q = 0; q < batch.pos; q++) mask.fill(1, q * total, q * total + past + q + 1);
    const targets = new BigInt64Array(batch.ids.length);
    targets.set(batch.ids.subarray(1));
    const env = new Map<string, OrtTensor>([
      [TOKENS, new ort.Tensor("int64", batch.ids, [batch.batch, batch.pos])],
      [POSITIONS, new ort.Tensor("int64", BigInt64Array.from(positions, BigInt), [batch.pos])],
      [MASK, new ort.Tensor("bool", mask, [batch.pos, total])],
      [TARGETS, new ort.Tensor("int64", targets, [batch.batch, batch.pos])],
    ]);
    kv?.keys.forEach((t, l) => env.set(pastKey(l), t));
    kv?.values.forEach((t, l) => env.set(pastValue(l), t));

    for (const seg of segments) {
      const session = await this.#session(graph, seg);
      const feeds: Record<string, OrtTensor> = {};
      for (const name of seg.inputs) feeds[name] = env.get(name)!;
      const results = await session.run(feeds, seg.outputs);
      for (const name of seg.outputs) env.set(name, results[name]);
      if (seg.hook) {
        env.set(seg.hook, await this.#applyHooks(seg.hook, hooks.get(seg.hook)!, env.get(seg.hook)!, positions));
      }
    }
    const cache = new Map<string, HostTensor>();
    for (const name of names) {
      const t = env.get(name);
      if (t) cache.set(name, this.#host(t));
    }
    return { env, cache };
  }

  async #applyHooks(name: string, fns: HookFn[], tensor: OrtTensor, positions: number[]): Promise<OrtTensor> {
    const copy: HostTensor = { shape: [...tensor.dims], data: new Float32Array(tensor.data as Float32Array) };
    const act = await applyHookFns(fns, copy, { name, positions });
    return new this.#ort.Tensor("float32", act.data, [...act.shape]);
  }
}
