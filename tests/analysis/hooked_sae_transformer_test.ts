import { encodeTokens } from "../../core/analysis/encode_text.ts";
import { HookedSaeTransformer } from "../../core/analysis/hooked_sae_transformer.ts";
import { SAE_HOOK_POINTS } from "../../core/analysis/sae_hook_points.ts";
import { saeInput, saeSite, writeSaeOutput } from "../../core/sae/sae_on_model.ts";
import type { HostTensor } from "../../core/gpu/tensor.ts";
import type { HookFn } from "../../core/lm/hook_fn.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { FIXTURES, gpu } from "../_gpu.ts";
import { maxAbsDiff } from "../_reference.ts";
import { loadFixtureModel, REFERENCE } from "../lm/_models.ts";
import { makeConfig, makeWeights } from "../sae/_factories.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const HOOK = "blocks.2.hook_resid_pre";
const TOKENS: number[] = REFERENCE.prompt.tokens;
const POS = TOKENS.length;

const base = await loadFixtureModel();
const model = new HookedSaeTransformer(base);
const saes = {
  "sae-standard": await SAE.load(`${FIXTURES}sae-standard`, { gpu }),
  "sae-topk": await SAE.load(`${FIXTURES}sae-topk`, { gpu }),
};
const clean = (await base.run([TOKENS])).logits!.data;

/** The pre-existing path: a runWithHooks hook on the SAE's hook writing what `edit` makes of its input. */
async function manual(sae: SAE, edit: (x: HostTensor) => Promise<Float32Array>) {
  const site = saeSite(base, sae);
  const hook: HookFn = async (act) => writeSaeOutput(site, act, await edit(saeInput(site, act, sae.cfg.d_in)));
  return (await base.runWithHooks([TOKENS], { fwdHooks: [[site.hookName, hook]] })).logits!.data;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  assertEquals(d <= tol, true, `${what}: max abs difference ${d} exceeds ${tol}`);
}

for (const [folder, sae] of Object.entries(saes)) {
  Deno.test(
    `HookedSaeTransformer.runWithSaes() (${folder}) splices as sae.forward and sae.splice do`,
    ORT,
    async () => {
      const plain = (await model.runWithSaes([TOKENS], [sae])).logits!.data;
      close(plain, await manual(sae, (x) => sae.forward(x).read()), 1e-4, "without the error term");
      assertEquals(maxAbsDiff(plain, clean) > 1e-2, true, "the reconstruction error shows without the error term");
      const withError = (await model.runWithSaes([TOKENS], sae, { useErrorTerm: true })).logits!.data;
      close(withError, await manual(sae, (x) => sae.splice(x).read()), 1e-4, "with the error term");
      close(withError, clean, 1e-4, "with the error term and no hooks, the clean model");
      assertEquals(model.actsToSaes.size, 0, "the run attaches nothing");
    },
  );

  Deno.test(
    `HookedSaeTransformer.runWithCacheWithSaes() (${folder}) caches SAELens's six SAE hook points`,
    ORT,
    async () => {
      const { cache } = await model.runWithCacheWithSaes([TOKENS], [sae], { useErrorTerm: true });
      const name = (p: string) => `${HOOK}.${p}`;
      const [dIn, dSae] = [sae.cfg.d_in, sae.cfg.d_sae];
      const shapes = [[1, POS, dIn], [1, POS, dSae], [1, POS, dSae], [1, POS, dIn], [1, POS, dIn], [1, POS, dIn]];
      assertEquals(SAE_HOOK_POINTS.map((p) => cache.get(name(p))?.shape), shapes);
      const get = (p: string) => cache.get(name(p))!.data;
      const enc = await encodeTokens(base, sae, TOKENS);
      close(get("hook_sae_input"), enc.acts.data, 1e-6, "input: the clean activation");
      close(get("hook_sae_acts_post"), enc.features.data, 1e-5, "acts_post: encodeText's features");
      close(get("hook_sae_recons"), enc.recon.data, 1e-4, "recons: encodeText's reconstruction");
      const sum = get("hook_sae_recons").map((v, i) => v + get("hook_sae_error")[i]);
      close(get("hook_sae_input"), sum, 1e-5, "input = recons + error");
      close(get("hook_sae_output"), sum, 0, "output = recons + error");
      close(cache.get(HOOK)!.data, get("hook_sae_output"), 0, "the hook continues with the SAE's output");
      const pre = get("hook_sae_acts_pre");
      if (folder === "sae-standard") close(pre.map((v) => Math.max(v, 0)), get("hook_sae_acts_post"), 0, "ReLU");
      else {
        // TopK keeps the 16 largest pre-activations of each token
        for (let t = 0; t < POS; t++) {
          const row = pre.subarray(t * dSae, (t + 1) * dSae);
          const kth = [...row].sort((a, b) => b - a)[15];
          const kept = get("hook_sae_acts_post").subarray(t * dSae, (t + 1) * dSae);
          assertEquals(kept.every((v, i) => row[i] >= kth ? v === Math.max(row[i], 0) : v === 0), true);
        }
      }
      // without the error term there is no error hook, and the output is the reconstruction
      const plain = (await model.runWithCacheWithSaes([TOKENS], [sae])).cache;
      assertEquals(plain.has(name("hook_sae_error")), false);
      close(plain.get(name("hook_sae_output"))!.data, plain.get(name("hook_sae_recons"))!.data, 0, "output = recons");
    },
  );

  Deno.test(
    `HookedSaeTransformer (${folder}): zeroing a feature in hook_sae_acts_post equals ablating it by hand`,
    ORT,
    async () => {
      const dSae = sae.cfg.d_sae;
      const f = (await encodeTokens(base, sae, TOKENS)).features.data;
      const feature = f.subarray((POS - 1) * dSae).indexOf(Math.max(...f.subarray((POS - 1) * dSae)));
      const zero: HookFn = (acts) => {
        for (let t = 0; t < POS; t++) acts.data[t * dSae + feature] = 0;
      };
      const byHand = (errorTerm: boolean) =>
        manual(sae, async (x) => {
          const edited = await sae.encode(x).read();
          for (let t = 0; t < POS; t++) edited[t * dSae + feature] = 0;
          const e = { shape: [POS, dSae], data: edited };
          return await (errorTerm ? sae.splice(x, e) : sae.decode(e)).read();
        });
      for (const useErrorTerm of [true, false]) {
        const { logits } = await model.runWithHooksWithSaes([TOKENS], [sae], {
          useErrorTerm,
          fwdHooks: [[`${HOOK}.hook_sae_acts_post`, zero]],
        });
        close(logits!.data, await byHand(useErrorTerm), 1e-4, `useErrorTerm ${useErrorTerm}`);
        assertEquals(maxAbsDiff(logits!.data, clean) > 1e-3, true, "the ablation moves the logits");
      }
    },
  );
}

