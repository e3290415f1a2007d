/**
 * One forward through ONNX Runtime: the graph cut after each hooked node and at every block boundary into segments,
 * each run by an ONNX session (the most recently used ones kept), JavaScript hook functions run between them on what
 * the segment before produced. Weights kept in 16 bits are widened into reused buffers while their segment runs, so a
 * model needs about one block's float32 weights beyond its stored ones.
 *
 * @module
 */

// onnxruntime is named by full npm specifier, as in ort_backend.ts, so `deno task bundle` keeps it external.
// deno-lint-ignore no-import-prefix
import type * as OrtTypes from "npm:onnxruntime-web@1.30.0";
import type { HostTensor } from "../gpu/tensor.ts";
import { encodeOnnxModel, type OnnxGraph } from "../util/onnx_proto.ts";
import {
  buildTransformerGraph,
  EMBED_IDS,
  EMBED_TABLE,
  LOCAL_MASK,
  MASK,
  pastKey,
  pastValue,
  POSITIONS,
  presentKey,
  presentValue,
  rotaryInput,
  segment,
  type SegmentPart,
  segmentPart,
  TARGETS,
  TOKENS,
  type TransformerGraph,
} from "./_transformer_graph.ts";
import type { TransformerConfig } from "./transformer_config.ts";
import type { TransformerWeights } from "./transformer_weights.ts";
import { checkHookName } from "./hook_points.ts";
import { applyHookFns, type HookFn } from "./hook_fn.ts";
import type { Backend, Ort } from "./ort_backend.ts";
import { rotaryInverseFrequencies, rotaryTables } from "./rotary.ts";
import { CPU_THREADS } from "../cpu/ort_node.ts";

type OrtTensor = OrtTypes.Tensor;

/** Token ids of one forward: `batch` rows of `pos`, flat and as rows. */
export interface Batch {
  batch: number;
  pos: number;
  ids: BigInt64Array;
  rows: number[][];
}

interface Segment {
  start: number;
  end: number;
  /** The nodes of [start, end) the run needs. */
  part: SegmentPart;
  /** The hook whose functions run after this segment, if any. */
  hook?: string;
}

/** Keys and values of earlier positions, per layer. */
export type KvCache = { keys: OrtTensor[]; values: OrtTensor[]; length: number };

/** Feeds of a segment's weight matrices, and the release of the buffers widened for them. */
export interface MatrixFeeds {
  feeds: Record<string, OrtTensor>;
  release: () => void;
}

/**
 * Token ids as a batch of equal-length rows.
 *
 * @example
 * ```ts ignore
 * toBatch([[1, 2], [3, 4]]).pos; // 2
 * ```
 *
 * @param input One row or several.
 * @returns The batch.
 * @throws {RangeError} When it is empty or its rows differ in length.
 */
export function toBatch(input: readonly number[] | readonly (readonly number[])[]): Batch {
  const rows = (input.length > 0 && Array.isArray(input[0]) ? input : [input]) as readonly (readonly number[])[];
  const pos = rows[0]?.length ?? 0;
  if (rows.length === 0 || pos === 0) throw new RangeError("Cannot run the model on an empty input");
  for (const [i, r] of rows.entries()) {
    if (!Array.isArray(r) || r.length !== pos) {
      throw new RangeError(
        `Every row must have ${pos} tokens: got ${Array.isArray(r) ? `a row of ${r.length}` : String(r)}`,
      );
    }
    const bad = r.findIndex((t) => !Number.isSafeInteger(t) || t < 0);
    if (bad >= 0) {
      throw new RangeError(
        `Row ${i} holds ${String(r[bad])} at position ${bad}: expected token ids (non-negative integers)`,
      );
    }
  }
  return { batch: rows.length, pos, ids: BigInt64Array.from(rows.flat(), BigInt), rows: rows.map((r) => [...r]) };
}

