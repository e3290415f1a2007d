import { assertEquals, assertRejects } from "../_assert.ts";
import { maxAbsDiff } from "../_reference.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { readModelCheckpoint } from "../../core/lm/model_checkpoint.ts";
import { hookNames } from "../../core/lm/hook_points.ts";
import { NO_PROCESSING } from "../../core/lm/process_weights.ts";
import { logSoftmax, readReferenceGpt2, referenceForward } from "./_gpt2_reference.ts";
import {
  EVAL_ROWS,
  loadFixtureModel,
  MODEL_DIR,
  PROMPT_TOKENS,
  REF_LOGITS,
  REF_RESID_PRE,
  REFERENCE,
} from "./_models.ts";

// ONNX Runtime keeps worker threads and native handles alive between tests by design.
const opts = { sanitizeOps: false, sanitizeResources: false };
const VOCAB = 50257;
const HOOK = "blocks.2.hook_resid_pre";

const model = await loadFixtureModel();

Deno.test({
  name: "HookedTransformer.run() gives reference-dev's log-probabilities and resid_pre",
  ...opts,
  async fn() {
    const { logits, cache } = await model.runWithCache(PROMPT_TOKENS, { names: [HOOK] });
    const diff = maxAbsDiff(logSoftmax(logits!.data, VOCAB), logSoftmax(REF_LOGITS, VOCAB));
    if (!(diff <= 1e-4)) throw new Error(`log_softmax differs by ${diff}`);
    const resid = maxAbsDiff(cache.get(HOOK)!.data, REF_RESID_PRE);
    if (!(resid <= 1e-4)) throw new Error(`resid_pre differs by ${resid}`);
    const top5 = Array.from(logits!.data.subarray((PROMPT_TOKENS.length - 1) * VOCAB).keys())
      .sort((a, b) =>
        logits!.data[(PROMPT_TOKENS.length - 1) * VOCAB + b] - logits!.data[(PROMPT_TOKENS.length - 1) * VOCAB + a]
      )
      .slice(0, 5);
    assertEquals(top5, REFERENCE.prompt.next_token_top5);
  },
});

Deno.test({
  name: "HookedTransformer.run() equals an independent Hugging Face GPT-2 forward, c_attn biases included",
  ...opts,
  async fn() {
    const reference = await readReferenceGpt2(MODEL_DIR);
    const ref = referenceForward(reference, PROMPT_TOKENS);
    const { logits, cache } = await model.runWithCache(PROMPT_TOKENS, { names: [HOOK] });
    const diff = maxAbsDiff(logSoftmax(logits!.data, VOCAB), logSoftmax(ref.logits, VOCAB));
    if (!(diff <= 1e-4)) throw new Error(`log_softmax differs by ${diff}`);
    // TransformerLens's residual stream is Hugging Face's minus its per-token mean
    const d = reference.d;
    const centred = ref.residPre[2].flatMap((r) => {
      const mean = r.reduce((a, b) => a + b, 0) / d;
      return Array.from(r, (v) => v - mean);
    });
    const resid = maxAbsDiff(cache.get(HOOK)!.data, centred);
    if (!(resid <= 1e-4)) throw new Error(`resid_pre differs by ${resid}`);
  },
});

Deno.test({
  name: "HookedTransformer without processing: a hook minus its per-token mean equals the processed value",
  ...opts,
  async fn() {
    const raw = await HookedTransformer.load(MODEL_DIR, { processing: NO_PROCESSING });
    try {
      const a = (await raw.runWithCache(PROMPT_TOKENS, { names: [HOOK], stopAtLayer: 3 })).cache.get(HOOK)!;
      const b = (await model.runWithCache(PROMPT_TOKENS, { names: [HOOK], stopAtLayer: 3 })).cache.get(HOOK)!;
      const d = raw.cfg.dModel;
      const centred = new Float32Array(a.data.length);
      for (let p = 0; p < a.data.length / d; p++) {
        const row = a.data.subarray(p * d, (p + 1) * d);
        const mean = row.reduce((x, y) => x + y, 0) / d;
        for (let i = 0; i < d; i++) centred[p * d + i] = row[i] - mean;
      }
      const diff = maxAbsDiff(centred, b.data);
      if (!(diff <= 1e-4)) throw new Error(`differs by ${diff}`);
      const rawOut = await raw.run(PROMPT_TOKENS);
      const procOut = await model.run(PROMPT_TOKENS);
      const lp = maxAbsDiff(logSoftmax(rawOut.logits!.data, VOCAB), logSoftmax(procOut.logits!.data, VOCAB));
      if (!(lp <= 1e-4)) throw new Error(`processing changed log-probabilities by ${lp}`);
    } finally {
      await raw.dispose();
    }
  },
});

