/**
 * GPT-2 as one ordered list of ONNX nodes whose hook points are Identity nodes named with
 * TransformerLens's hook names, so any run can be cut after any hook into segments that JavaScript
 * hooks sit between. `segment()` turns a node range into a standalone ONNX graph.
 *
 * @module
 */

import type { OnnxDtype, OnnxGraph, OnnxNode, OnnxTensor } from "../util/onnx_proto.ts";
import type { Gpt2Config } from "./gpt2_config.ts";
import type { Gpt2Weights, LayerNormWeights } from "./gpt2_weights.ts";

/** The model's graph inputs besides weights. */
export const TOKENS = "tokens";
/** Absolute position of each input position, int64 [pos]. */
export const POSITIONS = "positions";
/** Causal mask, bool [pos, total]: true where a query may attend a key. */
export const MASK = "mask";
/** Final output. */
export const LOGITS = "logits";
/** Next-token id of each position (the last position's is ignored), int64 [batch, pos]. */
export const TARGETS = "targets";
/** Cross-entropy of each position against {@linkcode TARGETS}, [batch, pos, 1]. */
export const TOKEN_LOSS = "token_loss";
/** Key/value cache inputs and outputs of block L, [batch, positions, head, d_head]. */
export const pastKey = (l: number): string => `past_key.${l}`;
/** See {@linkcode pastKey}. */
export const pastValue = (l: number): string => `past_value.${l}`;
/** See {@linkcode pastKey}. */
export const presentKey = (l: number): string => `present_key.${l}`;
/** See {@linkcode pastKey}. */
export const presentValue = (l: number): string => `present_value.${l}`;

/** The whole forward as ordered nodes. */
export interface Gpt2Graph {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
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

class Builder {
  nodes: OnnxNode[] = [];
  initializers = new Map<string, OnnxTensor>();
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

  weight(name: string, dims: number[], data: Float32Array): string {
    this.initializers.set(name, { dtype: "float", dims, data });
    return name;
  }

  scalar(value: number): string {
    const name = `const.${value}`;
    if (!this.initializers.has(name)) this.weight(name, [], Float32Array.of(value));
    return name;
  }

  ints(values: number[]): string {
    const name = `const.i64.${values.join("_")}`;
    if (!this.initializers.has(name)) {
      this.initializers.set(name, { dtype: "int64", dims: [values.length], data: BigInt64Array.from(values, BigInt) });
    }
    return name;
  }

  linear(x: string, w: string, b: string): string {
    return this.op("Add", [this.op("MatMul", [x, w]), b]);
  }

