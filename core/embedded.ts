/**
 * The small model and SAE the repository carries, so the main job runs with no network: the fixture
 * GPT-2 (4 layers, d_model 128, trained on State of the Union addresses) and a 1024-feature standard
 * SAE on its `blocks.2.hook_resid_pre`, both stored as f16 under `examples/data/`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The model name the embedded SAE's cfg.json gives. */
export const EMBEDDED_MODEL_NAME = "gpt2-sotu-tiny";

/** The prompt of the main job (SAELens tutorial 1's kind of sentence). */
export const EMBEDDED_PROMPT = "When John and Mary went to the shops, John gave the bag to";

function local(relative: string): string {
  const url = new URL(`../examples/data/${relative}`, import.meta.url);
  if (url.protocol !== "file:") {
    throw new Deno.errors.NotFound(
      `The embedded ${relative} is only in a local copy of sae (a clone, or a binary compiled with --include examples/data): ` +
        "pass --sae and --model",
    );
  }
  return fileURLToPath(url);
}

/**
 * The embedded SAE's folder.
 *
 * @example
 * ```ts
 * import { embeddedSae } from "./embedded.ts";
 * console.log(embeddedSae().endsWith("examples/data/sae-standard-f16")); // true
 * ```
 *
 * @returns A local path.
 * @throws {Deno.errors.NotFound} When sae runs from a URL (JSR) rather than a local copy.
 */
export function embeddedSae(): string {
  return local("sae-standard-f16");
}

/**
 * The embedded model's folder.
 *
 * @example
 * ```ts
 * import { embeddedModel } from "./embedded.ts";
 * console.log(embeddedModel().endsWith("examples/data/gpt2-sotu-tiny-f16")); // true
 * ```
 *
 * @returns A local path.
 * @throws {Deno.errors.NotFound} When sae runs from a URL (JSR) rather than a local copy.
 */
export function embeddedModel(): string {
  return local("gpt2-sotu-tiny-f16");
}
