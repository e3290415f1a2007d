/**
 * The model run to one hook, then continued from there with the hook's clean value and with each
 * replacement of it (SAELens's spliced and zero-ablated evals): the blocks before the hook run once, the
 * continuations run stacked on the batch axis, and each position's next-token loss and KL divergence from
 * the clean run come out of the graph, so no [rows, ctx, vocab] array reaches JavaScript.
 *
 * @module
 */

// onnxruntime is named by full npm specifier, as in ort_backend.ts, so `deno task bundle` keeps it external.
// deno-lint-ignore no-import-prefix
import type * as OrtTypes from "npm:onnxruntime-web@1.30.0";
import type { HostTensor } from "../gpu/tensor.ts";
import { GraphBuilder } from "../cpu/graph_builder.ts";
import type { OnnxGraph, OnnxNode } from "../util/onnx_proto.ts";
import {
  LOCAL_MASK,
  LOGITS,
  MASK,
  POSITIONS,
  rotaryInput,
  segment,
  segmentPart,
  TOKEN_LOSS,
  type TransformerGraph,
} from "./_transformer_graph.ts";
import type { Batch, TransformerForward } from "./_transformer_forward.ts";
import { checkFiniteOutput } from "./finite_output.ts";

/** Options of {@linkcode runWithReplacements}. */
export interface ReplacementRunOptions {
  /**
   * Keep ONNX Runtime's memory arena in the continuation's session, so each run reuses the [variants × rows, pos,
   * vocab] log-softmax and KL buffers of the last instead of mapping fresh pages the kernel zeroes: about twice as fast
   * on the CPU over many batches (the in-training evaluations), holding about half a GiB more at GPT-2 small's size
   * (`sae eval` returns it, and stays within its memory bound).
   * @default {false}
   */
  keepRunMemory?: boolean;
}

/** What {@linkcode runWithReplacements} measured. */
export interface ReplacementRun {
  /** The hook's clean value. */
  clean: HostTensor;
  /** Each position's next-token loss [batch × (pos − 1)]: the clean run's, then each replacement's. */
  losses: Float32Array[];
  /** Each position's KL(p_clean ‖ p_replaced) over the vocabulary [batch × pos], for each replacement. */
  kl: Float64Array[];
}

/**
 * Logits one continuation run aims to hold ((1 + replacements) × rows × pos × vocab floats): rows are run in chunks
 * that fit, one row at a time at least (a row at a long context can exceed it; the run then holds about five times
 * its logits).
 */
const LOGITS_BYTES = 128 * 1024 * 1024;
/** Inputs that are per position, not per row: every variant reads them as they are. */
const SHARED = new Set([
  MASK,
  LOCAL_MASK,
  POSITIONS,
  rotaryInput("cos", false),
  rotaryInput("sin", false),
  rotaryInput("cos", true),
  rotaryInput("sin", true),
]);
const KL = "kl_divergence";

/**
 * The continuation from after the hook's node, taking `variants` values of the hook stacked on the batch axis:
 * every other batch-shaped input repeated to match, log-softmax over the vocabulary, and KL(p_0 ‖ p_v) for each
 * variant v > 0, as output [rows, pos, variants − 1].
 */
function continuationGraph(
  graph: TransformerGraph,
  hookName: string,
  variants: number,
  matricesAsInputs: boolean,
  float64Sums: boolean,
): OnnxGraph {
  const start = graph.hookNode.get(hookName)! + 1;
  const base = segment(graph, segmentPart(graph, start, graph.nodes.length, [TOKEN_LOSS]), matricesAsInputs);
  const nodes: OnnxNode[] = [];
  // The hook comes in stacked; every other batch-shaped input is one copy per variant.
  const renamed = new Map<string, string>();
  for (const input of base.inputs) {
    if (input.name === hookName || SHARED.has(input.name) || graph.matrices.has(input.name)) continue;
    renamed.set(input.name, `${input.name}.one`);
    nodes.push({
      opType: "Concat",
      inputs: Array(variants).fill(`${input.name}.one`),
      outputs: [input.name],
      attributes: { axis: 0 },
    });
  }
  nodes.push(...base.nodes);
  const g = new GraphBuilder();
  const last = g.int64s([-1]), split = (t: string) => g.nodes("Split", [t], variants, { axis: 0 });
  // KL(p_0 ‖ p_v) = Σ p_0 (x_0 − x_v) − (lse_0 − lse_v) over each position's logits x: the exponentials are summed
  // in float64, as are the weighted differences (float32 sums over 50k entries lose ~1e-5), except on WebGPU, whose
  // ONNX Runtime has no float64 kernels and whose reductions add in a tree (their float32 error stays near 1e-7)
  const wide = (t: string) => float64Sums ? g.node("Cast", [t], { to: 11 }) : t;
  const max = g.node("ReduceMax", [LOGITS], { axes: [-1], keepdims: 1 });
  const exps = g.node("Exp", [g.node("Sub", [LOGITS, max])]);
  const sums = g.node("ReduceSum", [wide(exps), last], { keepdims: 1 });
  const lse = split(g.node("Add", [wide(max), g.node("Log", [sums])]));
  const logits = split(LOGITS);
  const firstSums = split(sums)[0];
  // only the clean run's exponentials are needed: a slice of the first rows (a Split would copy every variant's)
  const firstRows = g.node("Div", [g.node("Shape", [exps], { start: 0, end: 1 }), g.int64s([variants])]);
  const firstExps = g.node("Slice", [exps, g.int64s([0]), firstRows, g.int64s([0])]);
  const probs = g.node("Div", [firstExps, float64Sums ? g.node("Cast", [firstSums], { to: 1 }) : firstSums]);
  const kls = logits.slice(1).map((x, v) => {
    const terms = g.node("Mul", [probs, g.node("Sub", [logits[0], x])]);
    const weighted = g.node("ReduceSum", [wide(terms), last], { keepdims: 1 });
    return g.node("Sub", [weighted, g.node("Sub", [lse[0], lse[v + 1]])]); // [rows, pos, 1]
  });
  g.output(g.node("Concat", kls, { axis: -1 }), KL, ["rows", "pos", variants - 1], float64Sums ? "double" : "float");
  const divergence = g.build();
  nodes.push(...divergence.nodes);
  return {
    nodes,
    initializers: base.initializers,
    inputs: base.inputs.map((i) => renamed.has(i.name) ? { ...i, name: renamed.get(i.name)! } : i),
    outputs: [{ name: TOKEN_LOSS, dtype: "float" }, ...divergence.outputs],
  };
}

