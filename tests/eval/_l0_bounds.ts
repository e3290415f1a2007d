// L0 is a count, so float32 rounding moves it by whole features: a feature whose pre-activation lies within
// rounding of zero (on the fixture, float32 implementations differ from float64 by about 1e-6 there) is on in one
// implementation and off in another, and one feature on one of 6096 tokens is 1.6e-4 of L0. These bounds count, in
// float64 from the model's own hook activations, the features certainly on (pre-activation > EPS) and possibly on
// (> -EPS), for a ReLU SAE, leaving out each row's first position as the evaluation does.
import { readSafetensors, toFloat32 } from "../../core/io/safetensors.ts";
import type { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { assertEquals } from "../_assert.ts";

const EPS = 1e-5;

/** Mean L0 per token, counting the features certainly on (`low`) and possibly on (`high`). */
export async function l0Bounds(
  model: HookedTransformer,
  saeFolder: string,
  rows: number[][],
): Promise<{ low: number; high: number }> {
  const cfg = JSON.parse(await Deno.readTextFile(`${saeFolder}/cfg.json`));
  assertEquals([cfg.architecture, cfg.apply_b_dec_to_input, cfg.normalize_activations], ["standard", true, "none"]);
  const w = await readSafetensors(`${saeFolder}/sae_weights.safetensors`);
  const [wEnc, bEnc, bDec] = ["W_enc", "b_enc", "b_dec"].map((n) => toFloat32(w.tensors.get(n)!, n));
  const { d_in: d, d_sae: s } = cfg;
  const hook = cfg.metadata.hook_name;
  let low = 0, high = 0, tokens = 0;
  for (let r = 0; r < rows.length; r += 16) {
    const batch = rows.slice(r, r + 16);
    const { cache } = await model.runWithCache(batch, { names: [hook] });
    const x = cache.get(hook)!.data;
    const ctx = batch[0].length;
    const pre = new Float64Array(s);
    for (let t = 0; t < x.length / d; t++) {
      if (t % ctx === 0) continue;
      pre.set(bEnc);
      for (let i = 0; i < d; i++) {
        const xi = x[t * d + i] - bDec[i];
        for (let j = 0; j < s; j++) pre[j] += xi * wEnc[i * s + j];
      }
      for (const p of pre) {
        if (p > EPS) low++;
        if (p > -EPS) high++;
      }
      tokens++;
    }
  }
  return { low: low / tokens, high: high / tokens };
}

/** Passes when two L0s agree within 1e-4, or both lie within the bounds (1e-4 either side). */
export function assertL0Close(got: number, want: number, { low, high }: { low: number; high: number }): void {
  const within = (v: number) => v >= low - 1e-4 && v <= high + 1e-4;
  const ok = Math.abs(got - want) <= 1e-4 || (within(got) && within(want));
  assertEquals(ok, true, `l0: ${got} vs ${want}, rounding bounds [${low}, ${high}]`);
}
