/**
 * The CPU engine of an SAE: each op is one small ONNX graph per (architecture, options), built once
 * per SAE and run by onnxruntime-node's native kernels; weights are graph inputs, so a session is
 * created in milliseconds and every graph shares the one copy of the weights.
 *
 * @module
 */

import { CpuTensor } from "../cpu/cpu_tensor.ts";
import type { OnnxValueInfo } from "../util/onnx_proto.ts";
import { GraphBuilder } from "../cpu/graph_builder.ts";
import { normalizeInNodes, normalizeOutNodes, undoNames } from "../cpu/normalize_graph.ts";
import { CPU_THREADS, createCpuSession, loadOrtNode, type OrtSession, type OrtTensor } from "../cpu/ort_node.ts";
import { type RowValues, runInRowBlocks } from "../cpu/row_blocks.ts";
import { denseTopkNodes, sparseDecodeNodes, type TopkNodes, topkNodes } from "../cpu/topk_graph.ts";
import type { HostTensor } from "../gpu/tensor.ts";
import type { Tensor } from "../util/tensor.ts";
import type { Architecture, SaeWeights } from "./architecture.ts";
import type { SaeConfig } from "./config.ts";
import { saeInputShape } from "./input_shape.ts";
import type { EncodeDecodeResult, EncodeWithHiddenPreResult, SaeEngine, SaeInput } from "./sae_engine.ts";

/** The graphs: each encode-side op reads x; decode reads features, activate a pre-activation. */
type Op = "encode" | "forward" | "encodeDecode" | "encodeWithHiddenPre" | "decode" | "activate";

/** A run's outputs by name: float32 values, or the int64 columns of TopK's kept values. */
type Outputs = Record<string, Float32Array | BigInt64Array>;

/** A value fed to or read from a graph: row-major values and dims. */
type Fed = { data: Promise<Float32Array>; dims: readonly number[] };

/** Options of {@linkcode CpuSae}. */
export interface CpuSaeOptions {
  /** TopK decodes from the k kept rows of W_dec. @default {true} */
  sparseDecode?: boolean;
}

/**
 * An SAE's ops on ONNX Runtime's CPU execution provider.
 *
 * @example
 * ```ts ignore
 * const engine = new CpuSae(cfg, architecture, architecture.kernelWeights(cfg, weights));
 * const features = await engine.encode(acts).read();
 * ```
 */
export class CpuSae implements SaeEngine {
  /** Always `cpu`. */
  readonly device = "cpu" as const;
  /** What runs it. */
  readonly description = `cpu (onnxruntime-node, ${CPU_THREADS} thread${CPU_THREADS === 1 ? "" : "s"})`;

  readonly #cfg: SaeConfig;
  readonly #architecture: Architecture;
  readonly #weights: Map<string, { data: Float32Array; dims: number[] }>;
  readonly #k: number | undefined;
  readonly #sparseDecode: boolean;
  readonly #sessions = new Map<
    Op,
    Promise<{ session: OrtSession; inputs: string[]; outputs: readonly OnnxValueInfo[] }>
  >();
  readonly #inFlight = new Set<Promise<unknown>>();
  // Per-row normalization statistics of the last encode, which decode() undoes (as SAELens keeps them).
  #lastUndo: { rows: number; values: Promise<Record<string, Float32Array>> } | undefined;

