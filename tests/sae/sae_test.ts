import { join } from "node:path";
import { readSafetensors, toFloat32 } from "../../core/io/safetensors.ts";
import type { GpuTensor } from "../../core/gpu/tensor.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { FIXTURES, gpu, smallBindingGpu } from "../_gpu.ts";
import { assertClose, randomArray } from "../_reference.ts";
import {
  activationRef,
  ARCHITECTURE_CASES,
  decodeRef,
  encodeRef,
  hiddenPreRef,
  makeConfig,
  makeWeights,
} from "./_factories.ts";

const cases = ARCHITECTURE_CASES;

for (const c of cases) {
  for (const rows of [1, 19]) {
    Deno.test(`SAE.encode() and decode() of a ${JSON.stringify(c)} match SAELens's math (${rows} rows)`, async () => {
      const cfg = makeConfig(c);
      const w = makeWeights(cfg, c.d_in);
      const sae = await SAE.fromWeights(cfg, w, { gpu });
      const x = randomArray(rows * cfg.d_in, rows, 2);
      const fRef = encodeRef(cfg, w, x);
      const f = await sae.encode({ shape: [rows, cfg.d_in], data: x }).read();
      assertClose(f, fRef, 1e-4, "features");
      if (c.architecture !== "topk") {
        assertEquals(f.some((v) => v > 0) && f.some((v) => v === 0), true, "some features fire, some do not");
      }
      const recon = await sae.decode({ shape: [rows, cfg.d_sae], data: f }).read();
      assertClose(recon, decodeRef(cfg, w, f), 1e-4, "decode");
      assertClose(
        await sae.forward({ shape: [rows, cfg.d_in], data: x }).read(),
        decodeRef(cfg, w, fRef),
        1e-4,
        "forward",
      );
    });
  }
}

for (const c of cases) {
  Deno.test(`SAE.encodeWithHiddenPre() and activate() of a ${JSON.stringify(c)} match SAELens's math`, async () => {
    const cfg = makeConfig(c);
    const w = makeWeights(cfg, c.d_in);
    const sae = await SAE.fromWeights(cfg, w, { gpu });
    const rows = 5;
    const x = { shape: [rows, cfg.d_in], data: randomArray(rows * cfg.d_in, 3, 2) };
    const { features, hiddenPre } = sae.encodeWithHiddenPre(x);
    const pre = await hiddenPre.read();
    assertClose(pre, hiddenPreRef(cfg, w, x.data), 1e-4, "hidden pre-activation");
    assertClose(await features.read(), encodeRef(cfg, w, x.data), 1e-4, "features");
    // an edited pre-activation: every value moved, some across zero and the thresholds
    const edited = pre.map((v, i) => i % 3 === 0 ? -v : v + 0.25);
    const f = await sae.activate({ shape: [rows, cfg.d_sae], data: edited }, x).read();
    assertClose(f, activationRef(cfg, w, edited, x.data), 1e-6, "activation of the edited pre-activation");
    assertEquals(f.some((v) => v > 0) && f.some((v) => v === 0), true, "some features fire, some do not");
  });
}

Deno.test("SAE.activate() of a Gated SAE needs the input its gate reads", async () => {
  const cfg = makeConfig({ architecture: "gated", d_in: 4, d_sae: 8 });
  const sae = await SAE.fromWeights(cfg, makeWeights(cfg), { gpu });
  assertThrows(
    () => sae.activate({ shape: [1, 8], data: new Float32Array(8) }),
    TypeError,
    "Cannot activate a gated SAE's pre-activation without its input x",
  );
});

Deno.test("SAE.forward() gives the same reconstruction with the sparse and the dense TopK decoder", async () => {
  const cfg = makeConfig({ architecture: "topk", d_in: 96, d_sae: 4096, k: 32 });
  const w = makeWeights(cfg);
  const x = { shape: [21, 96], data: randomArray(21 * 96, 4, 2) };
  const sparse = await (await SAE.fromWeights(cfg, w, { gpu, sparseDecode: true })).forward(x).read();
  const dense = await (await SAE.fromWeights(cfg, w, { gpu, sparseDecode: false })).forward(x).read();
  assertClose(sparse, dense, 1e-5, "sparse vs dense decode");
});

Deno.test("SAE splits a wide encoder, the decoder and the token rows across bindings", async () => {
  const small = await smallBindingGpu(256 * 1024); // exactly one row of 65536 features
  const cfg = makeConfig({ architecture: "topk", d_in: 40, d_sae: 65536, k: 16 });
  const w = makeWeights(cfg);
  const x = { shape: [3, 40], data: randomArray(120, 8, 2) };
  const sae = await SAE.fromWeights(cfg, w, { gpu: small });
  const { features, recon } = sae.encodeDecode(x);
  assertEquals((features as GpuTensor).chunks.length, 3, "one token row per binding");
  const f = await features.read();
  assertClose(f, encodeRef(cfg, w, x.data), 1e-4, "features");
  assertClose(await recon.read(), decodeRef(cfg, w, f), 1e-4, "recon");
});

