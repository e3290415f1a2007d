/**
 * What `HookedTransformer`'s run methods take and return: inputs, options and outputs.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { HookFn } from "./hook_fn.ts";
import type { SamplingOptions } from "./sampling.ts";

/** Token ids: one sequence or a batch of equal-length sequences, or text (tokenized with BOS). */
export type ModelInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[];

/** What a forward returns (TransformerLens `return_type`). */
export type ReturnType = "logits" | "loss" | "both" | "none";

/** Options shared by the run methods; `R` is the `returnType` given, which types the output's fields. */
export interface RunOptions<R extends ReturnType = ReturnType> {
  /** What to compute. @default {"logits"} */
  returnType?: R;
  /** Also return the loss of each position ([batch, pos − 1]) when computing the loss. @default {false} */
  lossPerToken?: boolean;
}

/** Options of {@linkcode HookedTransformer.runWithHooks}. */
export interface RunWithHooksOptions<R extends ReturnType = ReturnType> extends RunOptions<R> {
  /** `[hookName, fn]` pairs, applied in order. */
  fwdHooks: readonly (readonly [string, HookFn])[];
}

/** Options of {@linkcode HookedTransformer.runWithCache}. */
export interface RunWithCacheOptions<R extends ReturnType = ReturnType> extends RunOptions<R> {
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

/** A forward's results, whatever was asked for. */
export interface ModelOutputFields {
  /** [batch, pos, d_vocab], when `returnType` is "logits" or "both". */
  logits?: HostTensor;
  /** Mean next-token cross-entropy over every position of every row, when `returnType` is "loss" or "both". */
  loss?: number;
  /** [batch, pos − 1] per-position losses, with `lossPerToken`. */
  lossPerToken?: HostTensor;
  /** With `stopAtLayer`: the residual stream [batch, pos, d_model] entering that block. */
  residual?: HostTensor;
}

/**
 * A forward's results for `returnType` `R` (TransformerLens's return types): `logits` is there for "logits" (the
 * default) and "both", `loss` for "loss" and "both"; a `returnType` known only at run time leaves both optional.
 */
export type ModelOutput<R extends ReturnType = ReturnType> =
  & ModelOutputFields
  & (R extends "logits" | "both" ? { logits: HostTensor } : unknown)
  & (R extends "loss" | "both" ? { loss: number } : unknown);

/** {@linkcode ModelOutput} plus the cached activations. */
export type CachedOutput<R extends ReturnType = ReturnType> = ModelOutput<R> & {
  /** Activations by hook name. */
  cache: Map<string, HostTensor>;
};

/** What a run cut short by `stopAtLayer` returns: the residual entering that block and the cache, no logits. */
export interface ResidualOutput extends ModelOutputFields {
  /** The residual stream [batch, pos, d_model] entering block `stopAtLayer`. */
  residual: HostTensor;
  /** Activations by hook name. */
  cache: Map<string, HostTensor>;
}

/** Options of {@linkcode HookedTransformer.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to add. @default {10} */
  maxNewTokens?: number;
  /** Stop a sequence at an end-of-sequence token (config.json's `eos_token_id`; finished rows are padded with it). @default {true} */
  stopAtEos?: boolean;
  /** Reuse keys and values of earlier positions so each step runs one position. @default {true} */
  useKvCache?: boolean;
  /** Hooks active on every step. @default {[]} */
  fwdHooks?: readonly (readonly [string, HookFn])[];
  /** Called after each step with the new token of each row. */
  onToken?: (tokens: number[]) => void;
}

/** What {@linkcode HookedTransformer.generate} returns. */
export interface GenerateOutput {
  /** Prompt and new tokens of each row. */
  tokens: number[][];
  /** Each row decoded (prompt included, as TransformerLens returns it). */
  text: string[];
}
