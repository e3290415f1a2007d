/**
 * Any family's forward as one ordered list of ONNX nodes whose hook points are Identity nodes named with
 * TransformerLens's hook names, so any run can be cut after any hook into segments that JavaScript hooks sit between.
 * One block builder covers every family: LayerNorm or RMSNorm, learned or rotary positions (partial, scaled, a local
 * base), multi-head or grouped-query attention, soft-capping, sliding windows, q/k norms, plain or gated MLPs, parallel
 * attention and MLP, post norms. `segment()` turns a node range into a standalone ONNX graph.
 *
 * @module
 */

import type { OnnxDtype, OnnxGraph, OnnxNode, OnnxTensor } from "../util/onnx_proto.ts";
import type { ActivationFunction, TransformerConfig } from "./transformer_config.ts";
import type { Linear, NormWeights, TransformerWeights } from "./transformer_weights.ts";
import type { WeightTensor } from "./weight_tensor.ts";

/** Token ids [batch, pos] (the loss's targets are read from them). */
export const TOKENS = "tokens";
/** Rows of {@linkcode EMBED_TABLE} to look up per position, int64 [batch, pos]. */
export const EMBED_IDS = "embed_ids";
/** The embedding matrix input: the whole of it, or only the rows a run looks up. */
export const EMBED_TABLE = "W_E";
/** Absolute position of each input position, int64 [pos] (learned positions). */
export const POSITIONS = "positions";
/** Causal mask, bool [pos, total]: true where a query may attend a key. */
export const MASK = "mask";
/** The sliding-window mask of local layers, bool [pos, total]. */
export const LOCAL_MASK = "mask.local";
/** Rotary cosines and sines, [pos, 1, rotary_dim], for global and (where the base differs) local layers. */
export const rotaryInput = (table: "cos" | "sin", local: boolean): string => `rotary_${table}${local ? ".local" : ""}`;
/** Final output. */
export const LOGITS = "logits";
/** Next-token id of each position (the last position's is ignored), int64 [batch, pos]. */
export const TARGETS = "targets";
/** Cross-entropy of each position against {@linkcode TARGETS}, [batch, pos, 1]. */
export const TOKEN_LOSS = "token_loss";
/** Key/value cache inputs and outputs of block L, [batch, positions, kv_head, d_head]. */
export const pastKey = (l: number): string => `past_key.${l}`;
/** See {@linkcode pastKey}. */
export const pastValue = (l: number): string => `past_value.${l}`;
/** See {@linkcode pastKey}. */
export const presentKey = (l: number): string => `present_key.${l}`;
/** See {@linkcode pastKey}. */
export const presentValue = (l: number): string => `present_value.${l}`;

/** The whole forward as ordered nodes. */
export interface TransformerGraph {
  nodes: OnnxNode[];
  /** Small float constants and vectors (norm weights, biases, scalars), embedded in every session. */
  initializers: Map<string, OnnxTensor>;
  /** Weight matrices by input name: fed at run time, or embedded (widened to float32) on the web backends. */
  matrices: Map<string, WeightTensor>;
  /** Non-float inputs and their types. */
  inputTypes: Map<string, OnnxDtype>;
  /** Index of the node that produces each hook. */
  hookNode: Map<string, number>;
  /** Index one past the last node of the embedding and of each block (ends[l + 1] closes block l). */
  stageEnds: number[];
  /** The residual stream each stage ends with (what `stopAtLayer` returns). */
  stageOutputs: string[];
  /** Whether the graph takes and returns a key/value cache. */
  kvCache: boolean;
}

/** How the graph is built beyond the weights. */
export interface GraphOptions {
  /** Take `past_key.L`/`past_value.L` and return `present_key.L`/`present_value.L`. */
  kvCache: boolean;
  /** Subtract each position's mean logit (TransformerLens's center_unembed). */
  centerUnembed: boolean;
}

class Builder {
  nodes: OnnxNode[] = [];
  initializers = new Map<string, OnnxTensor>();
  matrices = new Map<string, WeightTensor>();
  hookNode = new Map<string, number>();
  #n = 0;

  op(opType: string, inputs: string[], attributes?: OnnxNode["attributes"], output?: string): string {
    const out = output ?? `t${this.#n++}`;
    this.nodes.push({ opType, inputs, outputs: [out], attributes });
    return out;
  }

  hook(name: string, x: string): string {
    this.hookNode.set(name, this.nodes.length);
    return this.op("Identity", [x], undefined, name);
  }