/**
 * Runs `batch` to `hookName` once and continues from there with the clean value and with each replacement
 * `replace` makes of it.
 *
 * @example
 * ```ts ignore
 * const { losses, kl } = await runWithReplacements(forwarder, batch, "blocks.2.hook_resid_pre", (clean) => [zeros]);
 * ```
 *
 * @param forwarder The model's segmented forward.
 * @param batch The token rows.
 * @param hookName Where the replacements go.
 * @param replace The replacements of the hook's clean value, each of its shape.
 * @param options Whether the continuation keeps its run memory.
 * @returns The clean value, per-position losses and KL divergences.
 * @throws {TypeError} When a replacement's shape differs from the hook's.
 */
export async function runWithReplacements(
  forwarder: TransformerForward,
  batch: Batch,
  hookName: string,
  replace: (clean: HostTensor) => HostTensor[] | Promise<HostTensor[]>,
  options: ReplacementRunOptions = {},
): Promise<ReplacementRun> {
  const { keepRunMemory = false } = options;
  const graph = forwarder.graph(false);
  const continuation = segmentPart(graph, graph.hookNode.get(hookName)! + 1, graph.nodes.length, [TOKEN_LOSS]);
  const needed = continuation.inputs;
  const { env } = await forwarder.forward(batch, { names: [], fwdHooks: [], outputs: needed, stopAfter: hookName });
  const clean = forwarder.host(env.get(hookName)!);
  const replacements = await replace({ shape: [...clean.shape], data: Float32Array.from(clean.data) });
  if (replacements.length === 0) {
    throw new RangeError(`Cannot continue from ${hookName} as there must be a replacement: current count is 0`);
  }
  for (const r of replacements) {
    if (r.shape.join() !== clean.shape.join() || r.data.length !== clean.data.length) {
      throw new TypeError(
        `Cannot continue from ${hookName} as a replacement must have its shape [${
          clean.shape.join(", ")
        }]: current shape is [${r.shape.join(", ")}]`,
      );
    }
  }
  const values = [clean, ...replacements], variants = values.length;
  const { batch: rows, pos } = batch;
  const vocab = forwarder.cfg.dVocab;
  const chunk = Math.max(1, Math.min(rows, Math.floor(LOGITS_BYTES / (variants * pos * vocab * 4))));
  const session = await forwarder.session(
    `replacements:${hookName}:${variants}:${keepRunMemory}`,
    () => continuationGraph(graph, hookName, variants, forwarder.matricesAsInputs, forwarder.backend !== "webgpu"),
    keepRunMemory,
  );
  const ort = forwarder.ort;
  const losses = values.map(() => new Float32Array(rows * (pos - 1)));
  const kl = replacements.map(() => new Float64Array(rows * pos));
  const rowSlice = (t: OrtTypes.Tensor, r0: number, n: number): Float32Array | BigInt64Array => {
    const data = t.data as Float32Array | BigInt64Array, width = data.length / t.dims[0];
    return data.subarray(r0 * width, (r0 + n) * width);
  };
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const { feeds, release } = forwarder.matrixFeeds(graph, continuation);
    for (const name of needed) {
      const t = env.get(name)!;
      if (name === hookName) {
        const width = clean.data.length / rows;
        const stacked = new Float32Array(variants * n * width);
        values.forEach((v, i) => stacked.set(v.data.subarray(r0 * width, (r0 + n) * width), i * n * width));
        feeds[name] = new ort.Tensor("float32", stacked, [variants * n, ...clean.shape.slice(1)]);
      } else if (SHARED.has(name)) {
        feeds[name] = t;
      } else {
        feeds[`${name}.one`] = new ort.Tensor(t.type, rowSlice(t, r0, n), [n, ...t.dims.slice(1)]);
      }
    }
    const out = await session.run(feeds).finally(release);
    const tokenLoss = out[TOKEN_LOSS].data as Float32Array, divergence = out[KL].data as Float64Array | Float32Array;
    checkFiniteOutput(tokenLoss, `losses continued from ${hookName}`);
    values.forEach((_, v) => {
      for (let b = 0; b < n; b++) {
        // drop each row's last position: it has no next token
        const from = (v * n + b) * pos;
        losses[v].set(tokenLoss.subarray(from, from + pos - 1), (r0 + b) * (pos - 1));
      }
    });
    replacements.forEach((_, v) => {
      for (let i = 0; i < n * pos; i++) kl[v][r0 * pos + i] = divergence[i * replacements.length + v];
    });
  }
  return { clean, losses, kl };
}