  /**
   * Creates the engine; sessions are created on first use of each op.
   *
   * @param cfg The configuration.
   * @param architecture The registered architecture.
   * @param weights The weights the kernels use (`architecture.kernelWeights`), float32.
   * @param options Decoding choices.
   */
  constructor(cfg: SaeConfig, architecture: Architecture, weights: SaeWeights, options: CpuSaeOptions = {}) {
    this.#cfg = cfg;
    this.#architecture = architecture;
    this.#k = architecture.topK(cfg);
    this.#sparseDecode = options.sparseDecode ?? true;
    const { d_in: dIn, d_sae: dSae } = cfg;
    this.#weights = new Map<string, { data: Float32Array; dims: number[] }>([
      ["W_enc", { data: weights.W_enc.data, dims: [dIn, dSae] }],
      ["W_dec", { data: weights.W_dec.data, dims: [dSae, dIn] }],
      ["b_dec", { data: weights.b_dec.data, dims: [dIn] }],
    ]);
    for (const [name, data] of Object.entries(architecture.cpu.vectors(weights))) {
      this.#weights.set(name, { data, dims: [dSae] });
    }
  }

  encode(x: SaeInput): Tensor {
    return this.#encodeSide("encode", x).features!;
  }

  decode(f: SaeInput): Tensor {
    const features = this.#input(f, this.#cfg.d_sae);
    const rows = features.dims[0];
    const feeds: Record<string, Fed> = { f: features };
    if (undoNames(this.#cfg.normalize_activations)) {
      if (this.#lastUndo?.rows !== rows) {
        throw new TypeError(
          `Cannot decode with normalize_activations ${this.#cfg.normalize_activations} as it needs the statistics of an encode of the same ${rows} rows`,
        );
      }
      const undo = this.#lastUndo.values;
      for (const name of ["undo_scale", "undo_shift"]) {
        feeds[name] = { data: undo.then((u) => u[name] ?? new Float32Array(rows)), dims: [rows, 1] };
      }
    }
    const out = this.#run("decode", feeds);
    return new CpuTensor([...features.lead, this.#cfg.d_in], out.then((o) => o.recon as Float32Array));
  }

  forward(x: SaeInput): Tensor {
    return this.#encodeSide("forward", x).recon!;
  }

  encodeDecode(x: SaeInput): EncodeDecodeResult {
    const { features, recon } = this.#encodeSide("encodeDecode", x);
    return { features: features!, recon: recon! };
  }

  encodeWithHiddenPre(x: SaeInput): EncodeWithHiddenPreResult {
    const { features, hiddenPre } = this.#encodeSide("encodeWithHiddenPre", x);
    return { features: features!, hiddenPre: hiddenPre! };
  }

  activate(hiddenPre: SaeInput, x?: SaeInput): Tensor {
    const pre = this.#input(hiddenPre, this.#cfg.d_sae);
    const feeds: Record<string, Fed> = { pre };
    if (x !== undefined) feeds.x = this.#input(x, this.#cfg.d_in);
    const out = this.#run("activate", feeds);
    return new CpuTensor([...pre.lead, this.#cfg.d_sae], out.then((o) => this.#features(o)));
  }

  splice(x: SaeInput, features?: SaeInput): Tensor {
    // One encode gives the clean reconstruction and, when no edit is given, the features to decode.
    const { features: cleanFeatures, recon: clean } = this.encodeDecode(x);
    const edited = this.decode(features ?? cleanFeatures) as CpuTensor;
    const input = this.#input(x, this.#cfg.d_in);
    const spliced = Promise.all([input.data, (clean as CpuTensor).values(), edited.values()]).then(([a, c, e]) => {
      const out = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = e[i] + (a[i] - c[i]);
      return out;
    });
    return new CpuTensor([...input.lead, this.#cfg.d_in], spliced);
  }

  /** Releases the sessions once the runs in flight have finished. */
  destroy(): void {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    Promise.allSettled([...this.#inFlight]).then(() =>
      sessions.forEach((s) => s.then(({ session }) => session.release()).catch(() => {}))
    );
  }

  /** Runs an op reading x and returns the tensors it gives, storing the normalization undo values. */
  #encodeSide(op: Op, x: SaeInput): { features?: Tensor; recon?: Tensor; hiddenPre?: Tensor } {
    const input = this.#input(x, this.#cfg.d_in);
    const rows = input.dims[0];
    const out = this.#run(op, { x: input });
    const names = undoNames(this.#cfg.normalize_activations);
    if (names) {
      this.#lastUndo = {
        rows,
        values: out.then((o) => Object.fromEntries(Object.values(names).map((n) => [n, o[n] as Float32Array]))),
      };
    }
    const tensor = (name: string, width: number) =>
      new CpuTensor([...input.lead, width], out.then((o) => o[name] as Float32Array));
    return {
      features: op === "forward" ? undefined : new CpuTensor(
        [...input.lead, this.#cfg.d_sae],
        out.then((o) => this.#features(o)),
      ),
      recon: op === "forward" || op === "encodeDecode" ? tensor("recon", this.#cfg.d_in) : undefined,
      hiddenPre: op === "encodeWithHiddenPre" ? tensor("hidden_pre", this.#cfg.d_sae) : undefined,
    };
  }

  /** An input as graph feed [rows, width], its values chained (a CPU result) or read (another device's). */
  #input(x: SaeInput, width: number): Fed & { lead: number[] } {
    const shape = saeInputShape(this.#cfg, x.shape, width);
    const lead = shape.slice(0, -1);
    const dims = [lead.reduce((a, b) => a * b, 1), width];
    if (x instanceof CpuTensor) return { data: x.values(), dims, lead };
    if ("read" in x) return { data: x.read(), dims, lead };
    const host = x as HostTensor;
    if (host.data.length !== dims[0] * width) {
      throw new TypeError(
        `Cannot run the SAE as the input's data must hold ${dims[0] * width} values for shape [${
          x.shape.join(", ")
        }]: current value is ${host.data.length}`,
      );
    }
    return { data: Promise.resolve(host.data), dims, lead };
  }

  /**
   * The dense features of a run: as the graph gave them, or for TopK scattered here from the kept values and their
   * columns (the graph then writes and copies out 2·k numbers a row instead of d_sae, and never fills a zero row).
   */
  #features(out: Outputs): Float32Array {
    if (out.features) return out.features as Float32Array;
    const values = out.topk_values as Float32Array, columns = out.topk_indices as BigInt64Array;
    const k = this.#k!, dSae = this.#cfg.d_sae;
    const dense = new Float32Array((values.length / k) * dSae);
    for (let i = 0; i < values.length; i++) dense[Math.floor(i / k) * dSae + Number(columns[i])] = values[i];
    return dense;
  }

  #run(op: Op, given: Record<string, Fed>): Promise<Outputs> {
    const run = this.#runNow(op, given);
    this.#inFlight.add(run);
    const forget = () => this.#inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  async #runNow(op: Op, given: Record<string, Fed>): Promise<Outputs> {
    let session = this.#sessions.get(op);
    if (!session) {
      const graph = this.#graph(op);
      const built = graph.build();
      session = createCpuSession(built, { arena: false }).then((s) => ({
        session: s,
        inputs: graph.inputNames,
        outputs: built.outputs,
      }));
      this.#sessions.set(op, session);
    }
    const [ort, { session: s, inputs, outputs }] = await Promise.all([loadOrtNode(), session]);
    const rows = Object.values(given)[0].dims[0];
    const weights: Record<string, OrtTensor> = {}, perRow: Record<string, RowValues<Float32Array>> = {};
    for (const name of inputs) {
      if (name in given) perRow[name] = { data: await given[name].data, width: given[name].dims[1] };
      else {
        const weight = this.#weights.get(name);
        if (!weight) throw new TypeError(`Cannot run the ${op} graph as its input ${name} was not given`);
        weights[name] = new ort.Tensor("float32", weight.data, weight.dims);
      }
    }
    // Every output ([rows, width]) is allocated here for all rows and filled by ONNX Runtime block by block, in place
    // (onnxruntime-node also hands back its own copy of each block's outputs, which is dropped).
    const results: Record<string, RowValues> = {};
    for (const { name, dtype, dims } of outputs) {
      const width = dims![1] as number;
      results[name] = {
        data: dtype === "int64" ? new BigInt64Array(rows * width) : new Float32Array(rows * width),
        width,
      };
    }
    await runInRowBlocks(ort, s, rows, perRow, weights, results);
    return Object.fromEntries(Object.entries(results).map(([name, { data }]) => [name, data]));
  }

  /** Builds the graph of one op. */
  #graph(op: Op): GraphBuilder {
    const cfg = this.#cfg;
    const { d_in: dIn, d_sae: dSae } = cfg;
    const cpu = this.#architecture.cpu;
    const k = this.#k;
    const g = new GraphBuilder({ d_in: dIn, d_sae: dSae });
    const transform = { mode: cfg.normalize_activations, scale: cfg.norm_scaling_factor ?? 1, width: dIn };
    const wDec = () => g.input("W_dec", [dSae, dIn]);
    const bDec = () => g.input("b_dec", [dIn]);
    const xw = () => {
      const x = g.input("x", ["rows", dIn]);
      const { xIn, undo } = normalizeInNodes(g, x, {
        ...transform,
        bDec: cfg.apply_b_dec_to_input ? bDec() : undefined,
      });
      return { xw: g.node("MatMul", [xIn, g.input("W_enc", [dIn, dSae])]), undo };
    };
    // The features from a pre-activation, built once: dense (the activation, or TopK's selection scattered into a
    // zero row) for a dense decode; as outputs, dense or TopK's kept values and their columns (#features scatters
    // them: the graph then writes 2·k numbers a row, not d_sae, and fills no zero row).
    const featuresOf = (pre: string, aux: () => string) => {
      let top: TopkNodes | undefined, dense: string | undefined;
      const selected = () => top ??= topkNodes(g, pre, k!);
      return {
        selected,
        dense: () => dense ??= k === undefined ? cpu.activation!(g, pre, aux) : denseTopkNodes(g, pre, selected()),
        output: () => {
          if (k === undefined) return g.output(dense ??= cpu.activation!(g, pre, aux), "features", ["rows", dSae]);
          g.output(selected().values, "topk_values", ["rows", k]);
          g.output(selected().indices, "topk_indices", ["rows", k], "int64");
        },
      };
    };
    const denseDecode = (f: string) => g.node("Add", [g.node("MatMul", [f, wDec()]), bDec()]);

    if (op === "decode") {
      const names = undoNames(cfg.normalize_activations);
      const undo = names && {
        scale: g.input(names.scale, ["rows", 1]),
        shift: names.shift && g.input(names.shift, ["rows", 1]),
      };
      g.output(normalizeOutNodes(g, denseDecode(g.input("f", ["rows", dSae])), transform, undo), "recon", [
        "rows",
        dIn,
      ]);
    } else if (op === "activate") {
      featuresOf(g.input("pre", ["rows", dSae]), () => xw().xw).output();
    } else {
      const { xw: product, undo } = xw();
      const pre = cpu.hiddenPre(g, product);
      const f = featuresOf(pre, () => product);
      if (op === "encodeWithHiddenPre") g.output(pre, "hidden_pre", ["rows", dSae]);
      if (op !== "forward") f.output();
      if (op === "forward" || op === "encodeDecode") {
        const recon = k !== undefined && this.#sparseDecode
          ? sparseDecodeNodes(g, f.selected(), wDec(), bDec())
          : denseDecode(f.dense());
        g.output(normalizeOutNodes(g, recon, transform, undo), "recon", ["rows", dIn]);
      }
      const names = undoNames(cfg.normalize_activations);
      if (names && undo) {
        g.output(undo.scale, names.scale, ["rows", 1]);
        if (names.shift && undo.shift) g.output(undo.shift, names.shift, ["rows", 1]);
      }
    }
    return g;
  }
}
