import { assertEquals, assertRejects } from "../_assert.ts";
import { maxAbsDiff } from "../_reference.ts";
import { loadFixtureModel, PROMPT_TOKENS } from "./_models.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HOOK = "blocks.2.hook_resid_pre";

const model = await loadFixtureModel();
const raw = await loadFixtureModel("auto", { processing: false });

Deno.test({
  name: "HookedTransformer.runWithCache() with stopAtLayer n caches blocks.n.hook_resid_pre, the residual it returns",
  ...opts,
  async fn() {
    const { cache, residual } = await model.runWithCache(PROMPT_TOKENS, { names: [HOOK], stopAtLayer: 2 });
    const full = await model.runWithCache(PROMPT_TOKENS, { names: [HOOK] });
    assertEquals(cache.get(HOOK)!.shape, [1, PROMPT_TOKENS.length, model.cfg.d_model]);
    assertEquals(maxAbsDiff(cache.get(HOOK)!.data, full.cache.get(HOOK)!.data) <= 1e-6, true);
    assertEquals(maxAbsDiff(residual!.data, cache.get(HOOK)!.data), 0);
    // a hook on that residual changes what is returned
    const hooked = await model.runWithCache(PROMPT_TOKENS, {
      names: [HOOK],
      stopAtLayer: 2,
      fwdHooks: [[HOOK, (x) => void x.data.fill(1)]],
    });
    assertEquals(hooked.residual!.data.every((v) => v === 1), true);
    assertEquals(hooked.cache.get(HOOK)!.data.every((v) => v === 1), true);
    // stopAtLayer 0 runs the embedding only
    const embed = await model.runWithCache(PROMPT_TOKENS, { names: ["blocks.0.hook_resid_pre"], stopAtLayer: 0 });
    assertEquals(embed.cache.get("blocks.0.hook_resid_pre")!.data.length, PROMPT_TOKENS.length * model.cfg.d_model);
    // by default every reached hook is cached, and nothing later
    const all = await model.runWithCache(PROMPT_TOKENS, { stopAtLayer: 1 });
    assertEquals(all.cache.has("blocks.1.hook_resid_pre"), true);
    assertEquals(all.cache.has("blocks.0.hook_resid_post"), true);
    assertEquals(all.cache.has("blocks.1.ln1.hook_scale"), false);
  },
});

Deno.test({
  name: "HookedTransformer.runWithCache() refuses at once a hook that stopAtLayer does not reach",
  ...opts,
  async fn() {
    await assertRejects(
      () => model.runWithCache(PROMPT_TOKENS, { names: ["blocks.2.hook_attn_out"], stopAtLayer: 2 }),
      RangeError,
      "Cannot cache blocks.2.hook_attn_out as stopAtLayer 2 runs blocks 0..1 only: raise stopAtLayer",
    );
    await assertRejects(
      () => model.runWithCache(PROMPT_TOKENS, { names: ["ln_final.hook_scale"], stopAtLayer: 4 }),
      RangeError,
      "Cannot cache ln_final.hook_scale as stopAtLayer 4 runs blocks 0..3 only",
    );
  },
});

Deno.test({
  name: "HookedTransformer has TransformerLens's cfg names, equal to the camelCase ones",
  ...opts,
  fn() {
    const c = model.cfg;
    assertEquals(
      [c.d_model, c.n_layers, c.n_heads, c.d_head, c.d_mlp, c.n_ctx, c.d_vocab, c.act_fn],
      [c.dModel, c.nLayers, c.nHeads, c.dHead, c.dMlp, c.nCtx, c.dVocab, c.actFn],
    );
    assertEquals([c.d_model, c.n_layers, c.n_heads, c.d_head, c.d_mlp, c.n_ctx, c.d_vocab], [
      128,
      4,
      4,
      32,
      512,
      128,
      50257,
    ]);
  },
});