  vector(name: string, data: Float32Array): string {
    this.initializers.set(name, { dtype: "float", dims: [data.length], data });
    return name;
  }

  matrix(name: string, w: WeightTensor): string {
    this.matrices.set(name, w);
    return name;
  }

  scalar(value: number): string {
    const name = `const.${value}`;
    if (!this.initializers.has(name)) {
      this.initializers.set(name, { dtype: "float", dims: [], data: Float32Array.of(value) });
    }
    return name;
  }

  ints(values: number[]): string {
    const name = `const.i64.${values.join("_")}`;
    if (!this.initializers.has(name)) {
      this.initializers.set(name, { dtype: "int64", dims: [values.length], data: BigInt64Array.from(values, BigInt) });
    }
    return name;
  }

  /**
   * x Wᵀ + b for a [out, in] weight, as one Gemm over the rows of x flattened to 2-D: a [batch, pos, in] input through
   * MatMul would multiply batch by batch, packing W once per row of the batch (8 × 600 MB for a 151k vocabulary), and
   * Gemm adds the bias in the same pass.
   */
  linear(x: string, name: string, lin: Linear, weightName = `${name}.weight`): string {
    const [out, inDim] = lin.weight.shape;
    const rows = this.op("Reshape", [x, this.ints([-1, inDim])]);
    const inputs = [
      rows,
      this.matrix(weightName, lin.weight),
      ...(lin.bias ? [this.vector(`${name}.bias`, lin.bias)] : []),
    ];
    const y = this.op("Gemm", inputs, { transB: 1 });
    // x's leading dimensions, computed beside each product so that no int64 tensor crosses a hook's cut
    const leading = this.op("Slice", [this.op("Shape", [x]), this.ints([0]), this.ints([-1])]);
    return this.op("Reshape", [y, this.op("Concat", [leading, this.ints([out])], { axis: 0 })]);
  }

  /**
   * TransformerLens's LayerNorm / LNPre / RMSNorm with hook_scale and hook_normalized (2.x: LayerNorm's after its
   * weight and bias, RMSNorm's before its weight).
   */
  norm(prefix: string, x: string, kind: "LN" | "RMS", weights: NormWeights | null, eps: number): string {
    const centred = kind === "LN" ? this.op("Sub", [x, this.op("ReduceMean", [x], { axes: [-1], keepdims: 1 })]) : x;
    const meanSquare = this.op("ReduceMean", [this.op("Mul", [centred, centred])], { axes: [-1], keepdims: 1 });
    const scale = this.hook(`${prefix}.hook_scale`, this.op("Sqrt", [this.op("Add", [meanSquare, this.scalar(eps)])]));
    const normalized = this.op("Div", [centred, scale]);
    if (!weights) return this.hook(`${prefix}.hook_normalized`, normalized);
    const w = this.vector(`${prefix}.w`, weights.w);
    if (kind === "RMS") return this.op("Mul", [this.hook(`${prefix}.hook_normalized`, normalized), w]);
    const scaled = this.op("Mul", [normalized, w]);
    return this.hook(
      `${prefix}.hook_normalized`,
      weights.b ? this.op("Add", [scaled, this.vector(`${prefix}.b`, weights.b)]) : scaled,
    );
  }

  /** Rotate-half rotary embedding of the first `dim` dimensions of x [batch, pos, heads, d_head]. */
  rotary(x: string, dim: number, dHead: number, local: boolean): string {
    const slice = (t: string, from: number, to: number) =>
      this.op("Slice", [t, this.ints([from]), this.ints([to]), this.ints([-1])]);
    const rot = dim === dHead ? x : slice(x, 0, dim);
    const x1 = slice(rot, 0, dim / 2), x2 = slice(rot, dim / 2, dim);
    const half = this.op("Concat", [this.op("Neg", [x2]), x1], { axis: -1 });
    const out = this.op("Add", [
      this.op("Mul", [rot, rotaryInput("cos", local)]),
      this.op("Mul", [half, rotaryInput("sin", local)]),
    ]);
    return dim === dHead ? out : this.op("Concat", [out, slice(x, dim, dHead)], { axis: -1 });
  }

  /** cap · tanh(x / cap). */
  softcap(x: string, cap: number): string {
    return this.op("Mul", [this.op("Tanh", [this.op("Div", [x, this.scalar(cap)])]), this.scalar(cap)]);
  }
}

