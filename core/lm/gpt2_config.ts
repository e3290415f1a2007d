/**
 * GPT-2 hyperparameters, read from a Hugging Face `config.json`.
 *
 * @module
 */

/** GPT-2 shape and numerics, with TransformerLens's names. */
export interface Gpt2Config {
  /** Number of transformer blocks (`n_layer`). */
  nLayers: number;
  /** Attention heads per block (`n_head`). */
  nHeads: number;
  /** Residual stream width (`n_embd`). */
  dModel: number;
  /** Width of one head: dModel / nHeads. */
  dHead: number;
  /** MLP hidden width (`n_inner`, default 4 × dModel). */
  dMlp: number;
  /** Longest context (`n_positions`). */
  nCtx: number;
  /** Vocabulary size (`vocab_size`). */
  dVocab: number;
  /** Layer-norm epsilon (`layer_norm_epsilon`). */
  eps: number;
  /** MLP activation (`activation_function`). */
  actFn: Gpt2Activation;
  /** Beginning/end-of-sequence token id (`bos_token_id`, `eos_token_id`). */
  bosTokenId: number;
  /** End-of-sequence token id. */
  eosTokenId: number;
}

/** MLP activations GPT-2 checkpoints use. */
export type Gpt2Activation = "gelu_new" | "gelu" | "relu";

const ACTIVATIONS: Record<string, Gpt2Activation> = {
  gelu_new: "gelu_new",
  gelu_pytorch_tanh: "gelu_new",
  gelu_fast: "gelu_new",
  gelu: "gelu",
  relu: "relu",
};

/**
 * Validates a parsed Hugging Face GPT-2 `config.json`.
 *
 * @example Parse
 * ```ts
 * import { parseGpt2Config } from "./gpt2_config.ts";
 * const cfg = parseGpt2Config({ n_layer: 2, n_head: 4, n_embd: 64, n_positions: 32, vocab_size: 100 }, "config.json");
 * console.log(cfg.dHead); // 16
 * ```
 *
 * @param json The parsed file.
 * @param path The file, for error messages.
 * @returns The configuration.
 * @throws {TypeError} When a field is missing or invalid.
 */
export function parseGpt2Config(json: unknown, path: string): Gpt2Config {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`${path} must hold a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  if (raw.model_type !== undefined && raw.model_type !== "gpt2") {
    throw new TypeError(`${path} has model_type "${raw.model_type}": expected "gpt2"`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] === undefined ? fallback : raw[key]; // null is refused, not defaulted
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new TypeError(`${path} field ${key} must be a positive integer: got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const nLayers = int("n_layer");
  const nHeads = int("n_head");
  const dModel = int("n_embd");
  if (dModel % nHeads !== 0) {
    throw new TypeError(`${path} field n_embd (${dModel}) must be a multiple of n_head (${nHeads})`);
  }
  const act = raw.activation_function ?? "gelu_new";
  const actFn = typeof act === "string" && Object.hasOwn(ACTIVATIONS, act) ? ACTIVATIONS[act] : undefined;
  if (!actFn) {
    throw new TypeError(
      `${path} field activation_function is ${JSON.stringify(act)}: expected one of ${
        Object.keys(ACTIVATIONS).join(", ")
      }`,
    );
  }
  const eps = raw.layer_norm_epsilon === undefined ? 1e-5 : raw.layer_norm_epsilon;
  if (typeof eps !== "number" || !(eps > 0)) {
    throw new TypeError(`${path} field layer_norm_epsilon must be a positive number: got ${JSON.stringify(eps)}`);
  }
  const dVocab = int("vocab_size", 50257);
  return {
    nLayers,
    nHeads,
    dModel,
    dHead: dModel / nHeads,
    dMlp: raw.n_inner == null ? 4 * dModel : int("n_inner"),
    nCtx: int("n_positions", 1024),
    dVocab,
    eps,
    actFn,
    bosTokenId: int("bos_token_id", 50256),
    eosTokenId: int("eos_token_id", 50256),
  };
}

/**
 * TransformerLens's (HookedTransformerConfig) snake_case names of {@linkcode Gpt2Config}'s fields, so
 * code written for `model.cfg.d_model` runs unchanged; SAELens's `sae.cfg` is snake_case too.
 */
export interface TransformerLensConfigNames {
  /** {@linkcode Gpt2Config.nLayers}. */
  readonly n_layers: number;
  /** {@linkcode Gpt2Config.nHeads}. */
  readonly n_heads: number;
  /** {@linkcode Gpt2Config.dModel}. */
  readonly d_model: number;
  /** {@linkcode Gpt2Config.dHead}. */
  readonly d_head: number;
  /** {@linkcode Gpt2Config.dMlp}. */
  readonly d_mlp: number;
  /** {@linkcode Gpt2Config.nCtx}. */
  readonly n_ctx: number;
  /** {@linkcode Gpt2Config.dVocab}. */
  readonly d_vocab: number;
  /** {@linkcode Gpt2Config.actFn}. */
  readonly act_fn: Gpt2Activation;
}

/** A configuration under both its camelCase names and TransformerLens's snake_case ones. */
export type HookedGpt2Config = Gpt2Config & TransformerLensConfigNames;

/**
 * Adds TransformerLens's snake_case names to a configuration (a copy; the camelCase fields stay).
 *
 * @example
 * ```ts
 * import { parseGpt2Config, withTransformerLensNames } from "./gpt2_config.ts";
 * const cfg = withTransformerLensNames(parseGpt2Config({ n_layer: 2, n_head: 4, n_embd: 64 }, "config.json"));
 * console.log(cfg.d_model, cfg.d_head, cfg.n_layers, cfg.dModel); // 64 16 2 64
 * ```
 *
 * @param cfg The configuration.
 * @returns It with both sets of names.
 */
export function withTransformerLensNames(cfg: Gpt2Config): HookedGpt2Config {
  return {
    ...cfg,
    n_layers: cfg.nLayers,
    n_heads: cfg.nHeads,
    d_model: cfg.dModel,
    d_head: cfg.dHead,
    d_mlp: cfg.dMlp,
    n_ctx: cfg.nCtx,
    d_vocab: cfg.dVocab,
    act_fn: cfg.actFn,
  };
}