Deno.test({
  name: "HookedTransformer loss: ce_orig and zero-ablated ce on eval_tokens match reference-dev",
  ...opts,
  async fn() {
    const { loss } = await model.run(EVAL_ROWS, { returnType: "loss" });
    const zero = await model.runWithHooks(EVAL_ROWS, {
      returnType: "loss",
      fwdHooks: [[HOOK, (x) => void x.data.fill(0)]],
    });
    if (!(Math.abs(loss! - REFERENCE.ce_orig) <= 1e-4)) throw new Error(`ce_orig ${loss} vs ${REFERENCE.ce_orig}`);
    if (!(Math.abs(zero.loss! - REFERENCE.ce_zero_ablation) <= 1e-4)) {
      throw new Error(`ce_zero_ablation ${zero.loss} vs ${REFERENCE.ce_zero_ablation}`);
    }
  },
});

Deno.test({
  name: "HookedTransformer.runWithHooks() with identity hooks at every hook point leaves logits unchanged",
  ...opts,
  async fn() {
    const names = hookNames(model.cfg);
    const seen: string[] = [];
    const { logits } = await model.runWithHooks(PROMPT_TOKENS, {
      fwdHooks: names.map((n) =>
        [n, (x, hook) => {
          seen.push(hook.name);
          return x;
        }] as const
      ),
    });
    assertEquals(seen, names);
    const base = await model.run(PROMPT_TOKENS);
    const diff = maxAbsDiff(logits!.data, base.logits!.data);
    if (!(diff <= 1e-5)) throw new Error(`identity hooks changed logits by ${diff}`);
  },
});

Deno.test({
  name: "HookedTransformer.runWithHooks() continues the forward from a replaced activation",
  ...opts,
  async fn() {
    // Doubling hook_attn_out of block 1 must equal adding it once more to resid_mid
    const name = "blocks.1.hook_attn_out";
    const { cache } = await model.runWithCache(PROMPT_TOKENS, { names: [name] });
    const attnOut = cache.get(name)!.data;
    const doubled = await model.runWithHooks(PROMPT_TOKENS, {
      fwdHooks: [[name, (x) => ({ shape: x.shape, data: x.data.map((v) => 2 * v) })]],
    });
    const added = await model.runWithHooks(PROMPT_TOKENS, {
      fwdHooks: [["blocks.1.hook_resid_mid", (x) => void x.data.forEach((v, i) => x.data[i] = v + attnOut[i])]],
    });
    const diff = maxAbsDiff(doubled.logits!.data, added.logits!.data);
    if (!(diff <= 1e-4)) throw new Error(`differs by ${diff}`);
    const base = await model.run(PROMPT_TOKENS);
    if (maxAbsDiff(doubled.logits!.data, base.logits!.data) < 1e-3) throw new Error("the hook had no effect");
  },
});

Deno.test({
  name: "HookedTransformer.runWithCache() gives every hook TransformerLens's shape",
  ...opts,
  async fn() {
    const { cache } = await model.runWithCache([PROMPT_TOKENS, PROMPT_TOKENS]);
    const { nHeads, dHead, dModel, dMlp } = model.cfg;
    const P = PROMPT_TOKENS.length;
    assertEquals([...cache.keys()], hookNames(model.cfg));
    for (const [name, t] of cache) {
      const hook = name.split(".").at(-1)!;
      const expected = ["hook_q", "hook_k", "hook_v", "hook_z"].includes(hook)
        ? [2, P, nHeads, dHead]
        : ["hook_attn_scores", "hook_pattern"].includes(hook)
        ? [2, nHeads, P, P]
        : hook === "hook_scale"
        ? [2, P, 1]
        : ["hook_pre", "hook_post"].includes(hook)
        ? [2, P, dMlp]
        : [2, P, dModel];
      assertEquals(t.shape, expected, name);
    }
    // causal mask: scores above the diagonal are -inf, the pattern there 0
    const scores = cache.get("blocks.0.attn.hook_attn_scores")!.data;
    assertEquals(scores[1], -Infinity);
    assertEquals(cache.get("blocks.0.attn.hook_pattern")!.data[1], 0);
  },
});

Deno.test({
  name: "HookedTransformer.runWithCache() with stopAtLayer runs no later block",
  ...opts,
  async fn() {
    let later = false;
    const { cache, residual, logits } = await model.runWithCache(PROMPT_TOKENS, {
      names: [HOOK],
      stopAtLayer: 3,
      fwdHooks: [["blocks.3.ln1.hook_scale", () => void (later = true)]],
    });
    assertEquals(later, false);
    assertEquals(logits, undefined);
    assertEquals([...cache.keys()], [HOOK]);
    const full = await model.runWithCache(PROMPT_TOKENS, { names: ["blocks.3.hook_resid_pre"] });
    assertEquals(maxAbsDiff(residual!.data, full.cache.get("blocks.3.hook_resid_pre")!.data) <= 1e-6, true);
  },
});