Deno.test("SAE.encodeWithHiddenPre() and activate() bind each encoder column block's vectors", async () => {
  const small = await smallBindingGpu(32 * 1024); // one row of 8192 features; W_enc in column blocks
  const cfg = makeConfig({ architecture: "jumprelu", d_in: 40, d_sae: 8192 });
  const w = makeWeights(cfg);
  const x = { shape: [3, 40], data: randomArray(120, 9, 2) };
  const sae = await SAE.fromWeights(cfg, w, { gpu: small });
  const { features, hiddenPre } = sae.encodeWithHiddenPre(x);
  assertEquals((hiddenPre as GpuTensor).chunks.length, 3, "one token row per binding");
  const pre = await hiddenPre.read();
  assertClose(pre, hiddenPreRef(cfg, w, x.data), 1e-4, "hidden pre-activation");
  assertClose(await sae.activate(hiddenPre).read(), await features.read(), 0, "activate(hiddenPre) = features");
});

Deno.test("SAE keeps f16-stored weights as f16 and matches the f32 math on them", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = makeConfig({ architecture: "standard", d_in: 48, d_sae: 200 });
  const w = makeWeights(cfg);
  const { writeSafetensors } = await import("../../core/io/safetensors.ts");
  await writeSafetensors(
    join(dir, "sae_weights.safetensors"),
    Object.fromEntries(Object.entries(w).map(([k, t]) => [k, { shape: t.shape, data: new Float16Array(t.data) }])),
  );
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ ...cfg, dtype: "float16" }));
  const sae = await SAE.load(dir, { gpu });
  assertEquals(sae.f16, gpu.hasF16);
  const rounded = Object.fromEntries(
    Object.entries(w).map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(new Float16Array(t.data)) }]),
  );
  const x = randomArray(5 * 48, 3, 1);
  assertClose(await sae.encode({ shape: [5, 48], data: x }).read(), encodeRef(cfg, rounded, x), 1e-4, "f16 features");
});

Deno.test("SAE.save() writes a SAELens v6 folder that loads back identically", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-topk"), { gpu });
  const dir = await Deno.makeTempDir();
  await sae.save(dir);
  const again = await SAE.load(dir, { gpu });
  assertEquals(again.cfg, { ...sae.cfg, metadata: { ...sae.cfg.metadata, sae_lens_version: "6.0.0" } });
  assertEquals(again.W_dec.data, sae.W_dec.data);
  assertEquals(again.sparsity?.data, sae.sparsity?.data);
  assertEquals(
    JSON.parse(await Deno.readTextFile(join(dir, "cfg.json"))).metadata.hook_name,
    "blocks.2.hook_resid_pre",
  );
});

Deno.test("SAE.splice() with unedited features returns the input; an edit moves it by its own effect", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-standard"), { gpu });
  const x = { shape: [4, 128], data: randomArray(512, 11, 3) };
  assertClose(await sae.splice(x).read(), x.data, 1e-4, "identity splice");
  const f = await sae.encode(x).read();
  const feature = f.findIndex((v) => v > 0) % 1024;
  const edited = f.slice();
  for (let r = 0; r < 4; r++) edited[r * 1024 + feature] = 0;
  const out = await sae.splice(x, { shape: [4, 1024], data: edited }).read();
  const expected = x.data.map((v, i) =>
    v - f[Math.floor(i / 128) * 1024 + feature] * sae.W_dec.data[feature * 128 + (i % 128)]
  );
  assertClose(out, expected, 1e-4, "ablated feature");
});

Deno.test("SAE with layer_norm input normalization undoes it on the reconstruction", async () => {
  const cfg = makeConfig({ architecture: "standard", d_in: 16, d_sae: 64, normalize_activations: "layer_norm" });
  const w = makeWeights(cfg);
  const sae = await SAE.fromWeights(cfg, w, { gpu });
  const x = randomArray(3 * 16, 1, 5).map((v, i) => v + (i % 3));
  const rows: number[][] = [0, 1, 2].map((r) => Array.from(x.slice(r * 16, r * 16 + 16)));
  const stats = rows.map((row) => {
    const mu = row.reduce((a, b) => a + b, 0) / 16;
    return { mu, std: Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / 15) };
  });
  const xn = Float32Array.from(
    x,
    (v, i) => (v - stats[Math.floor(i / 16)].mu) / (stats[Math.floor(i / 16)].std + 1e-5),
  );
  const recon = decodeRef(cfg, w, encodeRef(cfg, w, xn)).map((v, i) =>
    v * stats[Math.floor(i / 16)].std + stats[Math.floor(i / 16)].mu
  );
  assertClose(await sae.forward({ shape: [3, 16], data: x }).read(), recon, 1e-4, "layer_norm forward");
});

Deno.test("SAE.encode() rejects an input of the wrong width", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-standard"), { gpu });
  assertThrows(
    () => sae.encode({ shape: [2, 127], data: new Float32Array(254) }),
    TypeError,
    "last dimension must be 128: current value is 127",
  );
});

for (const [name, key] of [["sae-standard", "standard"], ["sae-topk", "topk"], ["sae-standard-legacy", "standard"]]) {
  Deno.test(`SAE.encodeDecode() of ${name} reproduces the PyTorch reference within 1e-4`, async () => {
    const ref = await readSafetensors(join(FIXTURES, "reference-dev.safetensors"));
    const t = (n: string) => toFloat32(ref.tensors.get(n)!, n);
    const sae = await SAE.load(join(FIXTURES, name), { gpu });
    const { features, recon } = sae.encodeDecode({ shape: ref.tensors.get("resid_pre")!.shape, data: t("resid_pre") });
    assertEquals(features.shape, [1, 15, 1024]);
    assertClose(await features.read(), t(`features_${key}`), 1e-4, "features");
    assertClose(await recon.read(), t(`recons_${key}`), 1e-4, "recons");
  });
}
