import assert from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { planSampling, type SamplingInputs } from "../../core/train/sampling_plan.ts";

/** 100 rows of 128 tokens at one hook of width 64: 3.125 MiB of activations. */
function inputs(extra: Partial<SamplingInputs> = {}): SamplingInputs {
  async function* rows() {
    for (let r = 0; r < 100; r++) yield [r];
  }
  return {
    rows: () => rows(),
    seed: 1,
    contextSize: 128,
    widths: [64],
    bufferTokens: 2560,
    neededTokens: 20000,
    memoryBytes: 2 ** 30,
    wholeCorpus: true,
    ...extra,
  };
}

Deno.test("planSampling() holds the corpus whole when it fits in a quarter of memory", async () => {
  const plan = await planSampling(inputs());
  assertEquals([plan.corpusRows, plan.held], [100, Array.from({ length: 100 }, (_, r) => [r])]);
  assertEquals(
    plan.description,
    "sampling across the whole corpus: its 12800 tokens' activations (3.1 MiB) held in memory, in a new random order each pass",
  );
  // a run that draws fewer tokens holds as many rows, drawn from the whole corpus, in corpus order, the same for a seed
  const short = await planSampling(inputs({ neededTokens: 1000 }));
  const held = short.held!.map(([r]) => r);
  assertEquals([short.corpusRows, held.length], [100, 8]);
  assertEquals(held, [...held].sort((a, b) => a - b));
  assert(held[0] < 50 && held[7] >= 50, `${held}`);
  assertEquals((await planSampling(inputs({ neededTokens: 1000 }))).held, short.held);
  assert((await planSampling(inputs({ neededTokens: 1000, seed: 2 }))).held!.join() !== short.held!.join());
  assertEquals(
    short.description,
    "sampling across the whole corpus: the activations of 8 of its 100 rows, drawn at random, as many as the run draws (0.3 MiB) held in memory, in a new random order each pass",
  );
});

Deno.test("planSampling() says how much of the corpus the mixing buffer mixes when the corpus does not fit", async () => {
  // a quarter of 8 MiB holds 64 rows of 32 KiB: the corpus of 100 rows does not fit
  const over = await planSampling(inputs({ memoryBytes: 8 * 2 ** 20 }));
  assertEquals([over.corpusRows, over.held], [undefined, undefined]);
  assertEquals(
    over.description,
    "sampling from the mixing buffer of 2560 tokens, under 30.77% of the corpus (over 8320 tokens; its activations need more than 2.0 MiB, a quarter of this machine's memory)",
  );
  const off = await planSampling(inputs({ wholeCorpus: false }));
  assertEquals(off.corpusRows, undefined);
  assert(off.description.endsWith("2560 tokens, 20.00% of the corpus's 12800 tokens (shuffle_whole_corpus is false)"));
});
