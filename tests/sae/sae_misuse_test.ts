// The library's entry points refuse what SAE.load refuses, and a destroyed SAE or tensor cannot be used.
import { assertRejects, assertThrows } from "../_assert.ts";
import { SAE } from "../../core/sae/sae.ts";
import { parseSaeLensConfig } from "../../core/sae/config.ts";
import { makeConfig, makeWeights } from "./_factories.ts";

Deno.test("SAE.fromWeights() refuses NaN or infinite weights and thresholds, and tensors the architecture lacks", async () => {
  const cfg = makeConfig({ architecture: "jumprelu", d_in: 4, d_sae: 8 });
  for (const [name, value] of [["W_enc", NaN], ["b_dec", Infinity], ["threshold", NaN]] as const) {
    const w = makeWeights(cfg);
    w[name].data[1] = value;
    await assertRejects(
      () => SAE.fromWeights(cfg, w),
      RangeError,
      `weights: tensor "${name}" holds 1 non-finite values`,
    );
  }
  const extra = { ...makeWeights(cfg), scalling_factor: { shape: [8], data: new Float32Array(8) } };
  await assertRejects(
    () => SAE.fromWeights(cfg, extra),
    TypeError,
    'tensor "scalling_factor" is not part of a jumprelu SAE',
  );
});

Deno.test("SAE.splice() refuses features with another number of rows than the activations", async () => {
  const cfg = makeConfig({ architecture: "standard", d_in: 4, d_sae: 8 });
  const sae = await SAE.fromWeights(cfg, makeWeights(cfg));
  try {
    assertThrows(
      () => sae.splice({ shape: [2, 4], data: new Float32Array(8) }, { shape: [3, 8], data: new Float32Array(24) }),
      TypeError,
      "Cannot splice features [3, 8] into activations [2, 4]",
    );
  } finally {
    sae.destroy();
  }
});

Deno.test("A destroyed SAE cannot encode, decode or save, and a destroyed tensor cannot be read", async () => {
  const cfg = makeConfig({ architecture: "standard", d_in: 4, d_sae: 8 });
  const sae = await SAE.fromWeights(cfg, makeWeights(cfg));
  const x = { shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) };
  const features = sae.encode(x);
  features.destroy();
  await assertRejects(() => features.read(), TypeError, "Cannot read this tensor as it was destroyed");
  sae.destroy();
  assertThrows(() => sae.encode(x), TypeError, "Cannot encode with this SAE as it was destroyed");
  assertThrows(
    () => sae.decode({ shape: [1, 8], data: new Float32Array(8) }),
    TypeError,
    "Cannot decode with this SAE",
  );
  await assertRejects(
    () => sae.save(Deno.makeTempDirSync()),
    TypeError,
    "Cannot save with this SAE as it was destroyed",
  );
});

Deno.test("parseSaeLensConfig() refuses an architecture that is no registered one, and k above d_sae", () => {
  for (const architecture of ["constructor", "__proto__", "toString"]) {
    assertThrows(
      () => parseSaeLensConfig({ architecture, d_in: 4, d_sae: 8, metadata: {} }, "cfg.json"),
      RangeError,
      `cfg.json: field architecture is "${architecture}": expected one of standard, topk`,
    );
  }
  assertThrows(
    () => parseSaeLensConfig({ architecture: "topk", k: 5000, d_in: 4, d_sae: 1024, metadata: {} }, "cfg.json"),
    RangeError,
    "cfg.json: field k is 5000: expected at most d_sae (1024)",
  );
});