Deno.test({
  name: "HookedTransformer.generate() with a KV cache equals generation without one (greedy, 20 tokens)",
  ...opts,
  async fn() {
    const a = await model.generate(PROMPT_TOKENS, { maxNewTokens: 20, doSample: false, stopAtEos: false });
    const b = await model.generate(PROMPT_TOKENS, {
      maxNewTokens: 20,
      doSample: false,
      stopAtEos: false,
      useKvCache: false,
    });
    assertEquals(a.tokens, b.tokens);
    assertEquals(a.tokens[0].length, PROMPT_TOKENS.length + 20);
    // the first new token is the argmax of a plain run
    const { logits } = await model.run(PROMPT_TOKENS);
    const last = logits!.data.subarray((PROMPT_TOKENS.length - 1) * VOCAB);
    assertEquals(a.tokens[0][PROMPT_TOKENS.length], last.indexOf(Math.max(...last)));
  },
});

Deno.test({
  name: "HookedTransformer.generate() keeps hooks active on every step, at prompt and new positions",
  ...opts,
  async fn() {
    const positions: number[][] = [];
    const hooked = await model.generate(PROMPT_TOKENS, {
      maxNewTokens: 5,
      doSample: false,
      stopAtEos: false,
      fwdHooks: [[HOOK, (x, hook) => {
        positions.push([...hook.positions]);
        x.data.fill(0);
      }]],
    });
    const P = PROMPT_TOKENS.length;
    assertEquals(positions, [Array.from({ length: P }, (_, i) => i), [P], [P + 1], [P + 2], [P + 3]]);
    const noCache = await model.generate(PROMPT_TOKENS, {
      maxNewTokens: 5,
      doSample: false,
      stopAtEos: false,
      useKvCache: false,
      fwdHooks: [[HOOK, (x) => void x.data.fill(0)]],
    });
    assertEquals(hooked.tokens, noCache.tokens);
  },
});

Deno.test({
  name: "HookedTransformer.generate() samples reproducibly with a seed and stops at EOS",
  ...opts,
  async fn() {
    const a = await model.generate("The nation", { maxNewTokens: 8, seed: 7, topK: 20, temperature: 0.8 });
    const b = await model.generate("The nation", { maxNewTokens: 8, seed: 7, topK: 20, temperature: 0.8 });
    assertEquals(a.tokens, b.tokens);
    assertEquals(a.text[0].startsWith("<|endoftext|>The nation"), true);
    // a model whose unembedding bias makes EOS certain ends generation after one token, as do batches
    const { config, weights } = await readModelCheckpoint(MODEL_DIR);
    const eos = config.eosTokenIds[0];
    weights.unembed.bias![eos] = 1e4;
    const eager = await HookedTransformer.fromWeights(config, weights, model.tokenizer);
    const out = await eager.generate("The nation", { maxNewTokens: 5, seed: 1 });
    await eager.dispose();
    assertEquals(out.tokens[0].slice(-1), [eos]);
    assertEquals(out.tokens[0].length, model.toTokens("The nation").length + 1);
  },
});

Deno.test({
  name: "HookedTransformer rejects unknown hooks (with close matches), over-long input and bad stopAtLayer",
  ...opts,
  async fn() {
    await assertRejects(
      () => model.runWithHooks(PROMPT_TOKENS, { fwdHooks: [["blocks.2.hook_resid", (x) => x]] }),
      RangeError,
      'Unknown hook name "blocks.2.hook_resid": closest are blocks.2.hook_resid_pre',
    );
    await assertRejects(
      () => model.runWithCache(PROMPT_TOKENS, { names: ["blocks.9.hook_resid_pre"] }),
      RangeError,
      'Unknown hook name "blocks.9.hook_resid_pre" (the model has 4 layers, blocks.0 to blocks.3)',
    );
    await assertRejects(
      () => model.run(Array.from({ length: 129 }, () => 11)),
      RangeError,
      "The input has 129 positions: the model's n_ctx is 128",
    );
    await assertRejects(() => model.runWithCache(PROMPT_TOKENS, { stopAtLayer: 5 }), RangeError, "stopAtLayer");
    await assertRejects(
      () => model.generate(PROMPT_TOKENS, { maxNewTokens: 120 }),
      RangeError,
      "the model's n_ctx is 128",
    );
    await assertRejects(
      () =>
        model.runWithHooks(PROMPT_TOKENS, { fwdHooks: [[HOOK, () => ({ shape: [1], data: new Float32Array(1) })]] }),
      TypeError,
      "hooks may not change shapes",
    );
  },
});

