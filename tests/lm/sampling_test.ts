import { assertEquals, assertThrows } from "../_assert.ts";
import { sampleToken } from "../../core/lm/sampling.ts";

function draws(logits: number[], options: Parameters<typeof sampleToken>[1], n = 4000): number[] {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const counts = logits.map(() => 0);
  for (let i = 0; i < n; i++) counts[sampleToken(Float32Array.from(logits), options, random)]++;
  return counts.map((c) => c / n);
}

Deno.test("sampleToken() is greedy without sampling or at temperature 0", () => {
  assertEquals(sampleToken(Float32Array.of(1, 5, 3), { doSample: false }, Math.random), 1);
  assertEquals(sampleToken(Float32Array.of(1, 5, 3), { temperature: 0 }, Math.random), 1);
});

Deno.test("sampleToken() draws from softmax(logits / temperature)", () => {
  const logits = [0, Math.log(3), 0];
  const freq = draws(logits, {});
  assertEquals(Math.abs(freq[1] - 0.6) < 0.03, true);
  const hot = draws(logits, { temperature: 2 }); // weights 1 : √3 : 1
  assertEquals(Math.abs(hot[1] - Math.sqrt(3) / (2 + Math.sqrt(3))) < 0.03, true);
});

Deno.test("sampleToken() keeps only the top k, or the top-p nucleus", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  assertEquals(draws(logits, { topK: 2 }).slice(2), [0, 0]);
  // cumulative 0.5, 0.8, 0.95: with p = 0.7 the second token is the last kept
  const nucleus = draws(logits, { topP: 0.7 });
  assertEquals(nucleus.slice(2), [0, 0]);
  assertEquals(Math.abs(nucleus[0] - 0.5 / 0.8) < 0.03, true);
});

Deno.test("sampleToken() rejects bad settings", () => {
  assertThrows(() => sampleToken(Float32Array.of(1), { temperature: -1 }, Math.random), RangeError, "temperature");
  assertThrows(() => sampleToken(Float32Array.of(1), { topK: 0 }, Math.random), RangeError, "topK");
  assertThrows(() => sampleToken(Float32Array.of(1), { topP: 1.5 }, Math.random), RangeError, "topP");
});
