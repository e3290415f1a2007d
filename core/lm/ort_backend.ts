/**
 * Which ONNX Runtime runs the model: onnxruntime-node (native) or onnxruntime-web (WebAssembly or WebGPU).
 *
 * @module
 */

// onnxruntime is named by full npm specifier, not through deno.json's import map: `deno task bundle` keeps
// it external and the bundle must resolve it without deno.json.
// deno-lint-ignore no-import-prefix
import type * as OrtTypes from "npm:onnxruntime-web@1.30.0";

/** The onnxruntime module (onnxruntime-node's API is onnxruntime-web's). */
export type Ort = typeof OrtTypes;

/** Where ONNX Runtime runs: native (onnxruntime-node), WebAssembly, or WebGPU (onnxruntime-web). */
export type Backend = "node" | "web" | "webgpu";

/**
 * Loads the ONNX Runtime of a backend; `"auto"` takes onnxruntime-node where FFI is allowed and it loads, else
 * onnxruntime-web on every core.
 *
 * @example
 * ```ts ignore
 * const { ort, backend } = await loadOrt("auto");
 * ```
 *
 * @param backend The backend asked for.
 * @returns The module and the backend it gives.
 * @throws {Error} When the node backend is asked for and cannot load.
 */
export async function loadOrt(backend: Backend | "auto"): Promise<{ ort: Ort; backend: Backend }> {
  if (backend === "node" || backend === "auto") {
    const ffi = await Deno.permissions.query({ name: "ffi" });
    if (ffi.state === "granted") {
      try {
        // deno-lint-ignore no-import-prefix
        return { ort: await import("npm:onnxruntime-node@1.30.0") as unknown as Ort, backend: "node" };
      } catch (e) {
        if (backend === "node") throw new Error(`onnxruntime-node did not load: ${(e as Error).message}`);
      }
    } else if (backend === "node") {
      throw new Error("The node backend needs --allow-ffi (onnxruntime-node is a native addon)");
    }
  }
  if (backend === "webgpu") {
    // deno-lint-ignore no-import-prefix
    const ort = await import("npm:onnxruntime-web@1.30.0/webgpu") as unknown as Ort;
    return { ort, backend };
  }
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-web@1.30.0") as unknown as Ort;
  ort.env.wasm.numThreads = navigator.hardwareConcurrency;
  return { ort, backend: "web" };
}
