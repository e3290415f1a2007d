// Fixture models shared by the GPT-2 tests: loaded once per test module.
import { HookedTransformer, type LoadOptions } from "../../core/lm/hooked_transformer.ts";
import type { Backend } from "../../core/lm/ort_backend.ts";
import { readSafetensors, toFloat32, toIntegers } from "../../core/io/safetensors.ts";
import { FIXTURES } from "../_fixtures.ts";

export const MODEL_DIR = `${FIXTURES}gpt2-sotu-tiny`;

export function loadFixtureModel(
  backend: Backend | "auto" = "auto",
  options: LoadOptions = {},
): Promise<HookedTransformer> {
  return HookedTransformer.load(MODEL_DIR, { backend, ...options });
}

const file = await readSafetensors(`${FIXTURES}reference-dev.safetensors`);
export const REFERENCE = JSON.parse(await Deno.readTextFile(`${FIXTURES}reference-dev.json`));
export const PROMPT_TOKENS = toIntegers(file.tensors.get("tokens")!, "tokens");
export const REF_LOGITS = toFloat32(file.tensors.get("logits")!, "logits");
export const REF_RESID_PRE = toFloat32(file.tensors.get("resid_pre")!, "resid_pre");
const evalEntry = file.tensors.get("eval_tokens")!;
const evalFlat = toIntegers(evalEntry, "eval_tokens");
export const EVAL_ROWS: number[][] = Array.from(
  { length: evalEntry.shape[0] },
  (_, r) => evalFlat.slice(r * evalEntry.shape[1], (r + 1) * evalEntry.shape[1]),
);
