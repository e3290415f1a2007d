// One run of bench/real_size.ts, as its own process so its peak memory is its own.
//
// Usage: deno run -A bench/_real_size_run.ts gemma2 MODEL_DIR SAE_DIR | llama MODEL_DIR
import { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import { SAE } from "../core/sae/sae.ts";

const [which, modelDir, saeDir] = Deno.args;
const begun = performance.now();
const seconds = (from: number) => Number(((performance.now() - from) / 1000).toFixed(2));
const tokens = Array.from({ length: 64 }, (_, i) => 2 + (i * 7919) % 50000);
if (which === "gemma2") {
  // the cold start: model, SAE, one token's features
  const model = await HookedTransformer.load(modelDir);
  const loadS = seconds(begun);
  const sae = await SAE.load(saeDir);
  const hook = "blocks.12.hook_resid_post";
  const first = await model.runWithCache([2, 651], { names: [hook], stopAtLayer: 13 });
  const f = await sae.encode({ shape: [2, 2304], data: first.cache.get(hook)!.data }).read();
  const coldStartS = seconds(begun);
  if (!f.some((v) => v > 0)) throw new Error("no feature fired");
  let t = performance.now();
  await model.runWithCache(tokens, { names: [hook], stopAtLayer: 13 });
  const toHookS = seconds(t);
  t = performance.now();
  const { logits } = await model.run(tokens);
  const toLogitsS = seconds(t);
  if (!logits!.data.every(Number.isFinite)) throw new Error("non-finite logits");
  console.log(JSON.stringify({
    dtype: model.weights.embed.dtype,
    tokens: tokens.length,
    load_s: loadS,
    cold_start_s: coldStartS,
    to_hook_s: toHookS,
    to_logits_s: toLogitsS,
  }));
} else {
  const model = await HookedTransformer.load(modelDir);
  const loadS = seconds(begun);
  const hook = "blocks.16.hook_resid_post";
  const t = performance.now();
  const { cache } = await model.runWithCache(tokens, { names: [hook], stopAtLayer: 17 });
  const toHookS = seconds(t);
  if (!cache.get(hook)!.data.every(Number.isFinite)) throw new Error("non-finite activations");
  console.log(
    JSON.stringify({ dtype: model.weights.embed.dtype, tokens: tokens.length, load_s: loadS, to_hook_s: toHookS }),
  );
}
