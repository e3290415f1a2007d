/**
 * What a model family is: the translation of a Hugging Face `config.json` into a {@linkcode TransformerConfig} and the
 * mapping of its checkpoint's tensors into {@linkcode TransformerWeights} (TransformerLens's
 * `convert_hf_model_config` and `pretrained/weight_conversions/<family>.py`). One graph runs every family.
 *
 * @module
 */

import type { CheckpointTensors, WeightStorage } from "./checkpoint_tensors.ts";
import type { HfConfig } from "./hf_config.ts";
import type { TransformerConfig } from "./transformer_config.ts";
import type { TransformerWeights } from "./transformer_weights.ts";

/** One model family. */
export interface ModelFamily {
  /** The family's name (`llama`). */
  readonly name: string;
  /** The `model_type` values of Hugging Face configs it reads. */
  readonly modelTypes: readonly string[];
  /**
   * Translates a config.json.
   *
   * @throws {TypeError} When a field is missing, mistyped, or asks for something the model cannot run.
   */
  config(hf: HfConfig): TransformerConfig;
  /**
   * Reads the weights the config describes.
   *
   * @throws {TypeError} When a tensor is missing, of another shape, or left over.
   */
  weights(checkpoint: CheckpointTensors, cfg: TransformerConfig, storage: WeightStorage): Promise<TransformerWeights>;
}
