/**
 * ONNX Runtime's native CPU engine (onnxruntime-node, MLAS kernels) for the SAE's small graphs: the
 * module loaded once, sessions created with one intra-op thread per core. Besides `core/lm/hooked_transformer.ts`,
 * the only module that imports onnxruntime.
 *
 * @module
 */

// onnxruntime is named by full npm specifier, as in core/lm/hooked_transformer.ts, so `deno task bundle` keeps it external.
// deno-lint-ignore no-import-prefix
import type * as OrtTypes from "npm:onnxruntime-web@1.30.0";
import { encodeOnnxModel, type OnnxGraph } from "../util/onnx_proto.ts";

/** The onnxruntime module (onnxruntime-node's API is onnxruntime-web's). */
export type Ort = typeof OrtTypes;
/** An ONNX Runtime session. */
export type OrtSession = OrtTypes.InferenceSession;
/** An ONNX Runtime tensor. */
export type OrtTensor = OrtTypes.Tensor;

/** Intra-op threads of every CPU session: one per core, as PyTorch's default. */
export const CPU_THREADS: number = navigator.hardwareConcurrency || 1;

let loading: Promise<Ort> | undefined;

/**
 * Loads onnxruntime-node once per process.
 *
 * @example
 * ```ts ignore
 * const ort = await loadOrtNode();
 * ```
 *
 * @throws {Error} When `--allow-ffi` is not granted or the native addon does not load.
 */
export function loadOrtNode(): Promise<Ort> {
  loading ??= (async () => {
    if ((await Deno.permissions.query({ name: "ffi" })).state !== "granted") {
      throw new Error("The cpu device needs --allow-ffi (onnxruntime-node is a native addon)");
    }
    try {
      // deno-lint-ignore no-import-prefix
      return await import("npm:onnxruntime-node@1.30.0") as unknown as Ort;
    } catch (e) {
      throw new Error(`onnxruntime-node did not load: ${(e as Error).message}`);
    }
  })().catch((e) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

/**
 * Creates a CPU session for a graph (opset 17) with {@linkcode CPU_THREADS} intra-op threads that sleep, not spin,
 * between runs.
 *
 * @example
 * ```ts ignore
 * const session = await createCpuSession(graph);
 * const out = await session.run(feeds);
 * ```
 *
 * @param graph The graph; weights are best given as inputs, as a session then creates in milliseconds.
 * @param options `arena: false` returns each run's memory to the system (inference between other work) instead of
 *   keeping it for the next run (training, whose every step allocates the same).
 * @returns The session.
 */
export async function createCpuSession(graph: OnnxGraph, options: { arena?: boolean } = {}): Promise<OrtSession> {
  const ort = await loadOrtNode();
  return await ort.InferenceSession.create(encodeOnnxModel(graph), {
    executionProviders: ["cpu"],
    intraOpNumThreads: CPU_THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    enableCpuMemArena: options.arena ?? true,
    // A pool's threads spin for work after a run; the next session's run (a training step runs several, an encode
    // runs beside the model's sessions) then finds its cores taken.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
}
