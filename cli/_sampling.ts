/**
 * The sampling flags `sae generate` and `sae steer` share.
 *
 * @module
 */

import type { GenerateOptions } from "../core/lm/run_options.ts";
import { type Flags, positiveInt, UsageError, wholeNumber } from "./_usage.ts";

/** Length and sampling flags. */
export const SAMPLING_FLAGS = {
  "max-new-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  greedy: { type: "boolean" },
  seed: { type: "string" },
  "no-stop-at-eos": { type: "boolean" },
} as const satisfies Flags;

/** Help lines of {@linkcode SAMPLING_FLAGS}. */
export const SAMPLING_HELP = `  --max-new-tokens N  tokens to add (default 20)
  --temperature T     sampling temperature; 0 is greedy (default 1)
  --top-k K           sample among the K most likely tokens
  --top-p P           sample among the most likely tokens reaching probability P
  --greedy            always take the most likely token
  --seed S            seed of the sampler (reproducible output)
  --no-stop-at-eos    keep going after <|endoftext|>`;

/**
 * Parses a finite number flag.
 *
 * @throws {UsageError} When the value is not a number.
 */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  // Number() also reads " " as 0 and "0x10" as 16: only decimal numbers are meant.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) || !Number.isFinite(n)) {
    throw new UsageError(`${flag} must be a number: current value is ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * The generation options the flags give.
 *
 * @throws {UsageError} On out-of-range values.
 */
export function samplingOptions(
  values: {
    [K in keyof typeof SAMPLING_FLAGS]?: (typeof SAMPLING_FLAGS)[K]["type"] extends "boolean" ? boolean : string;
  },
): Omit<GenerateOptions, "fwdHooks" | "onToken"> {
  const options = {
    maxNewTokens: positiveInt(values["max-new-tokens"], "--max-new-tokens") ?? 20,
    temperature: numberFlag(values.temperature, "--temperature"),
    topK: positiveInt(values["top-k"], "--top-k"),
    topP: numberFlag(values["top-p"], "--top-p"),
    doSample: !values.greedy,
    seed: values.seed === undefined ? undefined : wholeNumber(values.seed, "--seed"),
    stopAtEos: !values["no-stop-at-eos"],
  };
  if (options.temperature !== undefined && options.temperature < 0) {
    throw new UsageError(`--temperature must be >= 0: current value is ${options.temperature}`);
  }
  if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) {
    throw new UsageError(`--top-p must be in (0, 1]: current value is ${options.topP}`);
  }
  return options;
}
