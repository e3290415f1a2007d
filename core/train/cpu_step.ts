/**
 * The ONNX graph of one training step on the CPU: what every architecture shares (sae_in, the
 * reconstruction of each Matryoshka level, its MSE and gradients, the decoder-norm sparsity gradient,
 * b_dec's share through sae_in, the unit-norm projection, the outputs) around the architecture's own
 * forward and backward nodes (its `cpu` part). The graph takes the parameters and the step's scalars as
 * inputs and gives every gradient and statistic, so one session serves every step.
 *
 * @module
 */

import { GraphBuilder } from "../cpu/graph_builder.ts";
import { FLOAT32_MAX } from "../util/float32.ts";
import { levelWidths, type SaeTrainingConfig, sparsityByDecoderNorm } from "./sae_training_config.ts";
import type { AuxiliaryTerm, TrainingArchitecture } from "./training_architecture.ts";

/**
 * The features of a step as the graph holds them: a dense [rows, d_sae] row per token, or the kept latents as
 * flat lists (TopK family) of their row, column and value. `pre` is hidden_pre [rows, d_sae] (gated: π_gate), which
 * TopK's graph has only where AuxK reads it.
 */
export type CpuFeatures =
  | { kind: "dense"; pre: string; acts: string }
  | { kind: "kept"; pre?: string; rowIndex: string; column: string; values: string; perRow?: PerRow };

/** TopK's kept latents as [rows, k] (`values` ReLU'd, `index` their columns): batched products replace scatters. */
export interface PerRow {
  /** The kept values [rows, k]. */
  values: string;
  /** Their columns [rows, k] (int64). */
  index: string;
}

/** The symbolic size of TopK's host-scattered lists: rows · k. */
export const PER_ROW_KEPT = "rows_k";

/** An architecture's nodes of the CPU step. */
export interface CpuTrainingParts {
  /** hidden_pre from sae_in (`s.xin`) and the features. */
  forward(s: CpuStep): CpuFeatures;
  /**
   * From ∂loss/∂features (dense [rows, d_sae], or one value per kept latent), every gradient of the encoder's
   * parameters, the auxiliary term when the step has one, and the activation sums where they differ from the
   * features' (gated).
   */
  backward(s: CpuStep, f: CpuFeatures, dFeatures: string): void;
  /**
   * A graph from x and the parameters, run before the step over its rows in blocks (core/cpu/row_blocks.ts: its
   * encoder product then stays in cache), whose outputs ([rows, width] each) the step graph takes as inputs of the
   * same names.
   */
  selection?(cfg: SaeTrainingConfig, term: AuxiliaryTerm | undefined): GraphBuilder;
}

/**
 * One step's graph under construction, with the helpers the architectures' parts build with.
 *
 * @example An encoder's pre-activation
 * ```ts ignore
 * const s = new CpuStep(cfg, undefined, dims);
 * const pre = s.gemm(s.xin, s.param("W_enc"), { bias: s.param("b_enc") });
 * ```
 */