Deno.test({
  name: "HookedTransformer gives the same results on every ONNX Runtime backend",
  ...opts,
  async fn() {
    const base = await model.runWithCache(PROMPT_TOKENS, { names: [HOOK] });
    // runWithReplacements, sae eval's path: its KL sums run in float64 where the backend has float64 kernels
    const zero = (
      x: { shape: readonly number[]; data: Float32Array },
    ) => [{ shape: [...x.shape], data: x.data.map(() => 0) }];
    const rows = EVAL_ROWS.slice(0, 2).map((r) => r.slice(0, 16));
    const baseReplaced = await model.runWithReplacements(rows, HOOK, zero);
    for (const backend of ["node", "web", "webgpu"] as const) {
      const other = await loadFixtureModel(backend);
      try {
        assertEquals(other.backend, backend);
        const out = await other.runWithCache(PROMPT_TOKENS, { names: [HOOK] });
        const diff = maxAbsDiff(logSoftmax(out.logits!.data, VOCAB), logSoftmax(base.logits!.data, VOCAB));
        if (!(diff <= 1e-4)) throw new Error(`${backend} log_softmax differs by ${diff}`);
        const resid = maxAbsDiff(out.cache.get(HOOK)!.data, base.cache.get(HOOK)!.data);
        if (!(resid <= 1e-4)) throw new Error(`${backend} resid differs by ${resid}`);
        const replaced = await other.runWithReplacements(rows, HOOK, zero);
        const loss = maxAbsDiff(replaced.losses[1], baseReplaced.losses[1]);
        // KL relative to its size (zero ablation's is ~12 nats): the backends' logits differ by up to 1e-4
        let kl = 0;
        baseReplaced.kl[0].forEach((want, p) =>
          kl = Math.max(kl, Math.abs(replaced.kl[0][p] - want) / Math.max(1, want))
        );
        if (!(loss <= 1e-4 && kl <= 5e-5)) throw new Error(`${backend} replaced loss/KL differ by ${loss}/${kl}`);
      } finally {
        await other.dispose();
      }
    }
  },
});

Deno.test({
  name:
    "HookedTransformer.runWithReplacements() continues from the hook as runWithHooks replaces it, at any kind of hook",
  ...opts,
  async fn() {
    const rows = EVAL_ROWS.slice(0, 3).map((r) => r.slice(0, 24));
    const T = rows[0].length;
    const { logits: clean } = await model.run(rows);
    for (
      const hook of [
        "blocks.1.attn.hook_z",
        "blocks.2.hook_resid_pre",
        "blocks.3.hook_mlp_out",
        "ln_final.hook_normalized",
      ]
    ) {
      const half = (a: { shape: readonly number[]; data: Float32Array }) => ({
        shape: [...a.shape],
        data: a.data.map((v) => v * 0.5),
      });
      const run = await model.runWithReplacements(rows, hook, (x) => [half(x), { ...x, data: x.data.map(() => 0) }]);
      const { cache } = await model.runWithCache(rows, { names: [hook] });
      assertEquals(Array.from(run.clean.data), Array.from(cache.get(hook)!.data), `${hook}: the clean value`);
      const expect = async (fn: (a: { shape: readonly number[]; data: Float32Array }) => typeof a) => {
        const out = await model.runWithHooks(rows, { fwdHooks: [[hook, fn]], returnType: "both", lossPerToken: true });
        return { loss: out.lossPerToken!.data, logits: out.logits!.data };
      };
      const [plain, halved, zeroed] = await Promise.all([
        expect((a) => a),
        expect(half),
        expect((a) => ({ ...a, data: a.data.map(() => 0) })),
      ]);
      [plain, halved, zeroed].forEach((e, v) => {
        const diff = maxAbsDiff(run.losses[v], e.loss);
        if (!(diff <= 1e-5)) throw new Error(`${hook}: variant ${v}'s loss differs by ${diff}`);
      });
      [halved, zeroed].forEach((e, v) => {
        let worst = 0;
        for (let p = 0; p < rows.length * T; p++) {
          const lo = logSoftmax(clean!.data.subarray(p * VOCAB, (p + 1) * VOCAB), VOCAB);
          const lr = logSoftmax(e.logits.subarray(p * VOCAB, (p + 1) * VOCAB), VOCAB);
          let kl = 0;
          for (let t = 0; t < VOCAB; t++) kl += Math.exp(lo[t]) * (lo[t] - lr[t]);
          worst = Math.max(worst, Math.abs(kl - run.kl[v][p]) / Math.max(1, kl));
        }
        if (!(worst <= 1e-5)) throw new Error(`${hook}: replacement ${v}'s KL differs by ${worst}`);
      });
    }
  },
});
