/**
 * A sparse autoencoder on the GPU: encode, decode, forward and splice, for every architecture.
 *
 * @module
 */

import { getGpu, type Gpu } from "../gpu/device.ts";
import { GpuTensor, type HostTensor, rowsPerBinding, uploadBuffer } from "../gpu/tensor.ts";
import {
  destroyWeightMatrix,
  uploadColumnVector,
  uploadWeightMatrix,
  type WeightMatrix,
} from "../gpu/weight_matrix.ts";
import { activate } from "../ops/activate.ts";
import { decodeSparse } from "../ops/decode_sparse.ts";
import { type Epilogue, matmul } from "../ops/matmul.ts";
import { normalizeIn, normalizeOut, type Undo } from "../ops/normalize.ts";
import { spliceError } from "../ops/splice.ts";
import { topkDense, topkSparse } from "../ops/topk.ts";
import { checkWeights, readSae, type SaeFormat } from "./read_sae.ts";
import { writeSaeFolder } from "./write_sae.ts";
import type { Architecture, BoundWgsl, SaeWeights } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { getArchitecture } from "./registry.ts";
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };
import "./architectures.ts";
import type { HubOptions } from "../hub/hf_hub.ts";
import { pullPretrained } from "./pretrained.ts";

/** Something freed once the commands using it are submitted. */
type Disposable = { destroy(): void };

const BIAS_SOURCE = { name: "epilogue_bias", code: epilogueBias };

/** Options for {@linkcode SAE.load} and {@linkcode SAE.fromWeights}. */
export interface SaeOptions {
  /** Device to run on. @default {the shared device from getGpu()} */
  gpu?: Gpu;
  /**
   * TopK SAEs decode from their k kept latents (reading k rows of W_dec) rather than a dense
   * product over all d_sae; both give the same result.
   * @default {true}
   */
  sparseDecode?: boolean;
  /** Keep f16-stored weights as f16 on the GPU when it supports `shader-f16`. @default {true} */
  f16?: boolean;
  /** cfg.json fields to override, as SAELens's release `config_overrides` do. @default {{}} */
  cfgOverrides?: Record<string, unknown>;
}

/** An input: host values or a tensor already on the GPU, [..., d_in]. */
export type SaeInput = HostTensor | GpuTensor;

/** Features and reconstruction of one forward pass. */
export interface EncodeDecodeResult {
  /** Feature activations [..., d_sae]. */
  features: GpuTensor;
  /** Reconstruction [..., d_in]. */
  recon: GpuTensor;
}

/** Features and SAELens's hidden pre-activation of one encode. */
export interface EncodeWithHiddenPreResult {
  /** Feature activations [..., d_sae] (`hook_sae_acts_post`). */
  features: GpuTensor;
  /** Pre-activations [..., d_sae] (`hook_sae_acts_pre`; Gated: the magnitude path's). */
  hiddenPre: GpuTensor;
}