/** The segmented forward of one model: its graphs, its ONNX sessions, and the run of a forward. */
export class TransformerForward {
  readonly #cfg: TransformerConfig;
  readonly #weights: TransformerWeights;
  readonly #centerUnembed: boolean;
  readonly #ort: Ort;
  readonly #backend: Backend;
  readonly #graphs = new Map<boolean, TransformerGraph>();
  readonly #sessions = new Map<string, Promise<OrtTypes.InferenceSession>>();
  readonly #matrixTensors = new Map<string, OrtTensor>();
  /** Widening buffers by length, free for the next segment. */
  readonly #scratch = new Map<number, Float32Array[]>();
  readonly #maxSessions: number;
  readonly #inverseFrequencies: { global?: Float32Array; local?: Float32Array };

  /**
   * Binds a model's weights to an ONNX Runtime.
   *
   * @param cfg Hyperparameters.
   * @param weights Weights as run.
   * @param centerUnembed Whether logits are centred over the vocabulary.
   * @param ort The runtime and its backend.
   * @param maxSessions Most sessions kept alive.
   */
  constructor(
    cfg: TransformerConfig,
    weights: TransformerWeights,
    centerUnembed: boolean,
    ort: { ort: Ort; backend: Backend },
    maxSessions: number,
  ) {
    this.#cfg = cfg;
    this.#weights = weights;
    this.#centerUnembed = centerUnembed;
    this.#ort = ort.ort;
    this.#backend = ort.backend;
    this.#maxSessions = maxSessions;
    const rotary = cfg.rotary;
    this.#inverseFrequencies = rotary
      ? {
        global: rotaryInverseFrequencies(rotary, false),
        local: rotary.localBase !== undefined ? rotaryInverseFrequencies(rotary, true) : undefined,
      }
      : {};
  }

  /**
   * Whether sessions take the weight matrices as inputs fed from the model's arrays (onnxruntime-node: the
   * sessions then hold no second copy of the weights) rather than as initializers (the web backends, where an
   * input would be copied or uploaded on every run).
   */
  get matricesAsInputs(): boolean {
    return this.#backend === "node";
  }

  /**
   * The feeds of a part's matrices, when sessions take them as inputs: float32 ones as they are, 16-bit ones widened
   * into buffers reused once `release` is called. The embedding lookup's rows come from the `embed` feed the forward
   * prepared.
   */
  matrixFeeds(graph: TransformerGraph, part: SegmentPart, embed?: OrtTensor): MatrixFeeds {
    const feeds: Record<string, OrtTensor> = {};
    const taken: Float32Array[] = [];
    if (!this.matricesAsInputs) return { feeds, release: () => {} };
    const lookup = embed && part.inputs.includes(EMBED_IDS);
    for (const name of part.matrices) {
      const w = graph.matrices.get(name)!;
      if (name === EMBED_TABLE && lookup) {
        feeds[name] = embed;
      } else if (w.dtype === "float32") {
        let tensor = this.#matrixTensors.get(name);
        if (!tensor) {
          tensor = new this.#ort.Tensor("float32", w.data, [...w.shape]);
          this.#matrixTensors.set(name, tensor);
        }
        feeds[name] = tensor;
      } else {
        const buffer = this.#scratch.get(w.size)?.pop() ?? new Float32Array(w.size);
        taken.push(buffer);
        feeds[name] = new this.#ort.Tensor("float32", w.widenInto(buffer), [...w.shape]);
      }
    }
    const release = () => {
      for (const buffer of taken.splice(0)) {
        const free = this.#scratch.get(buffer.length) ?? [];
        free.push(buffer);
        this.#scratch.set(buffer.length, free);
      }
    };
    return { feeds, release };
  }

  /** The model's configuration. */
  get cfg(): TransformerConfig {
    return this.#cfg;
  }

  /** The onnxruntime module the model runs on. */
  get ort(): Ort {
    return this.#ort;
  }
  /** The ONNX Runtime backend the sessions run on. */
  get backend(): Backend {
    return this.#backend;
  }

  /** Releases every ONNX session (one that failed to build has nothing to release) and the widening buffers. */
  async dispose(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#scratch.clear();
    this.#matrixTensors.clear();
    await Promise.allSettled(sessions.map(async (s) => (await s).release()));
  }

