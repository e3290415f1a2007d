/**
 * A sparse autoencoder: encode, decode, forward and splice, for every architecture, on WebGPU (WGSL
 * kernels) or on the CPU (ONNX Runtime's native kernels), chosen by `device`.
 *
 * @module
 */

import { getGpu, type Gpu } from "../gpu/device.ts";
import type { HostTensor } from "../gpu/tensor.ts";
import type { Tensor } from "../util/tensor.ts";
import { checkWeights, readSae, type SaeFormat } from "./read_sae.ts";
import { checkFinite, checkNoOtherTensors } from "./_sae_tensors.ts";
import { writeSaeFolder } from "./write_sae.ts";
import type { Architecture, SaeWeights } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { getArchitecture } from "./registry.ts";
import "./architectures.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { pullPretrained } from "./pretrained.ts";
import { type Device, resolveDevice } from "./device.ts";
import { CpuSae } from "./cpu_sae.ts";
import { checkSaeInput } from "./input_shape.ts";
import { GpuSae } from "./gpu_sae.ts";
import type { EncodeDecodeResult, EncodeWithHiddenPreResult, SaeEngine, SaeInput } from "./sae_engine.ts";

export type { EncodeDecodeResult, EncodeWithHiddenPreResult, SaeInput } from "./sae_engine.ts";

/** Options for {@linkcode SAE.load} and {@linkcode SAE.fromWeights}. */
export interface SaeOptions {
  /**
   * Where the SAE runs: `webgpu` (WGSL kernels), `cpu` (onnxruntime-node's native kernels, needs
   * `--allow-ffi`), or `auto`: webgpu on a hardware adapter, cpu where the only adapter is a software
   * fallback (lavapipe, SwiftShader) or there is none.
   * @default {"auto", or "webgpu" when `gpu` is given}
   */
  device?: Device;
  /** WebGPU device to run on (device webgpu). @default {the shared device from getGpu()} */
  gpu?: Gpu;
  /**
   * TopK SAEs decode from their k kept latents (reading k rows of W_dec) rather than a dense
   * product over all d_sae; both give the same result.
   * @default {true}
   */
  sparseDecode?: boolean;
  /** Keep f16-stored weights as f16 on the GPU when it supports `shader-f16` (the cpu computes in f32). @default {true} */
  f16?: boolean;
  /** cfg.json fields to override, as SAELens's release `config_overrides` do. @default {{}} */
  cfgOverrides?: Record<string, unknown>;
}

/**
 * A sparse autoencoder. Names follow SAELens: `cfg` is the v6 config, `W_enc` [d_in, d_sae],
 * `W_dec` [d_sae, d_in], `b_enc`, `b_dec`, ... Ops return a {@linkcode Tensor} of the SAE's device;
 * `read()` gives its values, and passing it to another op keeps it on the device.
 *
 * @example Encode stored activations
 * ```ts ignore
 * import { SAE } from "./sae.ts";
 * const sae = await SAE.load("fixtures/sae-standard", { device: "cpu" });
 * const features = sae.encode({ shape: [1, 128], data: new Float32Array(128) });
 * console.log((await features.read()).length); // 1024
 * ```
 */
export class SAE {
  /** Configuration (SAELens v6 names). */
  readonly cfg: SaeConfig;
  /** Weights as loaded, float32, SAELens names. */
  readonly weights: SaeWeights;
  /** log10 feature density from training, when the folder had `sparsity.safetensors`. */
  readonly sparsity?: HostTensor;
  /** The on-disk layout it came from, if loaded from disk. */
  readonly format?: SaeFormat;
  /** The registered architecture. */
  readonly architecture: Architecture;

  readonly #engine: SaeEngine;
  #destroyed = false;

  private constructor(
    cfg: SaeConfig,
    weights: SaeWeights,
    engine: SaeEngine,
    loaded: { sparsity?: HostTensor; format?: SaeFormat },
  ) {
    this.cfg = cfg;
    this.weights = weights;
    this.sparsity = loaded.sparsity;
    this.format = loaded.format;
    this.architecture = getArchitecture(cfg.architecture);
    this.#engine = engine;
  }

