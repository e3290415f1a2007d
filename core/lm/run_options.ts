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

/** Options shared by the run methods. */
export interface RunOptions {
  /** What to compute. @default {"logits"} */
  returnType?: ReturnType;
  /** Also return the loss of each position ([batch, pos − 1]) when computing the loss. @default {false} */
  lossPerToken?: boolean;
}

/** Options of {@linkcode HookedTransformer.runWithHooks}. */
export interface RunWithHooksOptions extends RunOptions {
  /** `[hookName, fn]` pairs, applied in order. */
  fwdHooks: readonly (readonly [string, HookFn])[];
}

/** Options of {@linkcode HookedTransformer.runWithCache}. */
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