Deno.test(
  "HookedSaeTransformer runs return what returnType asks, as TransformerLens's return_type: loss, both, none",
  ORT,
  async () => {
    const sae = saes["sae-standard"];
    const { logits } = await model.runWithSaes([TOKENS], [sae]); // typed non-optional: "logits" is the default
    const vocab = base.cfg.dVocab;
    let sum = 0; // mean next-token cross-entropy of the spliced logits
    for (let p = 0; p < POS - 1; p++) {
      const row = logits.data.subarray(p * vocab, (p + 1) * vocab);
      const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
      sum += max + Math.log(row.reduce((z, v) => z + Math.exp(v - max), 0)) - row[TOKENS[p + 1]];
    }
    const { loss } = await model.runWithSaes([TOKENS], [sae], { returnType: "loss" });
    assertEquals(Math.abs(loss - sum / (POS - 1)) < 1e-4, true, `${loss} vs ${sum / (POS - 1)}`);
    const both = await model.runWithSaes([TOKENS], [sae], { returnType: "both" });
    assertEquals(both.loss, loss);
    close(both.logits.data, logits.data, 0, "logits of both");
    const none = await model.runWithSaes([TOKENS], [sae], { returnType: "none" });
    assertEquals([none.logits, none.loss], [undefined, undefined]);
    const clean = await model.run([TOKENS], { returnType: "loss" });
    assertEquals(clean.loss < loss, true, "the spliced SAE raises the loss");
    const { residual } = await model.runWithCacheWithSaes([TOKENS], [sae], { stopAtLayer: 3 });
    assertEquals(residual.shape, [1, POS, 128]);
  },
);

