/**
 * An SAE and the model it reads, in one call: the SAE from a folder or `RELEASE/SAE_ID`, the model it
 * names (or the one given), processed the way the SAE was trained, checked to fit.
 *
 * @module
 */

import { EMBEDDED_MODEL_NAME, embeddedModel, embeddedSae } from "../embedded.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { Backend } from "../lm/ort_backend.ts";
import { processingFromKwargs, type WeightProcessing } from "../lm/process_weights.ts";
import { type PulledSae, resolveSaeSource } from "../sae/pretrained.ts";
import { type Device, modelBackendFor } from "../sae/device.ts";
import { SAE } from "../sae/sae.ts";
import { checkNeuronpediaId } from "./neuronpedia.ts";
import { saeSite } from "../sae/sae_on_model.ts";

/** Options of {@linkcode loadSaeAndModel}. */
export interface SaeAndModelOptions {
  /** Model folder or Hub id. @default {the model the SAE's cfg.json names} */
  model?: string;
  /**
   * Where the SAE runs (see `SaeOptions.device`): auto is webgpu on a hardware GPU, cpu otherwise.
   * @default {"auto"}
   */
  device?: Device;
  /** ONNX Runtime backend of the model; `auto` follows the SAE (WebGPU beside an SAE on a hardware GPU). @default {"auto"} */
  backend?: Backend | "auto";
  /** Weight processing. @default {what the SAE's model_from_pretrained_kwargs ask for} */
  processing?: WeightProcessing | false;
  /** Hub settings for downloads. */
  hub?: HubOptions;
  /**
   * The SAE's Neuronpedia id (MODEL/SET, e.g. `gpt2-small/8-res-jb`), for a local SAE whose cfg.json
   * lacks it; it replaces the cfg's. @default {the cfg's metadata.neuronpedia_id}
   */
  neuronpediaId?: string;
}

/** The SAE's cfg.json names no model and none was given. */
export class UnnamedModelError extends TypeError {
  /** The SAE's folder. */
  readonly folder: string;

  /**
   * Creates the error.
   *
   * @param folder The SAE's folder.
   */
  constructor(folder: string) {
    super(`The SAE ${folder} does not name its model (metadata.model_name): give the model`);
    this.name = "UnnamedModelError";
    this.folder = folder;
  }
}

/** An SAE and its model. */
export interface SaeAndModel {
  /** The SAE. */
  sae: SAE;
  /** The model. */
  model: HookedTransformer;
}

/**
 * Loads an SAE and the model it reads. The embedded SAE names the embedded model (`gpt2-sotu-tiny`);
 * release SAEs name `gpt2-small`, which is `openai-community/gpt2` on the Hub.
 *
 * @example The embedded pair, no network
 * ```ts ignore
 * const { sae, model } = await loadSaeAndModel();
 * ```
 *
 * @example A release SAE downloaded first (with its own progress), then loaded from the cache
 * ```ts ignore
 * const pulled = await pullPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre", { onProgress });
 * const { sae, model } = await loadSaeAndModel(pulled);
 * ```
 *
 * @param source SAE folder or `RELEASE/SAE_ID`, or a release SAE already pulled (`pullPretrained`'s folder and
 * overrides, loaded as they are: no path lookup). @default {the embedded SAE}
 * @param options Model, SAE device, model backend, processing, Hub settings.
 * @returns Both, checked to fit (hook present, widths equal).
 * @throws {UnnamedModelError} When the SAE names no model and none is given.
 * @throws {TypeError} When the SAE does not fit the model.
 * @throws {RangeError} When `neuronpediaId` is not MODEL/SET.
 */
export async function loadSaeAndModel(
  source?: string | PulledSae,
  options: SaeAndModelOptions = {},
): Promise<SaeAndModel> {
  if (options.neuronpediaId !== undefined) checkNeuronpediaId(options.neuronpediaId);
  const { folder, overrides } = typeof source === "object"
    ? source
    : await resolveSaeSource(source ?? embeddedSae(), options.hub);
  const sae = await SAE.load(folder, { cfgOverrides: overrides, device: options.device });
  if (options.neuronpediaId !== undefined) sae.cfg.metadata.neuronpedia_id = options.neuronpediaId;
  let model: HookedTransformer | undefined;
  try {
    const named = sae.cfg.metadata.model_name;
    const modelSource = options.model ??
      (named === EMBEDDED_MODEL_NAME ? embeddedModel() : typeof named === "string" && named ? named : undefined);
    if (modelSource === undefined) throw new UnnamedModelError(folder);
    model = await HookedTransformer.load(modelSource, {
      backend: options.backend && options.backend !== "auto" ? options.backend : await modelBackendFor(sae.device),
      processing: options.processing ??
        processingFromKwargs(sae.cfg.metadata.model_from_pretrained_kwargs ?? undefined),
      hub: options.hub,
    });
    saeSite(model, sae);
    return { sae, model };
  } catch (e) {
    sae.destroy();
    await model?.dispose();
    throw e;
  }
}
