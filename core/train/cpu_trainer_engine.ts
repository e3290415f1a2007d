/**
 * The CPU engine of {@linkcode SaeTrainer}: parameters and Adam moments in host memory, each step's
 * gradients from one ONNX graph (`cpu_step.ts`) run by ONNX Runtime's native kernels, then clipping, Adam
 * and the decoder constraint over the host arrays, as `train_optimizer.wgsl` and
 * `train_decoder_rows.wgsl` do on the GPU.
 *
 * @module
 */

import { createCpuSession, loadOrtNode, type Ort, type OrtSession, type OrtTensor } from "../cpu/ort_node.ts";
import type { OnnxDtype, OnnxValueInfo } from "../util/onnx_proto.ts";
import { type RowValues, runInRowBlocks } from "../cpu/row_blocks.ts";
import { addHostScatters, PER_ROW_KEPT, projectOutRows, stepGraph } from "./cpu_step.ts";
import { FLOAT32_MAX } from "../util/float32.ts";
import { type ParameterMap, tensorKind } from "./initial_parameters.ts";
import { type SaeTrainingConfig, unitNormDecoder } from "./sae_training_config.ts";
import type { EngineReadback, EngineStepInput, TrainerEngine } from "./trainer_engine.ts";
import type { TrainingArchitecture } from "./training_architecture.ts";
import { trainingArchitecture } from "./training_architectures.ts";

interface Parameter {
  name: string;
  dims: number[];
  value: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** A step graph's session and the inputs it takes. */
interface StepSession {
  session: OrtSession;
  inputs: { name: string; dtype: OnnxDtype }[];
  outputs: readonly OnnxValueInfo[];
  /** The architecture's selection, run before the step in row blocks. */
  selection?: { session: OrtSession; inputs: string[]; outputs: readonly OnnxValueInfo[] };
}

/** Largest gradient norm before clipping, as SAELens (`clip_grad_norm_(…, 1.0)`). */
const MAX_NORM = 1;
const ADAM_EPS = 1e-8;

/**
 * An SAE's training state in host memory, stepped on ONNX Runtime's CPU kernels.
 *
 * @example
 * ```ts ignore
 * const engine = new CpuTrainerEngine(cfg, params, new Map());
 * const readback = await engine.step(input);
 * ```
 */
export class CpuTrainerEngine implements TrainerEngine {
  readonly #cfg: SaeTrainingConfig;
  readonly #arch: TrainingArchitecture;
  readonly #sparse: boolean | undefined;
  readonly #params: Parameter[];
  // The graph without the auxiliary term or the one with it, built when first needed.
  readonly #sessions = new Map<boolean, Promise<StepSession>>();
  // W_enc's host-scattered gradient columns, gathered as rows before they are added transposed
  #scatterScratch?: Float32Array;
  // TopK's selection and host-scattered lists, written by ONNX Runtime into the same arrays every step: no fresh pages
  // for it to fill (about 5% of a 768 x 24576 TopK step, measured), though onnxruntime-node still hands back its own
  // copy of every output, which is dropped
  readonly #buffers = new Map<string, Float32Array | BigInt64Array>();

