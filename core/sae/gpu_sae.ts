/**
 * The WebGPU engine of an SAE: encode, decode, forward and splice as WGSL kernels recorded into one
 * command encoder per op.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { submit } from "../gpu/pipelines.ts";
import { GpuTensor, rowsPerBinding, uploadBuffer } from "../gpu/tensor.ts";
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
import type { Architecture, BoundWgsl, SaeWeights } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { saeInputShape } from "./input_shape.ts";
import type { SaeEngine, SaeInput } from "./sae_engine.ts";
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };

/** Something freed once the commands using it are submitted. */
type Disposable = { destroy(): void };

const BIAS_SOURCE = { name: "epilogue_bias", code: epilogueBias };

/** Options of {@linkcode GpuSae}. */
export interface GpuSaeOptions {
  /** TopK decodes from the k kept rows of W_dec. @default {true} */
  sparseDecode?: boolean;
  /** Keep the weights as f16 on the GPU (when it supports `shader-f16`). @default {false} */
  f16?: boolean;
}

/**
 * An SAE's ops as WGSL kernels on a WebGPU device.
 *
 * @example
 * ```ts ignore
 * const engine = new GpuSae(await getGpu(), cfg, architecture, architecture.kernelWeights(cfg, weights));
 * const features = await engine.encode(acts).read();
 * ```
 */
export class GpuSae implements SaeEngine {
  /** Always `webgpu`. */
  readonly device = "webgpu" as const;
  /** What runs it. */
  readonly description: string;
  /** The configuration. */
  readonly cfg: SaeConfig;
  /** The registered architecture. */
  readonly architecture: Architecture;
  /** Whether the weights are f16 on the GPU. */
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

  /**
   * Uploads the weights.
   *
   * @param gpu The device.
   * @param cfg The configuration.
   * @param architecture The registered architecture.
   * @param kernel The weights the kernels use (`architecture.kernelWeights`), float32.
   * @param options Decoding choices.
   */
  constructor(gpu: Gpu, cfg: SaeConfig, architecture: Architecture, kernel: SaeWeights, options: GpuSaeOptions = {}) {
    this.#gpu = gpu;
    this.cfg = cfg;
    this.architecture = architecture;
    this.f16 = (options.f16 ?? false) && gpu.hasF16;
    this.description = `webgpu (${gpu.adapter})`;
    this.#k = this.architecture.topK(cfg);
    this.#sparseDecode = options.sparseDecode ?? true;
    this.#rowsPerChunk = rowsPerBinding(gpu, Math.max(cfg.d_sae, cfg.d_in));

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

  /** The device. */
  get gpu(): Gpu {
    return this.#gpu;
  }

  encode(x: SaeInput): GpuTensor {
    return this.#run((encoder, temps) => this.#encode(encoder, x, temps, { features: true, recon: false }).features!);
  }

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

  forward(x: SaeInput): GpuTensor {
    return this.#run((encoder, temps) => this.#encode(encoder, x, temps, { features: false, recon: true }).recon!);
  }

  encodeDecode(x: SaeInput): { features: GpuTensor; recon: GpuTensor } {
    let features: GpuTensor | undefined;
    const recon = this.#run((encoder, temps) => {
      const out = this.#encode(encoder, x, temps, { features: true, recon: true });
      features = out.features;
      return out.recon!;
    });
    return { features: features!, recon };
  }

  encodeWithHiddenPre(x: SaeInput): { features: GpuTensor; hiddenPre: GpuTensor } {
    let hiddenPre: GpuTensor | undefined;
    const features = this.#run((encoder, temps) => {
      const out = this.#encode(encoder, x, temps, { features: true, recon: false, hiddenPre: true });
      hiddenPre = out.hiddenPre;
      return out.features!;
    });
    return { features, hiddenPre: hiddenPre! };
  }

  activate(hiddenPre: SaeInput, x?: SaeInput): GpuTensor {
    const gpu = this.#gpu;
    const { activation } = this.architecture;
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
    submit(this.#gpu, encoder);
    // Destroying after submit frees the memory once the submitted work has run.
    for (const t of temps) if (t !== out) t.destroy();
    return out;
  }

  #toGpu(encoder: GPUCommandEncoder, x: SaeInput, width: number, temps: Disposable[]): GpuTensor {
    const shape = saeInputShape(this.cfg, x.shape, width);
    if (x instanceof GpuTensor) {
      const t = x.reshape(shape).rechunk(encoder, this.#rowsPerChunk);
      if (t.chunks[0] !== x.chunks[0]) temps.push(t);
      return t;
    }
    if ("read" in x) {
      throw new TypeError(
        "Cannot run a webgpu SAE on a tensor of another device: pass its values (await tensor.toHost())",
      );
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