function activation(b: Builder, x: string, kind: ActivationFunction): string {
  switch (kind) {
    case "relu":
      return b.op("Relu", [x]);
    case "silu":
      return b.op("Mul", [x, b.op("Sigmoid", [x])]);
    case "gelu": {
      const erf = b.op("Erf", [b.op("Div", [x, b.scalar(Math.SQRT2)])]);
      return b.op("Mul", [b.op("Mul", [x, b.scalar(0.5)]), b.op("Add", [erf, b.scalar(1)])]);
    }
    case "gelu_new":
    case "gelu_fast":
    case "gelu_pytorch_tanh": {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): GPT-2's gelu_new, PyTorch's tanh-approximate GELU
      const cube = b.op("Mul", [b.op("Mul", [x, x]), x]);
      const inner = b.op("Mul", [
        b.op("Add", [x, b.op("Mul", [cube, b.scalar(0.044715)])]),
        b.scalar(Math.sqrt(2 / Math.PI)),
      ]);
      return b.op("Mul", [b.op("Mul", [x, b.scalar(0.5)]), b.op("Add", [b.op("Tanh", [inner]), b.scalar(1)])]);
    }
  }
}

/**
 * Builds the forward of a model with every hook point as an Identity node.
 *
 * @example
 * ```ts ignore
 * const graph = buildTransformerGraph(cfg, weights, { kvCache: false, centerUnembed: true });
 * console.log(graph.hookNode.has("blocks.0.attn.hook_rot_q"));
 * ```
 *
 * @param cfg The configuration.
 * @param weights The weights as run.
 * @param options KV cache and logit centring.
 * @returns The graph.
 */