Deno.test(
  "HookedSaeTransformer: a hook on hook_sae_acts_pre changes acts_post, recons and the output",
  ORT,
  async () => {
    const sae = saes["sae-standard"];
    const dSae = sae.cfg.d_sae;
    const { cache } = await model.runWithCacheWithSaes([TOKENS], [sae], {
      useErrorTerm: true,
      fwdHooks: [[`${HOOK}.hook_sae_acts_pre`, (pre) => {
        for (let t = 0; t < POS; t++) pre.data[t * dSae + 7] = 5;
      }]],
    });
    const post = cache.get(`${HOOK}.hook_sae_acts_post`)!;
    assertEquals(Array.from({ length: POS }, (_, t) => post.data[t * dSae + 7]), Array(POS).fill(5));
    close(
      cache.get(`${HOOK}.hook_sae_recons`)!.data,
      await sae.decode(post).read(),
      1e-6,
      "recons = decode(acts_post)",
    );
    // the error is still x − clean recons, so the output moves by exactly the edit's decoded effect
    const { cache: unedited } = await model.runWithCacheWithSaes([TOKENS], [sae], { useErrorTerm: true });
    close(cache.get(`${HOOK}.hook_sae_error`)!.data, unedited.get(`${HOOK}.hook_sae_error`)!.data, 1e-6, "error");
    const f = unedited.get(`${HOOK}.hook_sae_acts_post`)!.data;
    const expected = unedited.get(`${HOOK}.hook_sae_output`)!.data.map((v, i) => {
      const t = Math.floor(i / 128);
      return v + (5 - f[t * dSae + 7]) * sae.W_dec.data[7 * 128 + (i % 128)];
    });
    close(cache.get(`${HOOK}.hook_sae_output`)!.data, expected, 1e-4, "output");
  },
);

Deno.test(
  "HookedSaeTransformer.addSae() splices on every run until resetSaes() restores the clean model",
  ORT,
  async () => {
    const sae = saes["sae-topk"];
    model.addSae(sae);
    try {
      assertEquals([...model.actsToSaes.keys()], [HOOK]);
      const attached = (await model.run([TOKENS])).logits!.data;
      close(attached, (await model.runWithSaes([TOKENS], sae)).logits!.data, 0, "attached = runWithSaes");
      // a run with the error term for this run only leaves the attached setting alone
      close((await model.runWithSaes([TOKENS], sae, { useErrorTerm: true })).logits!.data, clean, 1e-4, "error term");
      close((await model.run([TOKENS])).logits!.data, attached, 0, "still without the error term");
      const { cache } = await model.runWithCache([TOKENS], { names: [`${HOOK}.hook_sae_acts_post`] });
      assertEquals([...cache.keys()], [`${HOOK}.hook_sae_acts_post`]);
      assertThrows(() => model.resetSaes("blocks.1.hook_resid_pre"), RangeError, "No SAE is attached at blocks.1");
    } finally {
      model.resetSaes();
    }
    assertEquals(model.actsToSaes.size, 0);
    close((await model.run([TOKENS])).logits!.data, clean, 0, "clean after resetSaes()");
    model.addSae(sae, { useErrorTerm: true });
    close((await model.run([TOKENS])).logits!.data, clean, 1e-4, "attached with the error term");
    model.resetSaes(HOOK);
  },
);

Deno.test(
  "HookedSaeTransformer.generate() splices the attached SAEs and runs SAE hooks at every step",
  ORT,
  async () => {
    const sae = saes["sae-standard"];
    model.addSae(sae, { useErrorTerm: true });
    try {
      const greedy = { maxNewTokens: 4, doSample: false, stopAtEos: false };
      const expected = await base.generate([TOKENS], greedy);
      const positions: number[][] = [];
      const out = await model.generate([TOKENS], {
        ...greedy,
        fwdHooks: [[`${HOOK}.hook_sae_acts_post`, (_, hook) => void positions.push([...hook.positions])]],
      });
      assertEquals(out.tokens, expected.tokens);
      // the KV cache runs the prompt, then one new position per step
      assertEquals(positions.map((p) => p.length), [POS, 1, 1, 1]);
      assertEquals(positions[3], [POS + 2]);
    } finally {
      model.resetSaes();
    }
  },
);