  static async #create(
    cfg: SaeConfig,
    weights: SaeWeights,
    options: SaeOptions & { sparsity?: HostTensor; format?: SaeFormat; storedF16?: boolean },
  ): Promise<SAE> {
    const device = await resolveDevice(options.device ?? (options.gpu ? "webgpu" : "auto"));
    const architecture = getArchitecture(cfg.architecture);
    const kernel = architecture.kernelWeights(cfg, weights);
    const { sparseDecode } = options;
    const engine = device === "cpu"
      ? new CpuSae(cfg, architecture, kernel, { sparseDecode })
      : new GpuSae(options.gpu ?? await getGpu(), cfg, architecture, kernel, {
        sparseDecode,
        f16: (options.f16 ?? true) && (options.storedF16 ?? false),
      });
    return new SAE(cfg, weights, engine, options);
  }

  /**
   * Loads an SAE folder: SAELens (v6 or pre-6.0), sparsify or Gemma Scope.
   *
   * @example Load and inspect
   * ```ts ignore
   * const sae = await SAE.load("fixtures/sae-topk", { device: "cpu" });
   * console.log(sae.cfg.architecture, sae.cfg.k, sae.device); // topk 16 cpu
   * ```
   *
   * @param path The folder (or a file in it).
   * @param options Device and decoding choices.
   * @returns The SAE, its weights on its device.
   * @throws {Deno.errors.NotFound} When files are missing.
   * @throws {TypeError} For pickle files, missing tensors or shapes disagreeing with cfg.json.
   * @throws {SyntaxError} For malformed files.
   * @throws {RangeError} For an unknown architecture or device.
   */
  static async load(path: string, options: SaeOptions = {}): Promise<SAE> {
    const onDisk = await readSae(path, options.cfgOverrides);
    return await SAE.#create(onDisk.cfg, onDisk.weights, { ...options, ...onDisk });
  }

  /**
   * Loads an SAE of a named release (SAELens `SAE.from_pretrained`), downloading it into the Hugging
   * Face cache unless it is there; the release's config overrides and Neuronpedia id are applied.
   *
   * @example gpt2-small-res-jb
   * ```ts ignore
   * const sae = await SAE.fromPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre", { device: "cpu" });
   * console.log(sae.cfg.metadata.neuronpedia_id); // "gpt2-small/8-res-jb"
   * ```
   *
   * @param release Release name, e.g. `gpt2-small-res-jb` (`sae releases` lists them).
   * @param saeId SAE id within it, e.g. `blocks.8.hook_resid_pre`.
   * @param options Device and decoding choices, and Hub settings.
   * @returns The SAE.
   * @throws {RangeError} For an unknown release or SAE id (the message lists close ones).
   * @throws {HubError} When the files cannot be downloaded.
   */
  static async fromPretrained(
    release: string,
    saeId: string,
    options: SaeOptions & { hub?: HubOptions } = {},
  ): Promise<SAE> {
    const { folder, overrides } = await pullPretrained(release, saeId, options.hub);
    return await SAE.load(folder, { ...options, cfgOverrides: { ...overrides, ...options.cfgOverrides } });
  }

  /**
   * Builds an SAE from a configuration and float32 weights in SAELens names and shapes.
   *
   * @example A tiny standard SAE
   * ```ts ignore
   * const sae = await SAE.fromWeights(cfg, { W_enc, W_dec, b_enc, b_dec }, { device: "cpu" });
   * ```
   *
   * @throws {TypeError} When a tensor is missing or misshapen.
   * @throws {RangeError} For an unknown architecture or device.
   */
  static async fromWeights(cfg: SaeConfig, weights: SaeWeights, options: SaeOptions = {}): Promise<SAE> {
    // what SAE.load refuses, refused here too
    checkWeights(cfg, weights, "weights", "cfg");
    checkNoOtherTensors(cfg, Object.keys(weights), "weights");
    for (const [name, t] of Object.entries(weights)) checkFinite(t, `weights: tensor "${name}"`);
    return await SAE.#create(cfg, weights, options);
  }

  /** Encoder weights [d_in, d_sae]. */
  get W_enc(): HostTensor {
    return this.weights.W_enc;
  }
  /** Decoder weights [d_sae, d_in]. */
  get W_dec(): HostTensor {
    return this.weights.W_dec;
  }
  /** Decoder bias [d_in]. */
  get b_dec(): HostTensor {
    return this.weights.b_dec;
  }
  /** Encoder bias [d_sae] (absent for Gated SAEs, which have b_gate and b_mag). */
  get b_enc(): HostTensor | undefined {
    return this.weights.b_enc;
  }
  /** JumpReLU threshold [d_sae]. */
  get threshold(): HostTensor | undefined {
    return this.weights.threshold;
  }
  /**
   * The model hook it reads (`cfg.metadata.hook_name`), typed as a string for `runWithCache`'s `names`.
   *
   * @example Cache what the SAE reads
   * ```ts ignore
   * const { cache } = await model.runWithCache(prompt, { names: [sae.hookName] });
   * ```
   *
   * @throws {TypeError} When the cfg names no hook (an SAE built for stored activations).
   */
  get hookName(): string {
    const name = this.cfg.metadata.hook_name;
    if (typeof name !== "string" || name === "") {
      throw new TypeError("The SAE's cfg names no hook (metadata.hook_name): set it to use the SAE on a model");
    }
    return name;
  }
  /** The device it runs on: `webgpu` or `cpu`. */
  get device(): "webgpu" | "cpu" {
    return this.#engine.device;
  }
  /** What it runs on, e.g. `cpu (onnxruntime-node, 2 threads)` or `webgpu (llvmpipe ...)`. */
  get deviceDescription(): string {
    return this.#engine.description;
  }
  /** Whether encode/decode keep weights as f16 on the GPU (never on the cpu). */
  get f16(): boolean {
    return this.#engine instanceof GpuSae && this.#engine.f16;
  }
  /**
   * The WebGPU device this SAE runs on.
   *
   * @throws {TypeError} When the SAE runs on the cpu.
   */
  get gpu(): Gpu {
    if (!(this.#engine instanceof GpuSae)) {
      throw new TypeError("Cannot give the SAE's WebGPU device as it runs on the cpu (load it with device webgpu)");
    }
    return this.#engine.gpu;
  }

  /**
   * Feature activations of `x` [..., d_in] → [..., d_sae].
   *
   * @example Encode
   * ```ts ignore
   * const f = await sae.encode(acts).read();
   * ```
   *
   * @throws {TypeError} When the input's last dimension is not d_in.
   */
  encode(x: SaeInput): Tensor {
    return this.#live("encode", x).encode(x);
  }

  /**
   * Reconstruction of features `f` [..., d_sae] → [..., d_in], always a dense product (so edited
   * features decode as given). Normalization modes other than none/expected_average_only_in undo
   * the statistics of the last `encode` of as many rows, as SAELens does.
   *
   * @example Decode
   * ```ts ignore
   * const recon = sae.decode(sae.encode(acts));
   * ```
   *
   * @throws {TypeError} When the last dimension is not d_sae, or no matching encode preceded it
   *   for per-token normalization modes.
   */
  decode(f: SaeInput): Tensor {
    return this.#live("decode", f).decode(f);
  }

  /**
   * Reconstruction of `x`: decode(encode(x)), for TopK via the sparse decoder unless disabled.
   *
   * @example Forward
   * ```ts ignore
   * const recon = await sae.forward(acts).read();
   * ```
   */
  forward(x: SaeInput): Tensor {
    return this.#live("forward", x).forward(x);
  }

  /**
   * Features and reconstruction from one pass.
   *
   * @example Both outputs
   * ```ts ignore
   * const { features, recon } = sae.encodeDecode(acts);
   * ```
   */
  encodeDecode(x: SaeInput): EncodeDecodeResult {
    return this.#live("encodeDecode", x).encodeDecode(x);
  }

  /**
   * Features and the hidden pre-activation SAELens's `hook_sae_acts_pre` sees: x' W_enc + b_enc
   * (TopK with `rescale_acts_by_decoder_norm`: scaled by the decoder norms; Gated: the magnitude path
   * x' (W_enc ⊙ exp(r_mag)) + b_mag) (SAELens `encode_with_hidden_pre`).
   *
   * @example Pre- and post-activations
   * ```ts ignore
   * const { features, hiddenPre } = sae.encodeWithHiddenPre(acts);
   * ```
   *
   * @throws {TypeError} When the input's last dimension is not d_in, or the architecture has no `hiddenPre`.
   */
  encodeWithHiddenPre(x: SaeInput): EncodeWithHiddenPreResult {
    if (!this.architecture.hiddenPre) {
      throw new TypeError(
        `Cannot report the hidden pre-activation as the ${this.architecture.name} architecture defines none`,
      );
    }
    return this.#live("encode", x).encodeWithHiddenPre(x);
  }

  /**
   * Features from a hidden pre-activation [..., d_sae], e.g. one a hook edited, as encode makes them
   * from its own: ReLU, JumpReLU's threshold, TopK's selection, Gated's gate (read from `x`).
   *
   * @example Features after an edit of the pre-activation
   * ```ts ignore
   * const pre = await sae.encodeWithHiddenPre(x).hiddenPre.read();
   * pre[3] += 1;
   * const features = sae.activate({ shape: [1, sae.cfg.d_sae], data: pre }, x);
   * ```
   *
   * @param hiddenPre Pre-activations [..., d_sae].
   * @param x The input they came from, needed by architectures whose activation reads it (Gated).
   * @returns The features.
   * @throws {TypeError} When a shape is wrong, `x` is missing where needed, or the architecture has no
   *   `activation`.
   */
  activate(hiddenPre: SaeInput, x?: SaeInput): Tensor {
    const { activation, name } = this.architecture;
    if (this.architecture.topK(this.cfg) === undefined && !activation) {
      throw new TypeError(`Cannot activate as the ${name} architecture defines no activation`);
    }
    if (activation?.aux && x === undefined) {
      throw new TypeError(`Cannot activate a ${name} SAE's pre-activation without its input x`);
    }
    return this.#live("activate", hiddenPre, x).activate(hiddenPre, activation?.aux ? x : undefined);
  }

  /**
   * The SAE spliced in with its error term: decode(features) + (x − forward(x)), so edits of the
   * features move the output by exactly their own effect (SAELens `use_error_term`).
   *
   * @example Ablate feature 3 with the error term
   * ```ts ignore
   * const f = await sae.encode(x).read();
   * for (let t = 0; t < rows; t++) f[t * sae.cfg.d_sae + 3] = 0;
   * const out = sae.splice(x, { shape: [rows, sae.cfg.d_sae], data: f });
   * ```
   *
   * @param x The original activations [..., d_in].
   * @param features Edited features [..., d_sae]. @default {encode(x), so the output equals x}
   */
  splice(x: SaeInput, features?: SaeInput): Tensor {
    const engine = this.#live("splice", x, features);
    if (features) {
      const rows = (t: SaeInput) => t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      if (rows(x) !== rows(features)) {
        throw new TypeError(
          `Cannot splice features [${features.shape.join(", ")}] into activations [${
            x.shape.join(", ")
          }]: they must have one row of features per row of activations`,
        );
      }
    }
    return engine.splice(x, features);
  }

  /**
   * Writes the SAE as a SAELens v6 folder: cfg.json, sae_weights.safetensors and, when known,
   * sparsity.safetensors. Files are written atomically.
   *
   * @example Save
   * ```ts ignore
   * await sae.save("out/my-sae");
   * ```
   *
   * @param folder Destination folder (created if missing).
   */
  async save(folder: string): Promise<void> {
    this.#live("save");
    await writeSaeFolder(folder, this.cfg, this.weights, this.sparsity);
  }

  /** Frees what the SAE holds on its device (GPU buffers, ONNX Runtime sessions); it cannot be used after. */
  destroy(): void {
    this.#destroyed = true;
    this.#engine.destroy();
  }

  /** The engine, once the SAE is known live and the inputs readable; else an error naming the operation. */
  #live(operation: string, ...inputs: (SaeInput | undefined)[]): SaeEngine {
    if (this.#destroyed) throw new TypeError(`Cannot ${operation} with this SAE as it was destroyed`);
    for (const x of inputs) if (x !== undefined) checkSaeInput(x, operation);
    return this.#engine;
  }
}
