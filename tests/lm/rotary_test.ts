import { assertEquals } from "../_assert.ts";
import { rotaryInverseFrequencies, rotaryTables } from "../../core/lm/rotary.ts";

Deno.test("rotaryInverseFrequencies() scales as Llama 3 does: high frequencies kept, low ones slowed, the middle blended", () => {
  const scaling = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 } as const;
  const rotary = { dim: 128, base: 500000, scaling };
  const plain = rotaryInverseFrequencies({ ...rotary, scaling: { type: "none" } }, false);
  const scaled = rotaryInverseFrequencies(rotary, false);
  let kept = 0, slowed = 0, blended = 0;
  for (let i = 0; i < plain.length; i++) {
    const wavelen = 2 * Math.PI / plain[i];
    if (wavelen < 8192 / 4) {
      assertEquals(scaled[i], plain[i]), kept++;
    } else if (wavelen > 8192) {
      assertEquals(Math.abs(scaled[i] - plain[i] / 8) <= 1e-6 * plain[i], true), slowed++;
    } else {
      assertEquals(scaled[i] < plain[i] && scaled[i] > plain[i] / 8, true), blended++;
    }
  }
  assertEquals([kept > 0, slowed > 0, blended > 0], [true, true, true]);
});

Deno.test("rotaryInverseFrequencies() divides by a linear factor, and a local base is unscaled", () => {
  const rotary = { dim: 8, base: 1e6, localBase: 1e4, scaling: { type: "linear", factor: 8 } } as const;
  const global = rotaryInverseFrequencies(rotary, true);
  const plain = rotaryInverseFrequencies({ dim: 8, base: 1e4, scaling: { type: "none" } }, false);
  assertEquals([...global], [...plain]);
  const scaled = rotaryInverseFrequencies(rotary, false);
  const unscaled = rotaryInverseFrequencies({ dim: 8, base: 1e6, scaling: { type: "none" } }, false);
  scaled.forEach((f, i) => assertEquals(f, Math.fround(unscaled[i] / 8)));
});

Deno.test("rotaryTables() repeats each frequency over both halves, at float32 angles", () => {
  const inv = Float32Array.of(1, 0.01);
  const { cos, sin } = rotaryTables(inv, [0, 3]);
  assertEquals([...cos.subarray(0, 4)], [1, 1, 1, 1]);
  assertEquals([cos[4], cos[6], sin[5], sin[7]], [
    Math.fround(Math.cos(3)),
    Math.fround(Math.cos(3)),
    Math.fround(Math.sin(Math.fround(3 * inv[1]))),
    Math.fround(Math.sin(Math.fround(3 * inv[1]))),
  ]);
});