export function buildTransformerGraph(
  cfg: TransformerConfig,
  weights: TransformerWeights,
  options: GraphOptions,
): TransformerGraph {
  const { nLayers, nHeads, nKvHeads, dHead, eps, normalization: kind } = cfg;
  const { kvCache } = options;
  const b = new Builder();
  const stageEnds: number[] = [];
  const stageOutputs: string[] = [];

  let embed = b.op("Gather", [b.matrix(EMBED_TABLE, weights.embed), EMBED_IDS]);
  if (cfg.embedScale !== 1) embed = b.op("Mul", [embed, b.scalar(Math.fround(cfg.embedScale))]);
  let resid = b.hook("hook_embed", embed);
  if (weights.posEmbed) {
    const pos = b.op("Gather", [b.matrix("W_pos", weights.posEmbed), POSITIONS]);
    const posEmbed = b.hook("hook_pos_embed", b.op("Expand", [pos, b.op("Shape", [resid])]));
    resid = b.op("Add", [resid, posEmbed]);
  }
  stageEnds.push(b.nodes.length);
  stageOutputs.push(resid);

  const group = nHeads / nKvHeads;
  const localBase = cfg.rotary?.localBase !== undefined;
  for (let l = 0; l < nLayers; l++) {
    const w = weights.blocks[l];
    const p = `blocks.${l}`;
    const local = cfg.attnTypes[l] === "local";
    const residPre = b.hook(`${p}.hook_resid_pre`, resid);
    const x = b.norm(`${p}.ln1`, residPre, kind, w.ln1, eps);
    const heads = (name: "q" | "k" | "v", count: number) =>
      b.hook(
        `${p}.attn.hook_${name}`,
        b.op("Reshape", [b.linear(x, `${p}.attn.${name}`, w[name]), b.ints([0, 0, count, dHead])]),
      );
    let q = heads("q", nHeads);
    let k = heads("k", nKvHeads);
    let v = heads("v", nKvHeads);
    if (w.qNorm && w.kNorm) {
      q = b.norm(`${p}.attn.q_norm`, q, "RMS", w.qNorm, eps);
      k = b.norm(`${p}.attn.k_norm`, k, "RMS", w.kNorm, eps);
    }
    if (cfg.rotary) {
      const tables = local && localBase;
      q = b.hook(`${p}.attn.hook_rot_q`, b.rotary(q, cfg.rotary.dim, dHead, tables));
      k = b.hook(`${p}.attn.hook_rot_k`, b.rotary(k, cfg.rotary.dim, dHead, tables));
    }
    if (kvCache) {
      k = b.op("Concat", [pastKey(l), k], { axis: 1 }, presentKey(l));
      v = b.op("Concat", [pastValue(l), v], { axis: 1 }, presentValue(l));
    }
    // grouped-query attention: query head h reads key/value head floor(h / group) (repeat_interleave)
    const expand = (t: string) =>
      group === 1 ? t : b.op("Reshape", [
        b.op("Expand", [b.op("Unsqueeze", [t, b.ints([3])]), b.ints([1, 1, 1, group, 1])]),
        b.ints([0, 0, nHeads, dHead]),
      ]);
    const qh = b.op("Transpose", [q], { perm: [0, 2, 1, 3] });
    const kh = b.op("Transpose", [expand(k)], { perm: [0, 2, 3, 1] });
    const vh = b.op("Transpose", [expand(v)], { perm: [0, 2, 1, 3] });
    let scores = b.op("Div", [b.op("MatMul", [qh, kh]), b.scalar(cfg.attnScale)]);
    if (cfg.attnSoftcap > 0) scores = b.softcap(scores, cfg.attnSoftcap);
    const masked = b.hook(
      `${p}.attn.hook_attn_scores`,
      b.op("Where", [local ? LOCAL_MASK : MASK, scores, b.scalar(-Infinity)]),
    );
    const pattern = b.hook(`${p}.attn.hook_pattern`, b.op("Softmax", [masked], { axis: -1 }));
    const z = b.hook(`${p}.attn.hook_z`, b.op("Transpose", [b.op("MatMul", [pattern, vh])], { perm: [0, 2, 1, 3] }));
    let attnOut = b.linear(b.op("Reshape", [z, b.ints([0, 0, nHeads * dHead])]), `${p}.attn.o`, w.o);
    if (w.ln1Post) attnOut = b.norm(`${p}.ln1_post`, attnOut, kind, w.ln1Post, eps);
    attnOut = b.hook(`${p}.hook_attn_out`, attnOut);
    const residMid = cfg.parallelAttnMlp ? residPre : b.hook(`${p}.hook_resid_mid`, b.op("Add", [residPre, attnOut]));
    // what the MLP reads, ln2's weight applied (circuit-tracer's transcoders read it as mlp.hook_in)
    const x2 = b.hook(`${p}.mlp.hook_in`, b.norm(`${p}.ln2`, residMid, kind, w.ln2, eps));
    let post: string;
    if (w.gate) {
      const pre = b.hook(`${p}.mlp.hook_pre`, b.linear(x2, `${p}.mlp.gate`, w.gate));
      const linear = b.hook(`${p}.mlp.hook_pre_linear`, b.linear(x2, `${p}.mlp.up`, w.up));
      post = b.hook(`${p}.mlp.hook_post`, b.op("Mul", [activation(b, pre, cfg.actFn), linear]));
    } else {
      const pre = b.hook(`${p}.mlp.hook_pre`, b.linear(x2, `${p}.mlp.up`, w.up));
      post = b.hook(`${p}.mlp.hook_post`, activation(b, pre, cfg.actFn));
    }
    let mlpOut = b.linear(post, `${p}.mlp.down`, w.down);
    if (w.ln2Post) mlpOut = b.norm(`${p}.ln2_post`, mlpOut, kind, w.ln2Post, eps);
    mlpOut = b.hook(`${p}.hook_mlp_out`, mlpOut);
    // Hugging Face's order for the parallel residual: mlp_out + attn_out + resid_pre
    resid = b.hook(
      `${p}.hook_resid_post`,
      cfg.parallelAttnMlp ? b.op("Add", [b.op("Add", [mlpOut, attnOut]), residPre]) : b.op("Add", [residMid, mlpOut]),
    );
    stageEnds.push(b.nodes.length);
    stageOutputs.push(resid);
  }
  const normalized = b.norm("ln_final", resid, kind, weights.lnFinal, eps);
  // a tied unembedding reads the embedding's own matrix
  const unembedName = weights.unembed.weight === weights.embed ? EMBED_TABLE : "W_U";
  let logits = b.linear(normalized, "unembed", weights.unembed, unembedName);
  if (cfg.finalSoftcap > 0) logits = b.softcap(logits, cfg.finalSoftcap);
  if (options.centerUnembed) {
    logits = b.op("Sub", [logits, b.op("ReduceMean", [logits], { axes: [-1], keepdims: 1 })]);
  }
  b.op("Identity", [logits], undefined, LOGITS);
  // The loss in-graph, so a loss-only run never copies [batch, pos, vocab] logits out
  // log-sum-exp shifted by the max: ONNX Runtime's ReduceLogSumExp loses ~1e-4 over a 50k vocabulary
  const max = b.op("ReduceMax", [LOGITS], { axes: [-1], keepdims: 1 });
  const sumExp = b.op("ReduceSum", [b.op("Exp", [b.op("Sub", [LOGITS, max])]), b.ints([-1])], { keepdims: 1 });
  const logSumExp = b.op("Add", [max, b.op("Log", [sumExp])]);
  const targetLogit = b.op("GatherElements", [LOGITS, b.op("Unsqueeze", [TARGETS, b.ints([-1])])], { axis: -1 });
  b.op("Sub", [logSumExp, targetLogit], undefined, TOKEN_LOSS);

  const inputTypes = new Map<string, OnnxDtype>([
    [TOKENS, "int64"],
    [EMBED_IDS, "int64"],
    [POSITIONS, "int64"],
    [MASK, "bool"],
    [LOCAL_MASK, "bool"],
    [TARGETS, "int64"],
  ]);
  return {
    nodes: b.nodes,
    initializers: b.initializers,
    matrices: b.matrices,
    inputTypes,
    hookNode: b.hookNode,
    stageEnds,
    stageOutputs,
    kvCache,
  };
}

