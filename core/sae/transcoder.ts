/**
 * Transcoders (SAELens `transcoder`, `jumprelu_transcoder`): encoders of one hook's activations whose decoder
 * writes another's (`metadata.hook_name_out`), e.g. an MLP's input to its output. At inference they compute what
 * the standard and JumpReLU SAEs do, without b_dec on the input (SAELens refuses `apply_b_dec_to_input` for
 * them); here the output is as wide as the input, as every transcoder of SAELens's registry is.
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { jumprelu } from "./jumprelu.ts";
import { standard } from "./standard.ts";

function checkTranscoder(cfg: SaeConfig, path: string): void {
  if (cfg.apply_b_dec_to_input) {
    throw new TypeError(
      `${path}: field apply_b_dec_to_input is true: a ${cfg.architecture} takes false (b_dec is its output's)`,
    );
  }
  if (cfg.d_out === undefined) throw new TypeError(`${path}: field d_out is missing: a ${cfg.architecture} needs it`);
  if (cfg.d_out !== cfg.d_in) {
    throw new RangeError(
      `${path}: field d_out is ${cfg.d_out}: sae runs transcoders whose output is as wide as their input (d_in ${cfg.d_in})`,
    );
  }
}

/** The ReLU transcoder. */
export const transcoder: Architecture = { ...standard, name: "transcoder", checkConfig: checkTranscoder };

/** The JumpReLU transcoder (Gemma Scope's transcoders). */
export const jumpReluTranscoder: Architecture = {
  ...jumprelu,
  name: "jumprelu_transcoder",
  checkConfig: checkTranscoder,
};