  /** TransformerLens's LayerNorm / LNPre with hook_scale and hook_normalized. */
  layerNorm(prefix: string, x: string, ln: LayerNormWeights, eps: number): string {
    const centred = this.op("Sub", [x, this.op("ReduceMean", [x], { axes: [-1], keepdims: 1 })]);
    const variance = this.op("ReduceMean", [this.op("Mul", [centred, centred])], { axes: [-1], keepdims: 1 });
    const scale = this.hook(`${prefix}.hook_scale`, this.op("Sqrt", [this.op("Add", [variance, this.scalar(eps)])]));
    let normalized = this.op("Div", [centred, scale]);
    if (ln) {
      const w = this.weight(`${prefix}.w`, [ln.w.length], ln.w);
      const b = this.weight(`${prefix}.b`, [ln.b.length], ln.b);
      normalized = this.op("Add", [this.op("Mul", [normalized, w]), b]);
    }
    return this.hook(`${prefix}.hook_normalized`, normalized);
  }
}

function activation(b: Builder, x: string, kind: Gpt2Config["actFn"]): string {
  switch (kind) {
    case "relu":
      return b.op("Relu", [x]);
    case "gelu": {
      const erf = b.op("Erf", [b.op("Div", [x, b.scalar(Math.SQRT2)])]);
      return b.op("Mul", [b.op("Mul", [x, b.scalar(0.5)]), b.op("Add", [erf, b.scalar(1)])]);
    }
    case "gelu_new": {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), TransformerLens's gelu_new
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
 * Builds the forward of GPT-2 with every hook point as an Identity node.
 *
 * @param config Shapes.
 * @param weights Processed or unprocessed weights.
 * @param kvCache Take `past_key.L`/`past_value.L` and return `present_key.L`/`present_value.L`.
 */
export function buildGpt2Graph(config: Gpt2Config, weights: Gpt2Weights, kvCache: boolean): Gpt2Graph {
  const { nLayers, nHeads, dHead, dModel: d, dMlp, dVocab, nCtx, eps } = config;
  const b = new Builder();
  const stageEnds: number[] = [];
  const stageOutputs: string[] = [];

  const embed = b.hook("hook_embed", b.op("Gather", [b.weight("W_E", [dVocab, d], weights.W_E), TOKENS]));
  const pos = b.op("Gather", [b.weight("W_pos", [nCtx, d], weights.W_pos), POSITIONS]);
  const posEmbed = b.hook("hook_pos_embed", b.op("Expand", [pos, b.op("Shape", [embed])]));
  let resid = b.op("Add", [embed, posEmbed]);
  stageEnds.push(b.nodes.length);
  stageOutputs.push(resid);

  const headShape = b.ints([0, 0, nHeads, dHead]);
  const flatShape = b.ints([0, 0, nHeads * dHead]);
  for (let l = 0; l < nLayers; l++) {
    const w = weights.blocks[l];
    const p = `blocks.${l}`;
    const param = (name: string, dims: number[], data: Float32Array) => b.weight(`${p}.${name}`, dims, data);
    const residPre = b.hook(`${p}.hook_resid_pre`, resid);
    const x = b.layerNorm(`${p}.ln1`, residPre, w.ln1, eps);
    const project = (name: "Q" | "K" | "V", W: Float32Array, bias: Float32Array) =>
      b.op("Reshape", [b.linear(x, param(`W_${name}`, [d, d], W), param(`b_${name}`, [d], bias)), headShape]);
    const q = b.hook(`${p}.attn.hook_q`, project("Q", w.W_Q, w.b_Q));
    let k = b.hook(`${p}.attn.hook_k`, project("K", w.W_K, w.b_K));
    let v = b.hook(`${p}.attn.hook_v`, project("V", w.W_V, w.b_V));
    if (kvCache) {
      k = b.op("Concat", [pastKey(l), k], { axis: 1 }, presentKey(l));
      v = b.op("Concat", [pastValue(l), v], { axis: 1 }, presentValue(l));
    }
    const qh = b.op("Transpose", [q], { perm: [0, 2, 1, 3] });
    const kh = b.op("Transpose", [k], { perm: [0, 2, 3, 1] });
    const vh = b.op("Transpose", [v], { perm: [0, 2, 1, 3] });
    const scores = b.op("Div", [b.op("MatMul", [qh, kh]), b.scalar(Math.sqrt(dHead))]);
    const masked = b.hook(`${p}.attn.hook_attn_scores`, b.op("Where", [MASK, scores, b.scalar(-Infinity)]));
    const pattern = b.hook(`${p}.attn.hook_pattern`, b.op("Softmax", [masked], { axis: -1 }));
    const z = b.hook(`${p}.attn.hook_z`, b.op("Transpose", [b.op("MatMul", [pattern, vh])], { perm: [0, 2, 1, 3] }));
    const attnOut = b.hook(
      `${p}.hook_attn_out`,
      b.linear(b.op("Reshape", [z, flatShape]), param("W_O", [d, d], w.W_O), param("b_O", [d], w.b_O)),
    );
    const residMid = b.hook(`${p}.hook_resid_mid`, b.op("Add", [residPre, attnOut]));
    const x2 = b.layerNorm(`${p}.ln2`, residMid, w.ln2, eps);
    const pre = b.hook(
      `${p}.mlp.hook_pre`,
      b.linear(x2, param("W_in", [d, dMlp], w.W_in), param("b_in", [dMlp], w.b_in)),
    );
    const post = b.hook(`${p}.mlp.hook_post`, activation(b, pre, config.actFn));
    const mlpOut = b.hook(
      `${p}.hook_mlp_out`,
      b.linear(post, param("W_out", [dMlp, d], w.W_out), param("b_out", [d], w.b_out)),
    );
    resid = b.hook(`${p}.hook_resid_post`, b.op("Add", [residMid, mlpOut]));
    stageEnds.push(b.nodes.length);
    stageOutputs.push(resid);
  }
  const normalized = b.layerNorm("ln_final", resid, weights.lnFinal, eps);
  b.linear(normalized, b.weight("W_U", [d, dVocab], weights.W_U), b.weight("b_U", [dVocab], weights.b_U));
  b.nodes[b.nodes.length - 1] = { ...b.nodes[b.nodes.length - 1], outputs: [LOGITS] };
  // The loss in-graph, so a loss-only run never copies [batch, pos, vocab] logits out
  // log-sum-exp shifted by the max: ONNX Runtime's ReduceLogSumExp loses ~1e-4 over a 50k vocabulary
  const max = b.op("ReduceMax", [LOGITS], { axes: [-1], keepdims: 1 });
  const sumExp = b.op("ReduceSum", [b.op("Exp", [b.op("Sub", [LOGITS, max])]), b.ints([-1])], { keepdims: 1 });
  const logSumExp = b.op("Add", [max, b.op("Log", [sumExp])]);
  const targetLogit = b.op("GatherElements", [LOGITS, b.op("Unsqueeze", [TARGETS, b.ints([-1])])], { axis: -1 });
  b.op("Sub", [logSumExp, targetLogit], undefined, TOKEN_LOSS);

  const inputTypes = new Map<string, OnnxDtype>([
    [TOKENS, "int64"],
    [POSITIONS, "int64"],
    [MASK, "bool"],
    [TARGETS, "int64"],
  ]);
  return {
    nodes: b.nodes,
    initializers: b.initializers,
    inputTypes,
    hookNode: b.hookNode,
    stageEnds,
    stageOutputs,
    kvCache,
  };
}

/**
 * A standalone graph of nodes [start, end): its inputs are the tensors those nodes read that they do not
 * produce (model inputs or earlier segments' outputs); `outputs` lists what later segments, hooks or the
 * caller need from it. With `weightsAsInputs` the weight matrices are inputs too ({@linkcode segmentWeights}), fed
 * from the model's own arrays at each run, so the session holds no copy of them (onnxruntime-node reads the caller's
 * memory; a GPU backend would upload them on every run instead).
 */
export function segment(
  graph: Gpt2Graph,
  start: number,
  end: number,
  outputs: readonly string[],
  weightsAsInputs = false,
): OnnxGraph {
  const nodes = graph.nodes.slice(start, end);
  const weights = weightsAsInputs ? segmentWeights(graph, start, end) : [];
  const initializers = new Map<string, OnnxTensor>();
  for (const node of nodes) {
    for (const name of node.inputs) {
      const init = graph.initializers.get(name);
      if (init && !weights.includes(name)) initializers.set(name, init);
    }
  }
  return {
    nodes,
    initializers,
    inputs: [
      ...segmentInputs(graph, start, end).map((name) => ({ name, dtype: graph.inputTypes.get(name) ?? "float" })),
      ...weights.map((name) => ({ name, dtype: "float" as const, dims: graph.initializers.get(name)!.dims })),
    ],
    outputs: outputs.map((name) => ({ name, dtype: "float" as const })),
  };
}

/** The weight matrices (float initializers of 1024 values or more) that nodes [start, end) read. */
export function segmentWeights(graph: Gpt2Graph, start: number, end: number): string[] {
  const names = new Set<string>();
  for (const node of graph.nodes.slice(start, end)) {
    for (const name of node.inputs) {
      const init = graph.initializers.get(name);
      if (init?.dtype === "float" && init.data.length >= 1024) names.add(name);
    }
  }
  return [...names];
}

/** Names each node range reads that an earlier range produced or the caller supplies. */
export function segmentInputs(graph: Gpt2Graph, start: number, end: number): string[] {
  const nodes = graph.nodes.slice(start, end);
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const names = new Set<string>();
  for (const node of nodes) {
    for (const name of node.inputs) {
      if (!produced.has(name) && !graph.initializers.has(name)) names.add(name);
    }
  }
  return [...names];
}
