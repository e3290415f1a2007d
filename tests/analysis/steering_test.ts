import { appliedStrength, steer, steeringHook, steeringScale } from "../../core/analysis/steering.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { loadFixtureModel } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const SITE = { hookName: "blocks.2.hook_resid_pre", prependBos: true };

Deno.test("steeringHook adds strength × direction at all, prompt or last positions, KV-cache steps included", () => {
  const direction = new Float32Array([1, 2]);
  const run = (positions: "all" | "prompt" | "last", at: number[]) => {
    const act = { shape: [1, at.length, 2], data: new Float32Array(at.length * 2) };
    steeringHook(SITE, direction, 3, positions, 3)(act, { name: SITE.hookName, positions: at });
    return [...act.data];
  };
  assertEquals(run("all", [0, 1, 2]), [3, 6, 3, 6, 3, 6]);
  assertEquals(run("prompt", [0, 1, 2]), [3, 6, 3, 6, 3, 6]);
  assertEquals(run("last", [0, 1, 2]), [0, 0, 0, 0, 3, 6]);
  assertEquals(run("all", [3]), [3, 6]); // a generated position, through the KV cache
  assertEquals(run("prompt", [3]), [0, 0]);
  assertEquals(run("last", [4]), [0, 0]);
  // a per-head SAE writes its head's slice only
  const act = { shape: [1, 1, 2, 2], data: new Float32Array(4) };
  steeringHook({ ...SITE, head: 1 }, direction, 1, "all", 1)(act, { name: "blocks.0.attn.hook_z", positions: [0] });
  assertEquals([...act.data], [0, 0, 1, 2]);
});

Deno.test(
  "steer: strength 0 reproduces the baseline; a strength changes greedy text as a hand-written hook does",
  ORT,
  async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const options = { maxNewTokens: 8, doSample: false };
      const zero = await steer(model, sae, "The nation", { ...options, feature: 340, strength: 0 });
      assertEquals(zero.steered, zero.baseline);
      const steered = await steer(model, sae, "The nation", { ...options, feature: 340, strength: 20, samples: 2 });
      assertEquals(steered.baseline.length, 2);
      assertEquals(steered.steered[0] !== steered.baseline[0], true);
      const d = sae.cfg.d_in;
      const row = sae.W_dec.data.subarray(340 * d, 341 * d);
      const tokens = model.toTokens("The nation");
      const byHand = await model.generate([tokens], {
        ...options,
        fwdHooks: [[SITE.hookName, (act) => {
          for (let i = 0; i < act.data.length; i++) act.data[i] += 20 * row[i % d];
        }]],
      });
      assertEquals(steered.steered[0], model.toString(byHand.tokens[0].slice(tokens.length)));
      await assertRejects(
        () => steer(model, sae, "x", { feature: 1024, strength: 1 }),
        RangeError,
        "outside the SAE's 1024",
      );
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);

Deno.test("steer: the same seed gives the same samples; sample i uses seed + i", ORT, async () => {
  const model = await loadFixtureModel();
  const sae = await SAE.load(`${FIXTURES}sae-standard`);
  try {
    const options = { maxNewTokens: 6, feature: 18, strength: 5, samples: 2, seed: 7 };
    const a = await steer(model, sae, "We shall", options);
    const b = await steer(model, sae, "We shall", options);
    assertEquals(a, b);
    assertEquals(a.seeds, [7, 8]);
  } finally {
    sae.destroy();
    await model.dispose();
  }
});

Deno.test(
  "steeringScale: ‖W_dec[f]‖, mean residual norm and the feature's activations after BOS, by hand",
  ORT,
  async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const feature = 847, d = sae.cfg.d_in, n = sae.cfg.d_sae;
      const scale = await steeringScale(model, sae, "The nation", feature);
      const row = sae.W_dec.data.subarray(feature * d, (feature + 1) * d);
      assertEquals(Math.abs(scale.directionNorm - Math.hypot(...row)) < 1e-5, true);
      const tokens = model.toTokens("The nation");
      const { cache } = await model.runWithCache([tokens], { names: [SITE.hookName], stopAtLayer: 3 });
      const x = cache.get(SITE.hookName)!.data;
      const f = await sae.encode({ shape: [tokens.length, d], data: x }).read();
      const after = [1, 2]; // BOS left out: its residual is an outlier
      const norms = after.map((p) => Math.hypot(...x.subarray(p * d, (p + 1) * d)));
      const acts = after.map((p) => f[p * n + feature]);
      assertEquals(
        Math.abs(scale.residNorm - (norms[0] + norms[1]) / 2) < 1e-4,
        true,
        `${scale.residNorm} vs ${norms}`,
      );
      assertEquals(Math.abs(scale.maxAct - Math.max(...acts)) < 1e-5, true);
      assertEquals(Math.abs(scale.meanAct - (acts[0] + acts[1]) / 2) < 1e-5, true);
      // a strength relative to the residual norm adds the absolute multiple it stands for
      const options = { maxNewTokens: 6, doSample: false, feature };
      const relative = await steer(model, sae, "The nation", {
        ...options,
        strength: 0.8,
        strengthRelativeTo: "resid-norm",
      });
      assertEquals(Math.abs(relative.appliedStrength - 0.8 * scale.residNorm / scale.directionNorm) < 1e-9, true);
      const absolute = await steer(model, sae, "The nation", { ...options, strength: relative.appliedStrength });
      assertEquals(relative.steered, absolute.steered);
      assertEquals(relative.scale, scale);
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);

Deno.test("appliedStrength: max-act and resid-norm units, and a clear error when the scale is 0", () => {
  const scale = { directionNorm: 2, residNorm: 10, meanAct: 1, maxAct: 4 };
  assertEquals(appliedStrength(3, "absolute", scale), 3);
  assertEquals(appliedStrength(3, "max-act", scale), 12);
  assertEquals(appliedStrength(0.5, "resid-norm", scale), 2.5);
  assertThrows(
    () => appliedStrength(1, "max-act", { ...scale, maxAct: 0 }),
    RangeError,
    "Cannot steer relative to max-act as the feature does not fire on the prompt",
  );
});