export class CpuStep {
  /** The graph. */
  readonly g: GraphBuilder = new GraphBuilder();
  /** The SAE's settings. */
  readonly cfg: SaeTrainingConfig;
  /** The step's auxiliary term, or none (the graph is built once for each). */
  readonly term: AuxiliaryTerm | undefined;
  /** The input rows [rows, d_in]. */
  readonly x: string;
  /** sae_in [rows, d_in]: x − b_dec, or x. */
  readonly xin: string;
  /** λ / batch (scalar input). */
  readonly lambda: string;
  /** 2 / batch, the MSE's gradient scale (scalar input). */
  readonly scale: string;
  /** The auxiliary term's gradient scale (scalar input). */
  readonly auxScale: string;
  /** 1 for each latent dead at the start of the step [d_sae]. */
  readonly deadMask: string;
  /** AuxK's k [1] (int64 input). */
  readonly kAux: string;
  /** Decoder row norms at the start of the step [d_sae]. */
  readonly norms: string;
  /** The full reconstruction [rows, d_in], once the shared part has built it. */
  recon = "";
  /** Per-latent sums the sparsity term weights, when not the features' sums. */
  actSums?: string;
  /** BatchTopK's smallest kept value [], when the architecture keeps a batch threshold. */
  minKept?: string;
  readonly #grads = new Map<string, string[]>();
  readonly #stats = new Map<number, string>();
  readonly #hostScatters: {
    name: string;
    column: string;
    scale: string;
    row: string;
    source: string;
    perRow: boolean;
    output: string;
  }[] = [];
  readonly #inputBiases: [string, string][] = [];
  readonly #dims: Map<string, number[]>;

  /**
   * Declares the inputs and sae_in.
   *
   * @param cfg The SAE's settings.
   * @param term The auxiliary term the graph has, if any.
   * @param dims Each parameter's dims, in storage order.
   * @param sparse TopK's gradient sums by host scatters (`true`), dense products (`false`) or by width (unset).
   */
  constructor(
    cfg: SaeTrainingConfig,
    term: AuxiliaryTerm | undefined,
    dims: Map<string, number[]>,
    readonly sparse?: boolean,
  ) {
    const g = this.g, { d_in: dIn, d_sae: dSae } = cfg;
    this.cfg = cfg;
    this.term = term;
    this.#dims = dims;
    this.x = g.input("x", ["rows", dIn]);
    this.lambda = g.input("lambda", []);
    this.scale = g.input("scale", []);
    this.auxScale = term ? g.input("aux_scale", []) : "";
    this.deadMask = term ? g.input("dead_mask", [dSae]) : "";
    this.kAux = term ? g.input("k_aux", [1], "int64") : "";
    this.xin = cfg.apply_b_dec_to_input ? this.op("Sub", [this.x, this.param("b_dec")]) : this.x;
    const wDec = this.param("W_dec");
    // a plain L1 (scale_sparsity_penalty_by_decoder_norm false) weighs every latent 1
    this.norms = sparsityByDecoderNorm(cfg)
      ? this.op("Sqrt", [this.rowSum(this.op("Mul", [wDec, wDec]), false)])
      : this.op("Expand", [this.c(1), g.int64s([dSae])]);
  }

  /** A parameter's input. */
  param(name: string): string {
    return this.g.input(name, this.#dims.get(name)!);
  }

  /** Adds a node with one output. */
  op(type: string, inputs: readonly string[], attributes?: Parameters<GraphBuilder["node"]>[2]): string {
    return this.g.node(type, inputs, attributes);
  }

  /** A float scalar constant. */
  c(value: number): string {
    return this.g.scalar(value);
  }

  /** `a · b` (2-D), either side transposed first. */
  gemm(a: string, b: string, o: { transA?: boolean; transB?: boolean; bias?: string } = {}): string {
    return this.op("Gemm", o.bias ? [a, b, o.bias] : [a, b], { transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0 });
  }

  /** Sums over axis 1, kept as [rows, 1] (`keep`) or dropped. */
  rowSum(a: string, keep = true): string {
    return this.op("ReduceSum", [a, this.g.int64s([1])], { keepdims: keep ? 1 : 0 });
  }

  /** Sums over the rows: [n]. */
  columnSum(a: string): string {
    return this.op("ReduceSum", [a, this.g.int64s([0])], { keepdims: 0 });
  }

  /** `a` where `cond`, else 0. */
  where(cond: string, a: string): string {
    return this.op("Where", [cond, a, this.c(0)]);
  }

  /**
   * Sums `updates` [K] or [K, width] into the rows `index` [K] of zeros shaped `dims`, each row's entries in K order.
   * Not ScatterND: ONNX Runtime's CPU kernel adds its slices on the intra-op threads unsynchronised, so rows that
   * repeat (a latent kept by many tokens) race, losing sums and changing run to run. ScatterElements walks the
   * scatter axis in order, one element (and one index) at a time: a [K, width] list is scattered transposed, each of
   * its `width` rows walking K contiguous entries (a third of the time of walking columns at 768 × 131,072). Still
   * slower than a pass over rows: a parameter's [K, d_in] gradient rows go to {@linkcode hostScatter} instead.
   */
  scatterAdd(dims: number[] | string, index: string, updates: string, width?: number): string {
    const g = this.g;
    if (width === undefined) {
      const zeros = this.op("ConstantOfShape", [typeof dims === "string" ? dims : g.int64s(dims)]);
      return this.op("ScatterElements", [zeros, index, updates], { axis: 0, reduction: { string: "add" } });
    }
    const shape = typeof dims === "string" ? dims : g.int64s(dims);
    const transposedShape = this.op("Concat", [
      this.op("Slice", [shape, g.int64s([1]), g.int64s([2])]),
      this.op("Slice", [shape, g.int64s([0]), g.int64s([1])]),
    ], { axis: 0 });
    const across = this.op("Expand", [
      this.op("Unsqueeze", [this.op("Cast", [index], { to: 6 }), g.int64s([0])]), // int32 [1, K]
      g.int64s([width, 1]),
    ]);
    const summed = this.op("ScatterElements", [
      this.op("ConstantOfShape", [transposedShape]),
      across,
      this.op("Transpose", [updates], { perm: [1, 0] }),
    ], { axis: 1, reduction: { string: "add" } });
    return this.op("Transpose", [summed], { perm: [1, 0] });
  }

  /**
   * Adds to a parameter's gradient on the host, in entry order, one row per kept entry e: `scale[e]` times the row
   * `row[e]` of `source` [rows, d_in], at the latent `column[e]` (W_dec's rows are its rows; W_enc's are its
   * columns), summed by {@linkcode addHostScatters}. ScatterND races and ScatterElements takes ten times as long; and
   * the graph gives the factors (`scatter.NAME.N.column`, `.scale`, `.row` and `.source`) rather than the [K, d_in]
   * rows, which onnxruntime-node would copy out once more (two [rows · k, d_in] copies a step for TopK).
   */
  hostScatter(
    name: "W_enc" | "W_dec",
    kept: { column: string; scale: string; row: string; source: string },
    perRow: boolean,
  ): void {
    const n = this.#hostScatters.filter((h) => h.name === name).length;
    this.#hostScatters.push({ name, ...kept, perRow, output: `scatter.${name}.${n}` });
  }

  /** Adds a contribution to a parameter's gradient. */
  grad(name: string, value: string): void {
    this.#grads.set(name, [...this.#grads.get(name) ?? [], value]);
  }

  /** Records per-row loss sums [rows, 1] in a stats slot (0 reconstruction, 1 auxiliary, 2… levels). */
  stat(slot: number, rowSums: string): void {
    this.#stats.set(slot, rowSums);
  }

  /**
   * The gradients of an encoder `pre = sae_in · w + bias` from ∂pre [rows, d_sae]: ∂w into the parameter `w` (a
   * parameter's input has its name) unless `weightGrad` takes it (gated's magnitude path, whose w is computed),
   * ∂bias into the parameter `bias`, and b_dec's share through sae_in.
   */
  encoderGrads(dPre: string, o: { w: string; bias: string; weightGrad?: (dW: string) => void }): void {
    const dW = this.gemm(this.xin, dPre, { transA: true });
    if (o.weightGrad) o.weightGrad(dW);
    else this.grad(o.w, dW);
    this.grad(o.bias, this.columnSum(dPre));
    this.inputBias(o.w, o.bias);
  }

  /** The encoder gradients of the kept latents from ∂value of each [K]: rows of ∂W_encᵀ and ∂b_enc. */
  keptEncoderGrads(f: Extract<CpuFeatures, { kind: "kept" }>, dPre: string): void {
    const { d_sae: dSae } = this.cfg;
    if (f.perRow && this.densePerRow) {
      this.grad("W_enc", this.gemm(this.xin, this.perRowDense(f.perRow, dPre), { transA: true }));
    } else {
      // each kept latent's row of ∂W_encᵀ is its ∂pre times its token's sae_in
      const kept = { column: f.column, scale: dPre, row: f.rowIndex, source: this.xin };
      this.hostScatter("W_enc", kept, f.perRow !== undefined);
    }
    this.grad("b_enc", this.scatterAdd([dSae], f.column, dPre));
    this.inputBias(this.param("W_enc"), "b_enc");
  }

  /**
   * Whether TopK's [rows, k] lists take dense products (through {@linkcode perRowDense}) rather than host scatters
   * (`sparse` decides when set):
   * a GEMM's 2 · d_sae flops per row and input column against a scatter's k host additions. The scatter wins for
   * SAELens's widths (d_sae 24576, k 32: 15 times fewer operations); the GEMM for narrow SAEs (d_sae 1024).
   */
  get densePerRow(): boolean {
    return this.sparse === undefined ? this.cfg.d_sae <= 64 * this.cfg.k : !this.sparse;
  }

  /** A per-row list's `values` [rows · k] (or [rows, k]) in their columns of a zero [rows, d_sae] matrix. */
  perRowDense(top: PerRow, values: string): string {
    const g = this.g;
    const rows = this.op("Slice", [this.op("Shape", [this.x]), g.int64s([0]), g.int64s([1])]);
    const zeros = this.op("ConstantOfShape", [this.op("Concat", [rows, g.int64s([this.cfg.d_sae])], { axis: 0 })]);
    const perRow = this.op("Reshape", [values, g.int64s([-1, this.cfg.k])]);
    // each row's k columns are distinct, so no two entries meet: ScatterElements without a reduction
    return this.op("ScatterElements", [zeros, top.index, perRow], { axis: 1 });
  }

  /** [K] → [K, 1]. */
  unsqueeze(a: string): string {
    return this.op("Unsqueeze", [a, this.g.int64s([1])]);
  }

  /** Registers an encoder whose bias gradient b_dec shares through sae_in = x − b_dec (as −w · ∂bias). */
  inputBias(w: string, bias: string): void {
    if (this.cfg.apply_b_dec_to_input) this.#inputBiases.push([w, bias]);
  }

  /**
   * Fits a decode of `acts` [rows, d_sae] (plus b_dec with `bias`) to the detached residual x − x̂ (`againstResidual`)
   * or x: its row sums into slot 1 and ∂loss/∂acts [rows, d_sae]; ∂W_dec too where the term trains the decoder.
   */
  fitAuxiliary(acts: string, o: { againstResidual: boolean; decoderGrad: boolean; bias?: boolean }): string {
    const wDec = this.param("W_dec");
    const out = this.gemm(acts, wDec, o.bias ? { bias: this.param("b_dec") } : {});
    const target = o.againstResidual ? this.op("Sub", [this.x, this.recon]) : this.x;
    const e = this.op("Sub", [out, target]);
    this.stat(1, this.rowSum(this.op("Mul", [e, e])));
    const dOut = this.op("Mul", [e, this.auxScale]);
    if (o.decoderGrad) this.grad("W_dec", this.gemm(acts, dOut, { transA: true }));
    return this.gemm(dOut, wDec, { transB: true });
  }

  /** The selection of the `k` largest values of each row of `a` (or of a flat [1, n] row): values and indices. */
  topk(a: string, k: string): { values: string; indices: string } {
    const [values, indices] = this.g.nodes("TopK", [a, k], 2, { axis: -1, largest: 1, sorted: 0 });
    return { values, indices };
  }

  /** The number of rows, as an int64 scalar. */
  rows(): string {
    return this.op("Gather", [this.op("Shape", [this.x]), this.g.int64(0)], { axis: 0 });
  }

  /** AuxK's selection: each row's k_aux largest pre-activations among the dead latents, dense [rows, d_sae]. */
  deadTopK(pre: string): string {
    const dead = this.op("Greater", [this.deadMask, this.c(0)]);
    const { values } = this.topk(this.op("Where", [dead, pre, this.c(-FLOAT32_MAX)]), this.kAux);
    const threshold = this.op("ReduceMin", [values], { axes: [1], keepdims: 1 });
    return this.where(this.op("And", [dead, this.op("GreaterOrEqual", [pre, threshold])]), pre);
  }

  /** Completes the graph: the shared gradient terms and every output. */
  finish(arch: TrainingArchitecture, f: CpuFeatures, widths: number[]): GraphBuilder {
    const g = this.g, cfg = this.cfg, { d_sae: dSae } = cfg;
    const summed = (name: string) => {
      const parts = this.#grads.get(name) ?? [];
      if (parts.length === 0) return this.op("ConstantOfShape", [g.int64s(this.#dims.get(name)!)]);
      return parts.length === 1 ? parts[0] : this.op("Sum", parts);
    };
    for (const [w, bias] of this.#inputBiases) {
      this.grad("b_dec", this.op("Neg", [this.op("MatMul", [w, summed(bias)])]));
    }
    const wDec = this.param("W_dec");
    const positive = (v: string) => this.op("Cast", [this.op("Greater", [v, this.c(0)])], { to: 1 });
    const fired = f.kind === "dense"
      ? this.columnSum(positive(f.acts))
      : this.scatterAdd([dSae], f.column, positive(f.values));
    const actSums = this.actSums ??
      (f.kind === "dense" ? this.columnSum(f.acts) : this.scatterAdd([dSae], f.column, f.values));
    if (arch.sparsity === "l1_decoder_norm" && sparsityByDecoderNorm(this.cfg)) {
      const c = this.op("Div", [this.op("Mul", [this.lambda, actSums]), this.op("Max", [this.norms, this.c(1e-30)])]);
      this.grad("W_dec", this.op("Mul", [this.unsqueeze(c), wDec]));
    }
    // a gradient summed on the host only (TopK's W_dec, W_enc) leaves no graph part; unit-norm decoders project their
    // W_dec gradient there too, once the host's sums are in
    for (const name of this.#dims.keys()) {
      if (this.#grads.has(name) || !this.#hostScatters.some((h) => h.name === name)) {
        g.output(summed(name), `grad.${name}`, this.#dims.get(name)!);
      }
    }
    // TopK's lists hold k entries a row: "rows_k" tells the engine their size before the run (it writes them into
    // buffers kept between steps); BatchTopK's vary
    for (const h of this.#hostScatters) {
      const kept = h.perRow ? PER_ROW_KEPT : "kept";
      g.output(h.column, `${h.output}.column`, [kept], "int64");
      g.output(h.scale, `${h.output}.scale`, [kept]);
      g.output(h.row, `${h.output}.row`, [kept], "int64");
      g.output(h.source, `${h.output}.source`, ["rows", cfg.d_in]);
    }
    const zeros = this.op("Mul", [this.#stats.get(0)!, this.c(0)]);
    const slots = [0, 1, ...widths.slice(0, -1).map((_, l) => 2 + l)].map((slot) => this.#stats.get(slot) ?? zeros);
    g.output(this.op("Concat", slots, { axis: 1 }), "row_stats", ["rows", slots.length]);
    g.output(fired, "fired", [dSae]);
    g.output(actSums, "act_sums", [dSae]);
    g.output(this.norms, "norms", [dSae]);
    if (this.minKept) g.output(this.minKept, "min_kept", []);
    return g;
  }
}

/**
 * The whole step's graph for an architecture, with or without its auxiliary term.
 *
 * @example
 * ```ts ignore
 * const g = stepGraph(cfg, trainingArchitecture(cfg.architecture), undefined, dims);
 * const session = await createCpuSession(g.build());
 * ```
 *
 * @param cfg The SAE's settings.
 * @param arch Its training architecture.
 * @param term The auxiliary term the graph has, if any (its scale is an input).
 * @param dims Each parameter's dims, in storage order.
 * @param sparse TopK's gradient sums by host scatters (`true`), dense products (`false`) or by width (unset).
 * @returns The graph.
 */
export function stepGraph(
  cfg: SaeTrainingConfig,
  arch: TrainingArchitecture,
  term: AuxiliaryTerm | undefined,
  dims: Map<string, number[]>,
  sparse?: boolean,
): GraphBuilder {
  const s = new CpuStep(cfg, term, dims, sparse);
  const widths = levelWidths(cfg);
  const f = arch.cpu.forward(s);
  const dFeatures = f.kind === "dense" ? denseReconstruction(s, f, widths) : keptReconstruction(s, f, widths);
  arch.cpu.backward(s, f, dFeatures);
  return s.finish(arch, f, widths);
}

/** Each level's MSE [rows, 1] into its slot and its gradient ∂loss/∂x̂ (2/batch · (x̂ − x)). */
function levelLoss(s: CpuStep, recon: string, level: number, levels: number): string {
  const e = s.op("Sub", [recon, s.x]);
  s.stat(level === levels - 1 ? 0 : 2 + level, s.rowSum(s.op("Mul", [e, e])));
  return s.op("Mul", [e, s.scale]);
}

/** Dense products over every latent (one level: only the TopK family has levels, and it decodes kept latents). */
function denseReconstruction(s: CpuStep, f: Extract<CpuFeatures, { kind: "dense" }>, widths: number[]): string {
  if (widths.length > 1) throw new TypeError("Matryoshka levels decode kept latents, not dense features");
  const wDec = s.param("W_dec");
  s.recon = s.gemm(f.acts, wDec, { bias: s.param("b_dec") });
  const dRecon = levelLoss(s, s.recon, 0, 1);
  s.grad("W_dec", s.gemm(f.acts, dRecon, { transA: true }));
  s.grad("b_dec", s.columnSum(dRecon));
  return s.gemm(dRecon, wDec, { transB: true });
}

/**
 * Decodes from the kept latents' rows of W_dec only: each level sums its kept latents' rows into their tokens;
 * ∂value of a kept latent is the dot of its decoder row with the summed ∂x̂ of the levels it is in, and its row of
 * ∂W_dec the same sum times its value.
 */
function keptReconstruction(s: CpuStep, f: Extract<CpuFeatures, { kind: "kept" }>, widths: number[]): string {
  const { d_in: dIn, d_sae: dSae } = s.cfg;
  // TopK's fixed k per row (BatchTopK and Matryoshka keep variable counts and levels)
  if (f.perRow) return perRowReconstruction(s, f, f.perRow);
  const wDec = s.param("W_dec");
  const rowsOfW = s.op("Gather", [wDec, f.column], { axis: 0 }); // [K, d_in]
  const outShape = s.op("Shape", [s.x]);
  const inLevel = (w: number) => s.op("Cast", [s.op("Less", [f.column, s.g.int64s([w])])], { to: 1 });
  const dRows = widths.map((w, l) => {
    const values = w === dSae ? f.values : s.op("Mul", [f.values, inLevel(w)]);
    const summed = s.scatterAdd(outShape, f.rowIndex, s.op("Mul", [rowsOfW, s.unsqueeze(values)]), dIn);
    const recon = s.op("Add", [summed, s.param("b_dec")]);
    if (l === widths.length - 1) s.recon = recon;
    const dRecon = levelLoss(s, recon, l, widths.length);
    s.grad("b_dec", s.columnSum(dRecon));
    // a kept latent's row of ∂W_dec gets its value times ∂x̂ of each level it is in
    s.hostScatter("W_dec", { column: f.column, scale: values, row: f.rowIndex, source: dRecon }, false);
    const rows = s.op("Gather", [dRecon, f.rowIndex], { axis: 0 }); // [K, d_in]
    return w === dSae ? rows : s.op("Mul", [rows, s.unsqueeze(inLevel(w))]);
  });
  const dKept = dRows.length === 1 ? dRows[0] : s.op("Sum", dRows);
  return s.rowSum(s.op("Mul", [dKept, rowsOfW]), false);
}

/** TopK's reconstruction from [rows, k] lists: batched products over each row's k decoder rows. */
function perRowReconstruction(s: CpuStep, f: Extract<CpuFeatures, { kind: "kept" }>, top: PerRow): string {
  const g = s.g;
  const rowsOfW = s.op("Gather", [s.param("W_dec"), top.index], { axis: 0 }); // [rows, k, d_in]
  const weights = s.op("Unsqueeze", [top.values, g.int64s([1])]); // [rows, 1, k]
  const summed = s.op("Squeeze", [s.op("MatMul", [weights, rowsOfW]), g.int64s([1])]);
  s.recon = s.op("Add", [summed, s.param("b_dec")]);
  const dRecon = levelLoss(s, s.recon, 0, 1);
  s.grad("b_dec", s.columnSum(dRecon));
  const dValues = s.op("MatMul", [rowsOfW, s.op("Unsqueeze", [dRecon, g.int64s([2])])]); // [rows, k, 1]
  if (s.densePerRow) s.grad("W_dec", s.gemm(s.perRowDense(top, top.values), dRecon, { transA: true }));
  else {
    const kept = { column: f.column, scale: f.values, row: f.rowIndex, source: dRecon };
    s.hostScatter("W_dec", kept, true);
  }
  return s.op("Reshape", [dValues, g.int64s([-1])]);
}

/**
 * Adds a step's host scatters ({@linkcode CpuStep.hostScatter}) to the gradients `grads` (by parameter name): each
 * kept entry's scaled row at its latent, in entry order, so the sums are the same bits every run. W_dec's rows are its rows;
 * W_enc's are its columns, gathered in a reused [d_sae, d_in] buffer and added transposed.
 *
 * @example
 * ```ts ignore
 * addHostScatters(await session.run(feeds), grads, cfg);
 * ```
 *
 * @param out The step session's outputs.
 * @param grads Each parameter's gradient, its graph part already in.
 * @param cfg The SAE's sizes.
 * @param scratch A [d_sae × d_in] buffer reused between steps.
 */
export function addHostScatters(
  out: Record<string, { data: unknown }>,
  grads: Map<string, Float32Array>,
  cfg: Pick<SaeTrainingConfig, "d_in" | "d_sae">,
  scratch: Float32Array,
): void {
  const { d_in: dIn, d_sae: dSae } = cfg;
  for (const name of ["W_dec", "W_enc"]) {
    const outputs = Object.keys(out).filter((o) => o.startsWith(`scatter.${name}.`) && o.endsWith(".column"));
    if (outputs.length === 0) continue;
    const into = name === "W_dec" ? grads.get(name)! : scratch.fill(0);
    for (const o of outputs) {
      const kept = o.slice(0, -".column".length);
      const column = out[o].data as BigInt64Array, scale = out[`${kept}.scale`].data as Float32Array;
      const row = out[`${kept}.row`].data as BigInt64Array, source = out[`${kept}.source`].data as Float32Array;
      for (let e = 0; e < column.length; e++) {
        const c = scale[e];
        if (c === 0) continue; // a latent kept at 0 (ReLU'd) or outside a level adds nothing
        const at = Number(column[e]) * dIn, from = Number(row[e]) * dIn;
        // the float32 product, as the graph's Mul gave it
        for (let d = 0; d < dIn; d++) into[at + d] += Math.fround(c * source[from + d]);
      }
    }
    if (name === "W_dec") continue;
    // in 64 × 64 tiles: the writes of a tile stay within 64 cache lines
    const wEnc = grads.get("W_enc")!, tile = 64;
    for (let j0 = 0; j0 < dSae; j0 += tile) {
      for (let d0 = 0; d0 < dIn; d0 += tile) {
        for (let d = d0; d < Math.min(d0 + tile, dIn); d++) {
          for (let j = j0; j < Math.min(j0 + tile, dSae); j++) wEnc[d * dSae + j] += scratch[j * dIn + d];
        }
      }
    }
  }
}

/**
 * Removes from each row of W_dec's gradient its part along that row (`dW − (⟨dW, w⟩ / ⟨w, w⟩) w`), as SAELens's
 * `remove_gradient_parallel_to_decoder_directions` does for unit-norm decoders.
 *
 * @example
 * ```ts
 * import { projectOutRows } from "./cpu_step.ts";
 * const grad = Float32Array.of(1, 1), w = Float32Array.of(1, 0);
 * projectOutRows(grad, w, 2);
 * console.log(grad); // Float32Array [ 0, 1 ]
 * ```
 *
 * @param grad W_dec's gradient [d_sae, d_in], changed in place.
 * @param w W_dec [d_sae, d_in].
 * @param dIn Row width.
 */
export function projectOutRows(grad: Float32Array, w: Float32Array, dIn: number): void {
  for (let at = 0; at < w.length; at += dIn) {
    let along = 0, norm = 0;
    for (let d = 0; d < dIn; d++) {
      along += grad[at + d] * w[at + d];
      norm += w[at + d] * w[at + d];
    }
    const c = along / Math.max(norm, 1e-30);
    for (let d = 0; d < dIn; d++) grad[at + d] -= c * w[at + d];
  }
}