Deno.test("HookedSaeTransformer: a per-head SAE on hook_z reads and writes its head's slice", ORT, async () => {
  const hookName = "blocks.1.attn.hook_z";
  const cfg = makeConfig({ d_in: 32, d_sae: 96, metadata: { hook_name: hookName, hook_head_index: 2 } });
  const sae = await SAE.fromWeights(cfg, makeWeights(cfg, 3), { gpu });
  try {
    const z = (await base.runWithCache([TOKENS], { names: [hookName] })).cache.get(hookName)!;
    assertEquals(z.shape, [1, POS, 4, 32]);
    const { cache, logits } = await model.runWithCacheWithSaes([TOKENS], sae, { useErrorTerm: true });
    const input = cache.get(`${hookName}.hook_sae_input`)!;
    assertEquals(input.shape, [1, POS, 32]);
    const head2 = z.data.filter((_, i) => Math.floor(i / 32) % 4 === 2);
    close(input.data, head2, 0, "input: head 2 of hook_z");
    assertEquals(cache.get(`${hookName}.hook_sae_output`)!.shape, [1, POS, 32]);
    close(logits!.data, clean, 1e-4, "with the error term, the clean model");
    const plain = await model.runWithCacheWithSaes([TOKENS], sae, { names: [hookName, `${hookName}.hook_sae_recons`] });
    const spliced = plain.cache.get(hookName)!.data;
    const recons = plain.cache.get(`${hookName}.hook_sae_recons`)!.data;
    for (let i = 0; i < spliced.length; i++) {
      const row = Math.floor(i / 128), head = Math.floor(i / 32) % 4;
      const expected = head === 2 ? recons[row * 32 + (i % 32)] : z.data[i];
      if (spliced[i] !== expected) throw new Error(`hook_z[${i}] is ${spliced[i]}: expected ${expected}`);
    }
  } finally {
    sae.destroy();
  }
});

Deno.test("HookedSaeTransformer: an SAE over all of hook_z has error and output in hook_z's shape", ORT, async () => {
  const hookName = "blocks.0.attn.hook_z";
  const cfg = makeConfig({ d_in: 128, d_sae: 64, reshape_activations: "hook_z", metadata: { hook_name: hookName } });
  const sae = await SAE.fromWeights(cfg, makeWeights(cfg, 4), { gpu });
  try {
    const { cache, logits } = await model.runWithCacheWithSaes([TOKENS], sae, { useErrorTerm: true });
    assertEquals(cache.get(`${hookName}.hook_sae_input`)!.shape, [1, POS, 128]);
    assertEquals(cache.get(`${hookName}.hook_sae_recons`)!.shape, [1, POS, 128]);
    assertEquals(cache.get(`${hookName}.hook_sae_error`)!.shape, [1, POS, 4, 32]);
    assertEquals(cache.get(`${hookName}.hook_sae_output`)!.shape, [1, POS, 4, 32]);
    close(logits!.data, clean, 1e-4, "with the error term, the clean model");
  } finally {
    sae.destroy();
  }
});

Deno.test("HookedSaeTransformer with stopAtLayer reaches an SAE on the boundary's hook_resid_pre", ORT, async () => {
  const sae = saes["sae-standard"];
  const { cache, residual } = await model.runWithCacheWithSaes([TOKENS], sae, {
    names: [`${HOOK}.hook_sae_output`],
    stopAtLayer: 2,
  });
  close(residual!.data, cache.get(`${HOOK}.hook_sae_output`)!.data, 0, "the residual is the SAE's output");
  await assertRejects(
    () => model.runWithCacheWithSaes([TOKENS], sae, { names: [`${HOOK}.hook_sae_acts_post`], stopAtLayer: 1 }),
    RangeError,
    `Cannot cache ${HOOK}.hook_sae_acts_post as stopAtLayer 1 runs blocks 0..0 only`,
  );
});

Deno.test("HookedSaeTransformer rejects unknown SAE hook points and SAEs that do not fit", ORT, async () => {
  const sae = saes["sae-standard"];
  await assertRejects(
    () => model.runWithCacheWithSaes([TOKENS], sae, { names: [`${HOOK}.hook_sae_act_post`] }),
    RangeError,
    `Unknown SAE hook point "${HOOK}.hook_sae_act_post": closest are ${HOOK}.hook_sae_acts_post`,
  );
  await assertRejects(
    () => model.runWithHooks([TOKENS], { fwdHooks: [[`${HOOK}.hook_sae_input`, () => {}]] }),
    RangeError,
    "no SAE is attached",
  );
  const cfg = makeConfig({ d_in: 64, d_sae: 8, metadata: { hook_name: HOOK } });
  const narrow = await SAE.fromWeights(cfg, makeWeights(cfg), { gpu });
  try {
    assertThrows(() => model.addSae(narrow), TypeError, "The SAE's d_in is 64");
  } finally {
    narrow.destroy();
  }
});