Deno.test({
  name: "HookedTransformer's TransformerLens weight names hold the weights as run, in TransformerLens's shapes",
  ...opts,
  fn() {
    const { d_model: d, n_heads: h, d_head: e, d_mlp: m, d_vocab: v, n_ctx: n, n_layers: L } = model.cfg;
    const w = model.weights;
    assertEquals([model.W_E.shape, model.W_E.data === w.embed.data], [[v, d], true]);
    assertEquals([model.W_pos!.shape, model.W_pos!.data === w.posEmbed!.data], [[n, d], true]);
    // W_U [d, v] is the stored [v, d] unembedding transposed, each row centred over the vocabulary (center_unembed)
    assertEquals(model.W_U.shape, [d, v]);
    let mean = 0;
    for (let t = 0; t < v; t++) mean += w.unembed.weight.data[t * d + 5] / v;
    assertEquals(Math.abs(model.W_U.data[5 * v + 77] - (w.unembed.weight.data[77 * d + 5] - mean)) < 1e-7, true);
    assertEquals(model.b_U.shape, [v]);
    for (let l = 0; l < L; l++) {
      const { attn, mlp } = model.blocks[l];
      const b = w.blocks[l];
      for (const [tl, ours] of [[attn.W_Q, b.q], [attn.W_K, b.k], [attn.W_V, b.v]] as const) {
        assertEquals(tl.shape, [h, d, e]);
        // TransformerLens W_Q[head, i, j] is the stored [h·e, d] matrix's entry (head·e + j, i)
        for (const [head, i, j] of [[0, 0, 0], [1, 5, 7], [h - 1, d - 1, e - 1]]) {
          assertEquals(tl.data[(head * d + i) * e + j], ours.weight.data[(head * e + j) * d + i]);
        }
      }
      assertEquals(attn.W_O.shape, [h, e, d]);
      assertEquals(attn.W_O.data[(1 * e + 3) * d + 9], b.o.weight.data[9 * h * e + 1 * e + 3]);
      for (const [tl, ours] of [[attn.b_Q, b.q.bias!], [attn.b_K, b.k.bias!], [attn.b_V, b.v.bias!]] as const) {
        assertEquals([tl.shape, [...tl.data]], [[h, e], [...ours]]);
      }
      assertEquals([attn.b_O.shape, attn.b_O.data === b.o.bias], [[d], true]);
      assertEquals(mlp.W_in.shape, [d, m]);
      assertEquals(mlp.W_in.data[7 * m + 11], b.up.weight.data[11 * d + 7]);
      assertEquals([mlp.b_in.shape, mlp.b_in.data === b.up.bias], [[m], true]);
      assertEquals(mlp.W_out.shape, [m, d]);
      assertEquals(mlp.W_out.data[11 * d + 7], b.down.weight.data[7 * m + 11]);
      assertEquals([mlp.b_out.shape, mlp.b_out.data === b.down.bias], [[d], true]);
      assertEquals(mlp.W_gate, null);
      // fold_ln leaves the layer norms without weights (TransformerLens's LNPre)
      assertEquals([model.blocks[l].ln1, model.blocks[l].ln2], [null, null]);
    }
    assertEquals(model.ln_final, null);
    const stacked = [
      [model.W_Q, [L, h, d, e]],
      [model.W_K, [L, h, d, e]],
      [model.W_V, [L, h, d, e]],
      [model.W_O, [L, h, e, d]],
      [model.b_Q, [L, h, e]],
      [model.b_K, [L, h, e]],
      [model.b_V, [L, h, e]],
      [model.b_O, [L, d]],
      [model.W_in, [L, d, m]],
      [model.b_in, [L, m]],
      [model.W_out, [L, m, d]],
      [model.b_out, [L, d]],
    ] as const;
    for (const [t, shape] of stacked) assertEquals(t.shape, shape);
    const W_Q2 = model.blocks[2].attn.W_Q.data;
    assertEquals(model.W_Q.data.subarray(2 * W_Q2.length, 3 * W_Q2.length), W_Q2);
    assertEquals(model.W_out.data.subarray(3 * d * m, 4 * d * m), model.blocks[3].mlp.W_out.data);
  },
});

Deno.test({
  name: "HookedTransformer loaded without processing exposes its layer norms under TransformerLens's names",
  ...opts,
  fn() {
    const ln1 = raw.blocks[1].ln1!;
    assertEquals([ln1.w.shape, ln1.w.data === raw.weights.blocks[1].ln1!.w], [[128], true]);
    assertEquals(raw.blocks[1].ln2!.b!.data === raw.weights.blocks[1].ln2!.b, true);
    assertEquals(raw.ln_final!.w.data === raw.weights.lnFinal!.w, true);
  },
});
