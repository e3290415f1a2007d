import assert from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { ActivationStore, type ActivationStoreOptions } from "../../core/train/activation_store.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";

const CONTEXT = 4;

/** Rows 0, 1, 2, …, 9 of token ids; "activations" encode (row, position) so every token is traceable. */
function options(seed = 1): ActivationStoreOptions {
  async function* rows() {
    for (let r = 0; r < 10; r++) yield Array.from({ length: CONTEXT }, (_, p) => r * CONTEXT + p);
  }
  return {
    rows: () => rows(),
    source: (batch) => Promise.resolve([Float32Array.from(batch.flat()), Float32Array.from(batch.flat(), (t) => -t)]),
    widths: [1, 1],
    contextSize: CONTEXT,
    rowsPerRun: 2,
    bufferTokens: 16,
    rng: mulberry32(seed),
  };
}

Deno.test("ActivationStore.next() serves every token of an epoch once, shuffled, the same order for every hook", async () => {
  const store = new ActivationStore(options());
  const served: number[] = [];
  for (let i = 0; i < 10; i++) {
    const [a, b] = await store.next(4);
    assertEquals([...b], [...a].map((v) => -v));
    served.push(...a);
  }
  assert(served.slice(0, 8).some((t, i) => t !== i), "the first batches are shuffled");
  // By the 20th token served at most 36 have been read (20 + a 16-token buffer): one epoch, no repeats.
  assertEquals(new Set(served.slice(0, 20)).size, 20);
  // Later the dataset restarts: a new epoch.
  assert(served.every((t) => t >= 0 && t < 40));
});

Deno.test("ActivationStore.state() continues exactly where the store stopped", async () => {
  const whole = new ActivationStore(options(3));
  const expected: number[] = [];
  for (let i = 0; i < 12; i++) expected.push(...(await whole.next(4))[0]);

  const o = options(3);
  const first = new ActivationStore(o);
  const got: number[] = [];
  for (let i = 0; i < 5; i++) got.push(...(await first.next(4))[0]);
  // A checkpoint keeps the store's state and the generator's.
  const second = new ActivationStore({ ...options(), rng: mulberry32(o.rng.state) }, first.state());
  for (let i = 5; i < 12; i++) got.push(...(await second.next(4))[0]);
  assertEquals(got, expected);
});

Deno.test("ActivationStore.next() refuses batches the buffer cannot mix", async () => {
  const store = new ActivationStore(options());
  await assert.rejects(() => store.next(12), /cannot serve batches of 12: raise n_batches_in_buffer/);
});

/** The same rows (all ten, 40 tokens, or those listed), sampled across the whole corpus with `seed`. */
const corpus = (seed: number, rows = [...Array(10).keys()]): ActivationStoreOptions => ({
  ...options(),
  corpus: { rows: rows.map((r) => Array.from({ length: CONTEXT }, (_, p) => r * CONTEXT + p)), seed },
});

Deno.test("ActivationStore.next() across the whole corpus serves each pass as a new permutation of every token", async () => {
  const store = new ActivationStore(corpus(7));
  const passes: number[][] = [[], []];
  for (let i = 0; i < 20; i++) {
    const [a, b] = await store.next(4);
    assertEquals([...b], [...a].map((v) => -v));
    passes[Math.floor(i / 10)].push(...a);
  }
  for (const pass of passes) assertEquals([...pass].sort((x, y) => x - y), Array.from({ length: 40 }, (_, t) => t));
  assert(passes[0].join() !== passes[1].join(), "each pass is drawn anew");
  // the first batch already draws from across the corpus, not from its opening rows as a buffer would
  const first = passes[0].slice(0, 8);
  assert(Math.max(...first) >= 20, `${first}`);
});

Deno.test("ActivationStore across the whole corpus is reproducible for a seed, and resumes exactly", async () => {
  const serve = async (store: ActivationStore, batches: number) => {
    const out: number[] = [];
    for (let i = 0; i < batches; i++) out.push(...(await store.next(3))[0]);
    return out;
  };
  const whole = await serve(new ActivationStore(corpus(7)), 30);
  assertEquals(await serve(new ActivationStore(corpus(7)), 30), whole);
  assert((await serve(new ActivationStore(corpus(8)), 30)).join() !== whole.join());
  // batches of 3 cross the pass boundary at 40 tokens; a checkpoint at 17 batches (51 tokens, in pass 2)
  const first = new ActivationStore(corpus(7));
  const got = await serve(first, 17);
  const state = first.state();
  assertEquals([state.served, state.buffered[0].length], [51, 0]);
  got.push(...await serve(new ActivationStore(corpus(7), state), 13));
  assertEquals(got, whole);
});

Deno.test("ActivationStore across the whole corpus serves only the rows it is given to hold, each token once a pass", async () => {
  const store = new ActivationStore(corpus(7, [0, 3, 7, 9]));
  assertEquals(store.capacity, 16);
  const served: number[] = [];
  for (let i = 0; i < 8; i++) served.push(...(await store.next(4))[0]);
  for (const pass of [served.slice(0, 16), served.slice(16)]) {
    assertEquals(
      [...pass].sort((a, b) => a - b),
      [0, 3, 7, 9].flatMap((r) => [0, 1, 2, 3].map((p) => r * CONTEXT + p)),
    );
  }
  assertEquals(store.rowsRead, 4);
});
