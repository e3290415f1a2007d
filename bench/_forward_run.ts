// Our side of bench/forward.ts, run as a child so its peak memory is its own: loads a model folder, runs each shape's
// token rows (logits included), and prints the load time, the time to the first logits and tokens/s per shape; writes
// the log-softmax of the first shape's first row's last position to OUT_DIR/logprobs.f32.
//
// Usage: deno run -A bench/_forward_run.ts FOLDER TOKENS_JSON OUT_DIR
import { join } from "node:path";
import { HookedTransformer } from "../core/lm/hooked_transformer.ts";

const [folder, tokensPath, outDir] = Deno.args;
const begun = performance.now();
// the baseline is transformers' plain forward: no TransformerLens processing on either side
const model = await HookedTransformer.load(folder, { processing: false });
const loadS = (performance.now() - begun) / 1000;
const shapes: Record<string, number[][]> = JSON.parse(await Deno.readTextFile(tokensPath));
const rates: Record<string, number> = {};
let firstS = 0;
for (const [i, [shape, rows]] of Object.entries(shapes).entries()) {
  const t0 = performance.now();
  const { logits } = await model.run(rows); // warm-up: builds the sessions
  if (i === 0) {
    firstS = (performance.now() - begun) / 1000;
    const V = model.cfg.dVocab, T = rows[0].length;
    const last = logits!.data.subarray((T - 1) * V, T * V);
    let max = -Infinity, sum = 0;
    for (const v of last) max = Math.max(max, v);
    for (const v of last) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    await Deno.writeFile(join(outDir, "logprobs.f32"), new Uint8Array(last.map((v) => v - lse).buffer));
  }
  let best = (performance.now() - t0) / 1000;
  for (let r = 0; r < 2; r++) {
    const t = performance.now();
    await model.run(rows);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  rates[shape] = rows.length * rows[0].length / best;
}
await model.dispose();
console.log(
  JSON.stringify({ tokens_per_s: rates, load_s: loadS, first_logits_s: firstS, dtype: model.weights.embed.dtype }),
);