  /**
   * The graph of a forward with or without a KV cache, built on first use.
   *
   * @param kvCache Whether it reads and writes keys and values of earlier positions.
   * @returns The graph.
   */
  graph(kvCache: boolean): TransformerGraph {
    let g = this.#graphs.get(kvCache);
    if (!g) {
      g = buildTransformerGraph(this.#cfg, this.#weights, { kvCache, centerUnembed: this.#centerUnembed });
      this.#graphs.set(kvCache, g);
    }
    return g;
  }

  /**
   * An ONNX Runtime tensor as a host tensor (sharing its data).
   *
   * @param t The tensor.
   * @returns Its shape and data.
   */
  host(t: OrtTensor): HostTensor {
    return { shape: [...t.dims], data: t.data as Float32Array };
  }

  /**
   * The KV cache before the first position.
   *
   * @param batch Rows.
   * @returns Empty keys and values per layer.
   */
  emptyKv(batch: number): KvCache {
    const { nLayers, nKvHeads, dHead } = this.#cfg;
    const empty = () => new this.#ort.Tensor("float32", new Float32Array(0), [batch, 0, nKvHeads, dHead]);
    return { keys: Array.from({ length: nLayers }, empty), values: Array.from({ length: nLayers }, empty), length: 0 };
  }

  /**
   * The KV cache a forward left in `env`.
   *
   * @param env The forward's tensors.
   * @param length Positions the cache now covers.
   * @returns Keys and values per layer.
   */
  nextKv(env: Map<string, OrtTensor>, length: number): KvCache {
    const layers = Array.from({ length: this.#cfg.nLayers }, (_, l) => l);
    return {
      keys: layers.map((l) => env.get(presentKey(l))!),
      values: layers.map((l) => env.get(presentValue(l))!),
      length,
    };
  }

  /** The segments of one forward: cut after each hooked node and at every stage end. */
  #plan(graph: TransformerGraph, hooked: readonly string[], names: readonly string[], end: number): Segment[] {
    const cuts = new Set(graph.stageEnds.filter((e) => e <= end));
    cuts.add(end);
    const hookAt = new Map<number, string>();
    for (const name of hooked) {
      const after = graph.hookNode.get(name)! + 1;
      if (after <= end) {
        cuts.add(after);
        hookAt.set(after, name);
      }
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const wanted = new Set([...names, ...hooked]);
    if (graph.kvCache) {
      for (let l = 0; l < this.#cfg.nLayers; l++) wanted.add(presentKey(l)).add(presentValue(l));
    }
    const ranges: [number, number][] = [];
    let start = 0;
    for (const stop of bounds) {
      if (stop === start) continue;
      ranges.push([start, stop]);
      start = stop;
    }
    // From the last segment back: each outputs what later ones read and what the caller wants, and keeps only the
    // nodes those depend on.
    const later = new Set<string>();
    const segments: Segment[] = [];
    for (const [from, to] of ranges.reverse()) {
      const produced = graph.nodes.slice(from, to).flatMap((n) => n.outputs);
      const part = segmentPart(graph, from, to, produced.filter((n) => later.has(n) || wanted.has(n)));
      for (const name of part.inputs) later.add(name);
      segments.push({ start: from, end: to, part, hook: hookAt.get(to) });
    }
    return segments.reverse();
  }

  #session(graph: TransformerGraph, seg: Segment): Promise<OrtTypes.InferenceSession> {
    const key = `${graph.kvCache}:${seg.start}:${seg.end}:${seg.part.outputs.join(",")}`;
    return this.session(key, () => segment(graph, seg.part, this.matricesAsInputs));
  }

  /**
   * The session of a graph the model runs, built on first use and kept among the most recently used. `arena` keeps
   * the memory of its runs' intermediate tensors for the next run (ONNX Runtime's CPU arena): for graphs whose
   * intermediates are each larger than malloc hands back to the system (a vocabulary's logits), without it every run
   * maps fresh pages that the kernel zeroes (half of an evaluation's time on the fixture model).
   */
  session(key: string, build: () => OnnxGraph, arena = false): Promise<OrtTypes.InferenceSession> {
    let session = this.#sessions.get(key);
    if (session) {
      this.#sessions.delete(key); // re-insert: most recently used last
    } else {
      const bytes = encodeOnnxModel(build());
      const providers = this.#backend === "webgpu" ? ["webgpu"] : ["cpu"];
      // One intra-op thread per core, as the SAE's CPU sessions and PyTorch use (ONNX Runtime's default counts
      // physical cores, one of this machine's two). Every session has its own thread pool, and a pool's threads spin
      // for work after a run: a forward runs one session per block, so spinning pools would take the cores from the
      // next block's (twice the time of GPT-2 small's forward).
      session = this.#ort.InferenceSession.create(bytes, {
        executionProviders: providers,
        enableCpuMemArena: arena,
        intraOpNumThreads: CPU_THREADS,
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      // a session that failed to build is not kept: the next run tries again and reports its own error
      session.catch(() => this.#sessions.delete(key));
      while (this.#sessions.size >= this.#maxSessions) {
        const [oldest, old] = this.#sessions.entries().next().value!;
        this.#sessions.delete(oldest);
        old.then((s) => s.release()).catch(() => {});
      }
    }
    this.#sessions.set(key, session);
    return session;
  }

  /**
   * The inputs every segment may read, for `batch` after `past` cached positions: token ids, the embedding rows
   * (only those looked up, when the embedding is kept in 16 bits), positions, rotary tables, masks, loss targets.
   */
  #runInputs(batch: Batch, past: number): { env: Map<string, OrtTensor>; embed?: OrtTensor; positions: number[] } {
    const ort = this.#ort;
    const cfg = this.#cfg;
    const positions = Array.from({ length: batch.pos }, (_, i) => past + i);
    const total = past + batch.pos;
    const mask = new Uint8Array(batch.pos * total);
    for (let q = 0; q < batch.pos; q++) mask.fill(1, q * total, q * total + past + q + 1);
    const targets = new BigInt64Array(batch.ids.length);
    targets.set(batch.ids.subarray(1));
    const shape = [batch.batch, batch.pos];
    const env = new Map<string, OrtTensor>([
      [TOKENS, new ort.Tensor("int64", batch.ids, shape)],
      [POSITIONS, new ort.Tensor("int64", BigInt64Array.from(positions, BigInt), [batch.pos])],
      [MASK, new ort.Tensor("bool", mask, [batch.pos, total])],
      [TARGETS, new ort.Tensor("int64", targets, shape)],
    ]);
    if (cfg.windowSize !== null) {
      // a local layer's query at position p attends keys p − window + 1 … p
      const local = new Uint8Array(batch.pos * total);
      for (let q = 0; q < batch.pos; q++) {
        const at = past + q;
        local.fill(1, q * total + Math.max(0, at - cfg.windowSize + 1), q * total + at + 1);
      }
      env.set(LOCAL_MASK, new ort.Tensor("bool", local, [batch.pos, total]));
    }
    for (
      const [local, inv] of [[false, this.#inverseFrequencies.global], [true, this.#inverseFrequencies.local]] as const
    ) {
      if (!inv) continue;
      const { cos, sin } = rotaryTables(inv, positions);
      env.set(rotaryInput("cos", local), new ort.Tensor("float32", cos, [batch.pos, 1, 2 * inv.length]));
      env.set(rotaryInput("sin", local), new ort.Tensor("float32", sin, [batch.pos, 1, 2 * inv.length]));
    }
    const table = this.#weights.embed;
    if (table.dtype === "float32" || !this.matricesAsInputs) {
      env.set(EMBED_IDS, env.get(TOKENS)!);
      return { env, positions };
    }
    // a 16-bit embedding is not widened whole: the run gets the rows it looks up
    const ids = Array.from(batch.ids, Number);
    const rows = [...new Set(ids)];
    const row = new Map(rows.map((id, i) => [id, i]));
    env.set(EMBED_IDS, new ort.Tensor("int64", BigInt64Array.from(ids, (id) => BigInt(row.get(id)!)), shape));
    const embed = new ort.Tensor("float32", table.rows(rows), [rows.length, table.shape[1]]);
    return { env, embed, positions };
  }

  /**
   * Runs the segments of one forward up to its end (the model's, or `stopAtLayer`'s residual), the hook functions
   * after their hooks, and caches the activations named.
   *
   * @param batch The token ids.
   * @param opts Names to cache, hooks, outputs wanted, where to stop, and the KV cache of earlier positions.
   * @returns Every tensor computed, and the cache.
   * @throws {RangeError} When the positions exceed n_ctx, a token id is past the vocabulary or a hook name is unknown.
   */
  async forward(
    batch: Batch,
    opts: {
      names: readonly string[];
      fwdHooks: readonly (readonly [string, HookFn])[];
      outputs: readonly string[];
      stopAtLayer?: number;
      /** Stop once this hook's node has run. */
      stopAfter?: string;
      kv?: KvCache;
    },
  ): Promise<{ env: Map<string, OrtTensor>; cache: Map<string, HostTensor> }> {
    const { names, fwdHooks, outputs, stopAtLayer, stopAfter, kv } = opts;
    const cfg = this.#cfg;
    const past = kv?.length ?? 0;
    if (past + batch.pos > cfg.nCtx) {
      throw new RangeError(
        `The input has ${past + batch.pos} positions: the model's n_ctx is ${cfg.nCtx} (truncate the text)`,
      );
    }
    for (const id of batch.ids) {
      if (id < 0n || id >= BigInt(cfg.dVocab)) {
        throw new RangeError(`Token id ${id} is outside the model's vocabulary of ${cfg.dVocab}`);
      }
    }
    const hooks = new Map<string, HookFn[]>();
    for (const [name, fn] of fwdHooks) {
      checkHookName(name, cfg);
      hooks.set(name, [...hooks.get(name) ?? [], fn]);
    }
    const graph = this.graph(kv !== undefined);
    const end = stopAfter !== undefined
      ? graph.hookNode.get(stopAfter)! + 1
      : stopAtLayer === undefined
      ? graph.nodes.length
      : stopAtLayer < cfg.nLayers
      ? graph.hookNode.get(`blocks.${stopAtLayer}.hook_resid_pre`)! + 1
      : graph.stageEnds[stopAtLayer];
    const segments = this.#plan(graph, [...hooks.keys()], [...names, ...outputs], end);
    const { env, embed, positions } = this.#runInputs(batch, past);
    kv?.keys.forEach((t, l) => env.set(pastKey(l), t));
    kv?.values.forEach((t, l) => env.set(pastValue(l), t));

    for (const seg of segments) {
      const session = await this.#session(graph, seg);
      const { feeds, release } = this.matrixFeeds(graph, seg.part, embed);
      for (const name of seg.part.inputs) feeds[name] = env.get(name)!;
      try {
        const t0 = performance.now();
        const results = await session.run(feeds, seg.part.outputs);
        if (Deno.env.get("SAE_PROF")) {
          console.error(`seg ${seg.start}-${seg.end} ${(performance.now() - t0).toFixed(1)} ms`);
        }
        for (const name of seg.part.outputs) env.set(name, results[name]);
      } finally {
        release();
      }
      if (seg.hook) {
        env.set(seg.hook, await this.#applyHooks(seg.hook, hooks.get(seg.hook)!, env.get(seg.hook)!, positions));
      }
    }
    const cache = new Map<string, HostTensor>();
    for (const name of names) {
      const t = env.get(name);
      if (t) cache.set(name, this.host(t));
    }
    return { env, cache };
  }

  async #applyHooks(name: string, fns: HookFn[], tensor: OrtTensor, positions: number[]): Promise<OrtTensor> {
    const copy: HostTensor = { shape: [...tensor.dims], data: new Float32Array(tensor.data as Float32Array) };
    const act = await applyHookFns(fns, copy, { name, positions });
    return new this.#ort.Tensor("float32", act.data, [...act.shape]);
  }
}