/** The part of a node range a run needs: the nodes its outputs depend on and what they read from outside. */
export interface SegmentPart {
  /** The nodes, in graph order. */
  nodes: OnnxNode[];
  /** What the nodes read that they do not produce and that is not a weight: model inputs, earlier parts' outputs. */
  inputs: string[];
  /** The weight matrices the nodes read. */
  matrices: string[];
  /** What the part returns. */
  outputs: string[];
}

/**
 * The nodes of [start, end) that `outputs` depend on, found backwards from them: a run that wants the logits skips the
 * loss's [batch, pos, vocab] passes, one that stops at a hook skips the rest of its block.
 *
 * @example
 * ```ts ignore
 * const part = segmentPart(graph, graph.stageEnds[nLayers], graph.nodes.length, [LOGITS]);
 * ```
 *
 * @param graph The forward.
 * @param start First node.
 * @param end One past the last node.
 * @param outputs What the part must return (each produced in the range).
 * @returns The part.
 */
export function segmentPart(
  graph: TransformerGraph,
  start: number,
  end: number,
  outputs: readonly string[],
): SegmentPart {
  const need = new Set(outputs);
  const nodes: OnnxNode[] = [];
  for (let i = end - 1; i >= start; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => need.has(o))) continue;
    nodes.push(node);
    for (const name of node.inputs) need.add(name);
  }
  nodes.reverse();
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const inputs = new Set<string>(), matrices = new Set<string>();
  for (const node of nodes) {
    for (const name of node.inputs) {
      if (graph.matrices.has(name)) matrices.add(name);
      else if (!produced.has(name) && !graph.initializers.has(name)) inputs.add(name);
    }
  }
  return { nodes, inputs: [...inputs], matrices: [...matrices], outputs: [...outputs] };
}

/**
 * A part as a standalone graph: its inputs are what it reads from outside; with `matricesAsInputs` the weight matrices
 * are inputs too, fed at each run, so the session holds no copy of them (onnxruntime-node reads the caller's memory);
 * otherwise they are embedded as float32 initializers (the web backends, where an input would be copied or uploaded on
 * every run).
 *
 * @example
 * ```ts ignore
 * const model = segment(graph, segmentPart(graph, 0, graph.stageEnds[1], ["blocks.0.hook_resid_pre"]), true);
 * ```
 *
 * @param graph The forward.
 * @param part The nodes and their inputs and outputs.
 * @param matricesAsInputs Whether the weight matrices are inputs.
 * @returns The graph.
 */
export function segment(graph: TransformerGraph, part: SegmentPart, matricesAsInputs = false): OnnxGraph {
  const initializers = new Map<string, OnnxTensor>();
  for (const node of part.nodes) {
    for (const name of node.inputs) {
      const init = graph.initializers.get(name);
      if (init) initializers.set(name, init);
    }
  }
  if (!matricesAsInputs) {
    for (const name of part.matrices) {
      const w = graph.matrices.get(name)!;
      initializers.set(name, { dtype: "float", dims: w.shape, data: w.toFloat32() });
    }
  }
  return {
    nodes: part.nodes,
    initializers,
    inputs: [
      ...part.inputs.map((name) => ({ name, dtype: graph.inputTypes.get(name) ?? "float" })),
      ...(matricesAsInputs ? part.matrices : []).map((name) => ({
        name,
        dtype: "float" as const,
        // the embedding is fed whole, or as the rows a run looks up
        dims: name === EMBED_TABLE
          ? ["embed_rows", graph.matrices.get(name)!.shape[1]]
          : graph.matrices.get(name)!.shape,
      })),
    ],
    outputs: part.outputs.map((name) => ({ name, dtype: "float" as const })),
  };
}