/**
 * A sparse autoencoder whose encode/decode run as WGSL kernels. Names follow SAELens:
 * `cfg` is the v6 config, `W_enc` [d_in, d_sae], `W_dec` [d_sae, d_in], `b_enc`, `b_dec`, ...
 *
 * @example Encode stored activations
 * ```ts ignore
 * import { SAE } from "./sae.ts";
 * const sae = await SAE.load("fixtures/sae-standard");
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
  /** Whether encode/decode keep weights as f16 on the GPU. */
  readonly f16: boolean;

  readonly #gpu: Gpu;
  readonly #rowsPerChunk: number;
  readonly #wEnc: WeightMatrix;
  readonly #wDec: WeightMatrix;
  readonly #epilogueBuffers: GPUBuffer[][];
  readonly #decoderBias: GPUBuffer[];
  readonly #bDec: GPUBuffer;
  readonly #k: number | undefined;
  readonly #sparseDecode: boolean;
  readonly #owned: GPUBuffer[] = [];
  // Per-row normalization statistics of the last encode, which decode() undoes (as SAELens keeps them).
  #lastUndo: { rows: number; undo: Undo } | undefined;

  private constructor(
    gpu: Gpu,
    cfg: SaeConfig,
    weights: SaeWeights,
    options: SaeOptions & { sparsity?: HostTensor; format?: SaeFormat; storedF16?: boolean },
  ) {
    this.#gpu = gpu;
    this.cfg = cfg;
    this.weights = weights;
    this.sparsity = options.sparsity;
    this.format = options.format;
    this.architecture = getArchitecture(cfg.architecture);
    this.f16 = (options.f16 ?? true) && (options.storedF16 ?? false) && gpu.hasF16;
    this.#k = this.architecture.topK(cfg);
    this.#sparseDecode = options.sparseDecode ?? true;
    this.#rowsPerChunk = rowsPerBinding(gpu, Math.max(cfg.d_sae, cfg.d_in));

    const kernel = this.architecture.kernelWeights(cfg, weights);
    this.#wEnc = uploadWeightMatrix(gpu, kernel.W_enc.data, cfg.d_in, cfg.d_sae, {
      split: "cols",
      f16: this.f16,
      label: "W_enc",
    });
    this.#wDec = uploadWeightMatrix(gpu, kernel.W_dec.data, cfg.d_sae, cfg.d_in, {
      split: "rows",
      f16: this.f16,
      label: "W_dec",
    });
    const perVector = this.architecture.epilogueVectors(kernel).map((v, i) =>
      uploadColumnVector(gpu, this.#wEnc, v, `${this.architecture.name} vector ${i}`)
    );
    this.#epilogueBuffers = this.#wEnc.blocks.map((_, b) => perVector.map((buffers) => buffers[b]));
    const padded = new Float32Array(Math.ceil(cfg.d_in / 4) * 4);
    padded.set(kernel.b_dec.data);
    const bias = uploadBuffer(gpu, padded, "b_dec");
    const zeros = uploadBuffer(gpu, new Float32Array(padded.length), "zero bias");
    this.#decoderBias = this.#wDec.blocks.map((_, i) => i === 0 ? bias : zeros);
    this.#bDec = bias;
    this.#owned.push(bias, zeros, ...perVector.flat());
  }

  /**
   * Loads an SAE folder: SAELens (v6 or pre-6.0), sparsify or Gemma Scope.
   *
   * @example Load and inspect
   * ```ts ignore
   * const sae = await SAE.load("fixtures/sae-topk");
   * console.log(sae.cfg.architecture, sae.cfg.k); // topk 16
   * ```
   *
   * @param path The folder (or a file in it).
   * @param options Device and decoding choices.
   * @returns The SAE, its weights on the GPU.
   * @throws {Deno.errors.NotFound} When files are missing.
   * @throws {TypeError} For pickle files, missing tensors or shapes disagreeing with cfg.json.
   * @throws {SyntaxError} For malformed files.
   * @throws {RangeError} For an unknown architecture.
   */
  static async load(path: string, options: SaeOptions = {}): Promise<SAE> {
    const onDisk = await readSae(path, options.cfgOverrides);
    const gpu = options.gpu ?? await getGpu();
    return new SAE(gpu, onDisk.cfg, onDisk.weights, { ...options, ...onDisk });
  }

  /**
   * Loads an SAE of a named release (SAELens `SAE.from_pretrained`), downloading it into the Hugging
   * Face cache unless it is there; the release's config overrides and Neuronpedia id are applied.
   *
   * @example gpt2-small-res-jb
   * ```ts ignore
   * const sae = await SAE.fromPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
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
   * const sae = await SAE.fromWeights(cfg, { W_enc, W_dec, b_enc, b_dec });
   * ```
   *
   * @throws {TypeError} When a tensor is missing or misshapen.
   * @throws {RangeError} For an unknown architecture.
   */
  static async fromWeights(cfg: SaeConfig, weights: SaeWeights, options: SaeOptions = {}): Promise<SAE> {
    checkWeights(cfg, weights, "weights", "cfg");
    const gpu = options.gpu ?? await getGpu();
    return new SAE(gpu, cfg, weights, options);
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
  /** The device this SAE runs on. */
  get gpu(): Gpu {
    return this.#gpu;
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
  encode(x: SaeInput): GpuTensor {
    return this.#run((encoder, temps) => this.#encode(encoder, x, temps, { features: true, recon: false }).features!);
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
  decode(f: SaeInput): GpuTensor {
    return this.#run((encoder, temps) => {
      const features = this.#toGpu(encoder, f, this.cfg.d_sae, temps);
      const recon = GpuTensor.empty(
        this.#gpu,
        [...features.shape.slice(0, -1), this.cfg.d_in],
        this.#rowsPerChunk,
        "recon",
      );
      matmul(this.#gpu, encoder, features, this.#wDec, recon, this.#decoderEpilogue());
      const mode = this.cfg.normalize_activations;
      if (mode === "expected_average_only_in") {
        const undo = this.#constantUndo(recon);
        temps.push(...undo);
        normalizeOut(this.#gpu, encoder, recon, undo, mode);
      } else if (mode !== "none") {
        if (this.#lastUndo?.rows !== recon.rows) {
          throw new TypeError(
            `Cannot decode with normalize_activations ${mode} as it needs the statistics of an encode of the same ${recon.rows} rows`,
          );
        }
        normalizeOut(this.#gpu, encoder, recon, this.#lastUndo.undo, mode);
      }
      return recon;
    });
  }

  /**
   * Reconstruction of `x`: decode(encode(x)), for TopK via the sparse decoder unless disabled.
   *
   * @example Forward
   * ```ts ignore
   * const recon = await sae.forward(acts).read();
   * ```
   */
  forward(x: SaeInput): GpuTensor {
    return this.#run((encoder, temps) => this.#encode(encoder, x, temps, { features: false, recon: true }).recon!);
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
    let features: GpuTensor | undefined;
    const recon = this.#run((encoder, temps) => {
      const out = this.#encode(encoder, x, temps, { features: true, recon: true });
      features = out.features;
      return out.recon!;
    });
    return { features: features!, recon };
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
    let hiddenPre: GpuTensor | undefined;
    const features = this.#run((encoder, temps) => {
      const out = this.#encode(encoder, x, temps, { features: true, recon: false, hiddenPre: true });
      hiddenPre = out.hiddenPre;
      return out.features!;
    });
    return { features, hiddenPre: hiddenPre! };
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
  activate(hiddenPre: SaeInput, x?: SaeInput): GpuTensor {
    const gpu = this.#gpu;
    const { activation } = this.architecture;
    if (this.#k === undefined && !activation) {
      throw new TypeError(`Cannot activate as the ${this.architecture.name} architecture defines no activation`);
    }
    if (activation?.aux && x === undefined) {
      throw new TypeError(`Cannot activate a ${this.architecture.name} SAE's pre-activation without its input x`);
    }
    return this.#run((encoder, temps) => {
      const pre = this.#toGpu(encoder, hiddenPre, this.cfg.d_sae, temps);
      const out = GpuTensor.empty(gpu, pre.shape, this.#rowsPerChunk, "features");
      if (this.#k !== undefined) {
        topkDense(gpu, encoder, pre, out, this.#k);
        return out;
      }
      let aux: GpuTensor | undefined;
      if (activation!.aux) {
        const { xIn, undo } = this.#normalizeIn(encoder, this.#toGpu(encoder, x!, this.cfg.d_in, temps));
        aux = GpuTensor.empty(gpu, pre.shape, this.#rowsPerChunk, "activation aux");
        matmul(gpu, encoder, xIn, this.#wEnc, aux, this.#bound(activation!.aux));
        temps.push(xIn, aux, ...undo);
      }
      activate(gpu, encoder, pre, out, this.#wEnc.blocks, {
        source: activation!.source,
        buffers: (i) => activation!.vectors.map((v) => this.#epilogueBuffers[i][v]),
      }, aux);
      return out;
    });
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
  splice(x: SaeInput, features?: SaeInput): GpuTensor {
    // One encode gives the clean reconstruction and, when no edit is given, the features to decode.
    const { features: cleanFeatures, recon: clean } = this.encodeDecode(x);
    const edited = this.decode(features ?? cleanFeatures);
    return this.#run((encoder, temps) => {
      const input = this.#toGpu(encoder, x, this.cfg.d_in, temps);
      temps.push(clean, cleanFeatures, edited);
      return spliceError(this.#gpu, encoder, input, clean, edited);
    });
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
    await writeSaeFolder(folder, this.cfg, this.weights, this.sparsity);
  }

  /** Frees the SAE's GPU buffers. */
  destroy(): void {
    destroyWeightMatrix(this.#wEnc);
    destroyWeightMatrix(this.#wDec);
    for (const b of this.#owned) b.destroy();
  }

  #run(record: (encoder: GPUCommandEncoder, temps: Disposable[]) => GpuTensor): GpuTensor {
    const encoder = this.#gpu.device.createCommandEncoder({ label: "sae" });
    const temps: Disposable[] = [];
    const out = record(encoder, temps);
    this.#gpu.device.queue.submit([encoder.finish()]);
    // Destroying after submit frees the memory once the submitted work has run.
    for (const t of temps) if (t !== out) t.destroy();
    return out;
  }

  #toGpu(encoder: GPUCommandEncoder, x: SaeInput, width: number, temps: Disposable[]): GpuTensor {
    let shape = [...x.shape];
    const last = shape[shape.length - 1];
    if (
      last !== width && this.cfg.reshape_activations === "hook_z" && width === this.cfg.d_in && shape.length >= 2 &&
      last * shape[shape.length - 2] === width
    ) {
      shape = [...shape.slice(0, -2), width];
    }
    if (shape[shape.length - 1] !== width) {
      throw new TypeError(
        `Cannot run the SAE as the input's last dimension must be ${width}: current value is ${last} (shape [${
          x.shape.join(", ")
        }])`,
      );
    }
    if (x instanceof GpuTensor) {
      const t = x.reshape(shape).rechunk(encoder, this.#rowsPerChunk);
      if (t.chunks[0] !== x.chunks[0]) temps.push(t);
      return t;
    }
    const t = GpuTensor.fromHost(this.#gpu, { shape, data: x.data }, this.#rowsPerChunk);
    temps.push(t);
    return t;
  }

  /** Undo records of `expected_average_only_in`: the same (0, 1/s) for every row. */
  #constantUndo(like: GpuTensor): Undo {
    const outScale = 1 / (this.cfg.norm_scaling_factor ?? 1);
    return like.chunks.map((c) => {
      const pairs = new Float32Array(c.rows * 2);
      for (let r = 0; r < c.rows; r++) pairs[2 * r + 1] = outScale;
      return uploadBuffer(this.#gpu, pairs, "normalize undo");
    });
  }

  /** An epilogue of x' · W_enc binding some of the architecture's vectors. */
  #bound(wgsl: BoundWgsl): Epilogue {
    return { source: wgsl.source, buffers: (_block, i) => wgsl.vectors.map((v) => this.#epilogueBuffers[i][v]) };
  }

  #normalizeIn(encoder: GPUCommandEncoder, input: GpuTensor): { xIn: GpuTensor; undo: Undo } {
    return normalizeIn(this.#gpu, encoder, input, {
      mode: this.cfg.normalize_activations,
      scale: this.cfg.norm_scaling_factor ?? 1,
      bDec: this.cfg.apply_b_dec_to_input ? this.#bDec : undefined,
    });
  }

  #decoderEpilogue(): Epilogue {
    return { source: BIAS_SOURCE, buffers: (_block, i) => [this.#decoderBias[i]] };
  }

  /** Records the encoder and, as asked, the dense features and the reconstruction. */
  #encode(
    encoder: GPUCommandEncoder,
    x: SaeInput,
    temps: Disposable[],
    want: { features: boolean; recon: boolean; hiddenPre?: boolean },
  ): { features?: GpuTensor; recon?: GpuTensor; hiddenPre?: GpuTensor } {
    const gpu = this.#gpu;
    const { hiddenPre: preWgsl } = this.architecture;
    if (want.hiddenPre && !preWgsl) {
      throw new TypeError(
        `Cannot report the hidden pre-activation as the ${this.architecture.name} architecture defines none`,
      );
    }
    const input = this.#toGpu(encoder, x, this.cfg.d_in, temps);
    const { xIn, undo } = this.#normalizeIn(encoder, input);
    temps.push(xIn);
    for (const b of this.#lastUndo?.undo ?? []) b.destroy();
    this.#lastUndo = { rows: input.rows, undo };
    const lead = input.shape.slice(0, -1);
    let hiddenPre: GpuTensor | undefined;
    if (want.hiddenPre) {
      hiddenPre = GpuTensor.empty(gpu, [...lead, this.cfg.d_sae], this.#rowsPerChunk, "hidden pre-activation");
      matmul(gpu, encoder, xIn, this.#wEnc, hiddenPre, this.#bound(preWgsl!));
    }
    const h = GpuTensor.empty(gpu, [...lead, this.cfg.d_sae], this.#rowsPerChunk, "hidden");
    matmul(gpu, encoder, xIn, this.#wEnc, h, {
      source: this.architecture.encodeEpilogue,
      buffers: (_block, i) => this.#epilogueBuffers[i],
    });
    const k = this.#k;
    const sparse = k !== undefined && this.#sparseDecode;
    // Elementwise activations leave the features in h; TopK selects them from h.
    let features = h;
    if (k !== undefined && (want.features || (want.recon && !sparse))) {
      features = GpuTensor.empty(gpu, h.shape, this.#rowsPerChunk, "features");
      topkDense(gpu, encoder, h, features, k);
      temps.push(h);
    }
    let recon: GpuTensor | undefined;
    if (want.recon) {
      recon = GpuTensor.empty(gpu, [...lead, this.cfg.d_in], this.#rowsPerChunk, "recon");
      if (sparse) {
        const top = topkSparse(gpu, encoder, h, k);
        decodeSparse(gpu, encoder, top, k, this.#wDec, (i) => this.#decoderBias[i], recon);
        for (const t of top) temps.push(t.values, t.indices);
      } else {
        matmul(gpu, encoder, features, this.#wDec, recon, this.#decoderEpilogue());
      }
      normalizeOut(gpu, encoder, recon, undo, this.cfg.normalize_activations);
    }
    if (!want.features) temps.push(features);
    return { features: want.features ? features : undefined, recon, hiddenPre };
  }
}