  /**
   * Takes the parameters (copied) and moments.
   *
   * @param cfg The SAE's settings.
   * @param params Initial parameters, in storage order.
   * @param moments Adam moments to start from (`m.NAME`, `v.NAME`); missing ones start at 0.
   * @param sparse TopK's gradient sums from the kept latents on the host (`true`), by dense products (`false`), or
   *   by width (unset).
   */
  constructor(cfg: SaeTrainingConfig, params: ParameterMap, moments: ParameterMap, sparse?: boolean) {
    this.#cfg = cfg;
    this.#sparse = sparse;
    this.#arch = trainingArchitecture(cfg.architecture);
    const { d_in: dIn, d_sae: dSae } = cfg;
    const dimsOf = (name: string, size: number) =>
      name === "W_enc" ? [dIn, dSae] : name === "W_dec" ? [dSae, dIn] : [size];
    this.#params = [...params].map(([name, value]) => ({
      name,
      dims: dimsOf(name, value.length),
      value: Float32Array.from(value),
      grad: new Float32Array(value.length),
      m: new Float32Array(value.length),
      v: new Float32Array(value.length),
    }));
    this.setTensors(moments);
  }

  #session(withTerm: EngineStepInput["term"]): Promise<StepSession> {
    const key = withTerm !== undefined;
    let session = this.#sessions.get(key);
    if (!session) {
      // One session at a time: each keeps its step's peak memory for the next step (ONNX Runtime's arena), and a
      // run switches graphs only when latents die or come back.
      this.destroy();
      const dims = new Map(this.#params.map((p) => [p.name, p.dims]));
      const g = stepGraph(this.#cfg, this.#arch, withTerm, dims, this.#sparse);
      const built = g.build();
      const selection = this.#arch.cpu.selection?.(this.#cfg, withTerm);
      const selectionBuilt = selection?.build();
      session = Promise.all([createCpuSession(built), selectionBuilt && createCpuSession(selectionBuilt)]).then((
        [s, selecting],
      ) => ({
        session: s,
        inputs: g.inputTypes,
        outputs: built.outputs,
        selection: selecting &&
          { session: selecting, inputs: selection!.inputNames, outputs: selectionBuilt!.outputs },
      }));
      session.catch(() => this.#sessions.delete(key));
      this.#sessions.set(key, session);
    }
    return session;
  }

  async step(input: EngineStepInput): Promise<EngineReadback> {
    const cfg = this.#cfg, { d_in: dIn } = cfg, term = input.term;
    const [ort, { session, inputs, outputs, selection }] = await Promise.all([loadOrtNode(), this.#session(term)]);
    const given: Record<string, [Float32Array | BigInt64Array, number[]]> = {
      x: [input.x, [input.batch, dIn]],
      lambda: [Float32Array.of(input.lambdaPerRow), []],
      scale: [Float32Array.of(2 / input.batch), []],
      aux_scale: [Float32Array.of(term?.gradScale(input.batch) ?? 0), []],
      dead_mask: [input.deadMask, [cfg.d_sae]],
      k_aux: [BigInt64Array.of(BigInt(term?.k ?? 0)), [1]],
    };
    for (const p of this.#params) given[p.name] = [p.value, p.dims];
    if (selection) {
      const fixed = Object.fromEntries(
        selection.inputs.filter((n) => n !== "x").map((n) => [n, new ort.Tensor("float32", ...given[n])]),
      );
      const selected: Record<string, RowValues> = {};
      for (const { name, dtype, dims } of selection.outputs) {
        const width = dims![1] as number;
        selected[name] = { data: this.#buffer(name, dtype, input.batch * width), width };
        given[name] = [selected[name].data, [input.batch, width]];
      }
      await runInRowBlocks(ort, selection.session, input.batch, { x: { data: input.x, width: dIn } }, fixed, selected);
    }
    const feeds: Record<string, OrtTensor> = {};
    for (const { name, dtype } of inputs) {
      const [data, dims] = given[name];
      feeds[name] = new ort.Tensor(dtype === "int64" ? "int64" : "float32", data, dims);
    }
    const fetches = this.#fetchesFor(ort, outputs, input.batch);
    const ran = await session.run(feeds, fetches);
    // a preallocated output is read from its own buffer
    const out = Object.fromEntries(Object.keys(fetches).map((n) => [n, fetches[n] ?? ran[n]]));
    const read = (name: string) => out[name].data as Float32Array;
    for (const p of this.#params) {
      if (out[`grad.${p.name}`]) p.grad.set(read(`grad.${p.name}`));
      else p.grad.fill(0);
    }
    const grads = new Map(this.#params.map((p) => [p.name, p.grad]));
    this.#scatterScratch ??= new Float32Array(cfg.d_sae * dIn);
    addHostScatters(out, grads, cfg, this.#scatterScratch);
    if (unitNormDecoder(this.#cfg)) projectOutRows(grads.get("W_dec")!, this.#value("W_dec"), dIn);
    const sumSquares = new Float32Array(this.#params.length);
    // indexed loops: V8 runs a for-of over a typed array about ten times slower
    this.#params.forEach(({ grad }, i) => {
      let total = 0;
      for (let j = 0; j < grad.length; j++) total += grad[j] * grad[j];
      sumSquares[i] = total;
    });
    this.#update(input, Math.sqrt(sumSquares.reduce((a, b) => a + b, 0)));
    const minKept = out.min_kept ? read("min_kept")[0] : Infinity;
    return {
      rowStats: read("row_stats"),
      fired: read("fired"),
      actSums: read("act_sums"),
      norms: read("norms"),
      sumSquares,
      minKept: minKept < FLOAT32_MAX ? minKept : undefined,
    };
  }

  /** The step's outputs of a size known before the run, in buffers kept between steps; the others, ONNX Runtime's. */
  #fetchesFor(ort: Ort, outputs: readonly OnnxValueInfo[], batch: number): Record<string, OrtTensor | null> {
    const fetches: Record<string, OrtTensor | null> = {};
    for (const { name, dtype, dims } of outputs) {
      fetches[name] = null;
      if (dims?.[0] !== PER_ROW_KEPT) continue;
      const shape = [batch * this.#cfg.k, ...dims.slice(1) as number[]];
      const buffer = this.#buffer(name, dtype, shape.reduce((a, b) => a * b, 1));
      fetches[name] = new ort.Tensor(dtype === "int64" ? "int64" : "float32", buffer, shape);
    }
    return fetches;
  }

  /** The buffer kept between steps for a value of this size. */
  #buffer(name: string, dtype: OnnxDtype, size: number): Float32Array | BigInt64Array {
    let buffer = this.#buffers.get(name);
    if (buffer?.length !== size) {
      buffer = dtype === "int64" ? new BigInt64Array(size) : new Float32Array(size);
      this.#buffers.set(name, buffer);
    }
    return buffer;
  }

  #value(name: string): Float32Array {
    return this.#params.find((p) => p.name === name)!.value;
  }

  /** Clips every gradient by the global norm, takes Adam's step, and renormalises unit-norm decoder rows. */
  #update(input: EngineStepInput, gradNorm: number): void {
    const { adam_beta1: b1, adam_beta2: b2 } = this.#cfg;
    const clip = Math.min(1, MAX_NORM / (gradNorm + 1e-6));
    const stepSize = input.lr / (1 - b1 ** input.t), bias2Sqrt = Math.sqrt(1 - b2 ** input.t);
    for (const { value, grad, m, v } of this.#params) {
      for (let i = 0; i < value.length; i++) {
        const g = grad[i] * clip;
        const mi = m[i] = b1 * m[i] + (1 - b1) * g;
        const vi = v[i] = b2 * v[i] + (1 - b2) * g * g;
        value[i] -= stepSize * mi / (Math.sqrt(vi) / bias2Sqrt + ADAM_EPS);
      }
    }
    if (!unitNormDecoder(this.#cfg)) return;
    const w = this.#value("W_dec"), dIn = this.#cfg.d_in;
    for (let j = 0; j < this.#cfg.d_sae; j++) {
      const row = w.subarray(j * dIn, (j + 1) * dIn);
      let s = 0;
      for (let d = 0; d < dIn; d++) s += row[d] * row[d];
      const n = Math.max(Math.sqrt(s), 1e-30);
      for (let d = 0; d < dIn; d++) row[d] /= n;
    }
  }

  state(): Promise<ParameterMap> {
    const tensors: ParameterMap = new Map();
    for (const p of this.#params) {
      tensors.set(p.name, Float32Array.from(p.value));
      tensors.set(`m.${p.name}`, Float32Array.from(p.m));
      tensors.set(`v.${p.name}`, Float32Array.from(p.v));
    }
    return Promise.resolve(tensors);
  }

  gradients(): Promise<ParameterMap> {
    return Promise.resolve(new Map(this.#params.map((p) => [p.name, Float32Array.from(p.grad)])));
  }

  setTensors(tensors: ParameterMap): void {
    for (const [name, value] of tensors) {
      const { moment, parameter } = tensorKind(name);
      const p = this.#params.find((q) => q.name === parameter)!;
      (moment === "m" ? p.m : moment === "v" ? p.v : p.value).set(value);
    }
  }

  destroy(): void {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) {
      s.then(({ session, selection }) => Promise.all([session.release(), selection?.session.release()])).catch(
        () => {},
      );
    }
  }
}
