// The cpu device (onnxruntime-node) against the webgpu one (WGSL on lavapipe) on the same inputs.
import { join } from "node:path";
import { CpuTensor } from "../../core/cpu/cpu_tensor.ts";
import { writeSafetensors } from "../../core/io/safetensors.ts";
import { NORMALIZE_MODES } from "../../core/ops/normalize.ts";
import { SAE } from "../../core/sae/sae.ts";
import { topFeatures } from "../../core/sae/top_features.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { FIXTURES, gpu } from "../_gpu.ts";
import { randomArray } from "../_reference.ts";
import { ARCHITECTURE_CASES, assertRelativelyClose, encodeRef, makeConfig, makeWeights } from "./_factories.ts";

const REL = 1e-5;

for (const c of ARCHITECTURE_CASES) {
  // layer_norm of a single value divides by its undefined (n − 1 = 0) standard deviation, as torch's std does
  for (const mode of NORMALIZE_MODES.filter((m) => c.d_in > 1 || m !== "layer_norm")) {
    Deno.test(`SAE on cpu matches webgpu for ${JSON.stringify(c)}, normalize ${mode}`, async () => {
      const cfg = makeConfig({ ...c, normalize_activations: mode, norm_scaling_factor: 0.7 });
      const w = makeWeights(cfg, c.d_in);
      const onGpu = await SAE.fromWeights(cfg, w, { gpu });
      const onCpu = await SAE.fromWeights(cfg, w, { device: "cpu" });
      assertEquals([onGpu.device, onCpu.device], ["webgpu", "cpu"]);
      const rows = 531; // the cpu runs its graphs in blocks of 256 rows: two whole blocks and a part
      const x = { shape: [rows, cfg.d_in], data: randomArray(rows * cfg.d_in, 5, 2).map((v, i) => v + (i % 3)) };
      const both = async (what: string, run: (sae: SAE) => { read(): Promise<Float32Array> }) => {
        const [a, b] = [await run(onCpu).read(), await run(onGpu).read()];
        assertRelativelyClose(a, b, REL, what);
        return b;
      };
      const f = await both("encode", (s) => s.encode(x));
      await both("decode(encode(x))", (s) => s.decode(s.encode(x)));
      await both("forward", (s) => s.forward(x));
      await both("encodeDecode features", (s) => s.encodeDecode(x).features);
      await both("encodeDecode recon", (s) => s.encodeDecode(x).recon);
      const pre = await both("hidden pre-activation", (s) => s.encodeWithHiddenPre(x).hiddenPre);
      await both("encodeWithHiddenPre features", (s) => s.encodeWithHiddenPre(x).features);
      const edited = { shape: [rows, cfg.d_sae], data: pre.map((v, i) => i % 3 === 0 ? -v : v + 0.25) };
      await both("activate", (s) => s.activate(edited, x));
      await both("splice", (s) => s.splice(x));
      const ablated = { shape: [rows, cfg.d_sae], data: f.map((v, i) => i % cfg.d_sae === 0 ? 0 : v * 1.5) };
      await both("splice with edited features", (s) => s.splice(x, ablated));
      const [topCpu, topGpu] = [await topFeatures(onCpu.encode(x), 3), await topFeatures(onGpu.encode(x), 3)];
      assertEquals(topCpu.map((r) => r.map((t) => t.index)), topGpu.map((r) => r.map((t) => t.index)));
      assertRelativelyClose(
        topCpu.flat().map((t) => t.activation),
        topGpu.flat().map((t) => t.activation),
        REL,
        "top features",
      );
      onGpu.destroy();
      onCpu.destroy();
    });
  }
}

Deno.test("SAE on cpu reads hook_z activations [..., n_heads, d_head] as [..., d_in]", async () => {
  const cfg = makeConfig({ architecture: "standard", d_in: 12, d_sae: 40, reshape_activations: "hook_z" });
  const w = makeWeights(cfg);
  const sae = await SAE.fromWeights(cfg, w, { device: "cpu" });
  const data = randomArray(2 * 5 * 12, 2, 1);
  const features = sae.encode({ shape: [2, 5, 3, 4], data });
  assertEquals(features.shape, [2, 5, 40]);
  assertRelativelyClose(await features.read(), encodeRef(cfg, w, data), REL, "hook_z features");
  assertEquals(sae.forward({ shape: [2, 5, 3, 4], data }).shape, [2, 5, 12]);
});

Deno.test("SAE on cpu computes f16-stored weights in f32 as webgpu does", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = makeConfig({ architecture: "jumprelu", d_in: 48, d_sae: 200 });
  const w = makeWeights(cfg);
  await writeSafetensors(
    join(dir, "sae_weights.safetensors"),
    Object.fromEntries(Object.entries(w).map(([k, t]) => [k, { shape: t.shape, data: new Float16Array(t.data) }])),
  );
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ ...cfg, dtype: "float16" }));
  const sae = await SAE.load(dir, { device: "cpu" });
  assertEquals(sae.f16, false);
  const rounded = Object.fromEntries(
    Object.entries(w).map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(new Float16Array(t.data)) }]),
  );
  const x = randomArray(5 * 48, 3, 1);
  assertRelativelyClose(await sae.encode({ shape: [5, 48], data: x }).read(), encodeRef(cfg, rounded, x), REL, "f16");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SAE on cpu chains a result into the next op and accepts a webgpu tensor", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-topk"), { device: "cpu" });
  const onGpu = await SAE.load(join(FIXTURES, "sae-topk"), { gpu });
  const x = { shape: [3, 128], data: randomArray(3 * 128, 4, 2) };
  const features = sae.encode(x);
  assertEquals(features instanceof CpuTensor, true);
  const recon = await sae.decode(features).read();
  assertRelativelyClose(await sae.decode(onGpu.encode(x)).read(), recon, REL, "decode of a webgpu tensor");
  assertThrows(() => onGpu.decode(features), TypeError, "Cannot run a webgpu SAE on a tensor of another device");
  assertThrows(() => sae.gpu, TypeError, "runs on the cpu");
  assertEquals(sae.deviceDescription.startsWith("cpu (onnxruntime-node, "), true);
  onGpu.destroy();
});

Deno.test("SAE on cpu rejects inputs of the wrong width, and decode without a matching encode", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-standard"), { device: "cpu" });
  assertThrows(
    () => sae.encode({ shape: [2, 127], data: new Float32Array(254) }),
    TypeError,
    "last dimension must be 128: current value is 127",
  );
  const cfg = makeConfig({ architecture: "standard", d_in: 8, d_sae: 16, normalize_activations: "layer_norm" });
  const ln = await SAE.fromWeights(cfg, makeWeights(cfg), { device: "cpu" });
  assertThrows(
    () => ln.decode({ shape: [2, 16], data: new Float32Array(32) }),
    TypeError,
    "needs the statistics of an encode of the same 2 rows",
  );
});

Deno.test("SAE on cpu: destroy() right after an op lets the run finish", async () => {
  const sae = await SAE.load(join(FIXTURES, "sae-standard"), { device: "cpu" });
  const x = { shape: [2, 128], data: randomArray(256, 6, 1) };
  const expected = await sae.encode(x).read();
  const features = sae.encode(x);
  sae.destroy();
  assertEquals(await features.read(), expected);
});
