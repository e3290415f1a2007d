import { sharedFeatures } from "../../core/analysis/compare_prompts.ts";
import type { TextFeatures } from "../../core/analysis/encode_text.ts";
import { featurePeak } from "../../core/analysis/feature_probe.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

// Two features per position; BOS first, whose activations must not count.
function encoded(rows: number[][]): TextFeatures {
  return {
    site: { hookName: "blocks.0.hook_resid_pre", prependBos: true },
    tokens: rows.map((_, i) => i === 0 ? 50256 : i),
    strTokens: rows.map((_, i) => i === 0 ? "<|endoftext|>" : `t${i}`),
    features: { shape: [rows.length, 3], data: new Float32Array(rows.flat()) },
    acts: { shape: [rows.length, 1], data: new Float32Array(rows.length) },
    recon: { shape: [rows.length, 1], data: new Float32Array(rows.length) },
    top: [],
    bosPositions: 1,
    l0: [],
    summary: { l0: [], meanL0: 0, mse: 0, explainedVariance: 1 },
  };
}

Deno.test("sharedFeatures: active (peak > threshold) in every prompt, ranked by mean peak, BOS left out", () => {
  const a = encoded([[9, 9, 9], [1, 0.2, 3], [0.6, 0, 1]]);
  const b = encoded([[9, 9, 9], [2, 0.9, 0], [0, 0.1, 0.4]]);
  const shared = sharedFeatures([a, b], 0.5);
  assertEquals(shared.map((f) => f.index), [0]); // feature 1 peaks at 0.2 in a, feature 2 at 0.4 in b
  assertEquals(shared[0].peaks, [1, 2]);
  assertEquals(shared[0].mean, 1.5);
  assertEquals(sharedFeatures([a, b], 0.1).map((f) => f.index), [2, 0, 1]); // means 1.7, 1.5, 0.55
  assertThrows(() => sharedFeatures([], 0), RangeError, "at least one prompt");
});

Deno.test("featurePeak: the largest activation after BOS and its token", () => {
  const peak = featurePeak(encoded([[9, 9, 9], [1, 0.2, 3], [0.6, 0.7, 1]]), 1);
  assertEquals(peak.position, 2);
  assertEquals(peak.token, "t2");
  assertEquals(Math.abs(peak.max - 0.7) < 1e-7, true);
  assertEquals(peak.activations.length, 3);
  assertThrows(() => featurePeak(encoded([[0, 0, 0]]), 3), RangeError, "outside the SAE's 3 features");
});

Deno.test("featurePeak: a feature that never fires after BOS has no peak", () => {
  const peak = featurePeak(encoded([[0, 5, 0], [0, 0, 1], [0, 0, 2]]), 1); // fires on BOS only
  assertEquals(peak, { max: 0, position: null, token: null, activations: [5, 0, 0] });
});
