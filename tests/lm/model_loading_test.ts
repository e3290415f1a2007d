// Loading models as users have the files: bfloat16 and float16 weights kept in 16 bits or widened, sharded
// checkpoints, TransformerLens's weight processing per family seen through its weight names.
import { assertEquals, assertRejects } from "../_assert.ts";
import { maxAbsDiff } from "../_reference.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { NO_PROCESSING } from "../../core/lm/process_weights.ts";
import type { HostTensor } from "../../core/gpu/tensor.ts";
import { FAMILY_FIXTURES, familyFixtureDirs, familyModelDir, rewriteModel } from "./_family_models.ts";
import { encodeSafetensors, readSafetensors, type TensorToWrite, toFloat32 } from "../../core/io/safetensors.ts";
import { MODEL_DIR } from "./_models.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TEXT = "The quick brown fox jumps over the lazy dog, then naps under an old oak tree by the river.";

Deno.test({
  name: "HookedTransformer keeps a sharded bfloat16 checkpoint in 16 bits and runs it as its float32 widening",
  ...opts,
  async fn() {
    const dir = await rewriteModel(familyModelDir("llama"), { dtype: "BF16", shards: 3 });
    try {
      const half = await HookedTransformer.load(dir, { dtype: "stored", processing: NO_PROCESSING });
      const full = await HookedTransformer.load(dir, { dtype: "float32", processing: NO_PROCESSING });
      assertEquals([half.weights.embed.dtype, half.weights.blocks[1].gate!.weight.dtype], ["bfloat16", "bfloat16"]);
      assertEquals([full.weights.embed.dtype, full.weights.unembed.weight.dtype], ["float32", "float32"]);
      const names = ["blocks.1.hook_resid_post", "blocks.2.attn.hook_rot_k"];
      const a = await half.runWithCache(TEXT, { names }), b = await full.runWithCache(TEXT, { names });
      // the same float32 values reach the same graph: equal to the bit
      assertEquals(maxAbsDiff(a.logits!.data, b.logits!.data), 0);
      for (const n of names) assertEquals(maxAbsDiff(a.cache.get(n)!.data, b.cache.get(n)!.data), 0);
      // ... and the 16-bit weights stay what the float32 checkpoint rounds to
      const f32 = await HookedTransformer.load(familyModelDir("llama"), { processing: NO_PROCESSING });
      const exact = await f32.run(TEXT);
      const diff = maxAbsDiff(exact.logits!.data, a.logits!.data);
      assertEquals(diff > 0 && diff < 0.5, true, `bfloat16 rounding moved the logits by ${diff}`);
      const gen = { maxNewTokens: 4, doSample: false, stopAtEos: false } as const;
      assertEquals((await half.generate(TEXT, gen)).tokens, (await full.generate(TEXT, gen)).tokens);
      await Promise.all([half.dispose(), full.dispose(), f32.dispose()]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "HookedTransformer reads a float16 checkpoint, kept in 16 bits or as float32",
  ...opts,
  async fn() {
    const dir = await rewriteModel(familyModelDir("gemma2"), { dtype: "F16", shards: 1 });
    try {
      const half = await HookedTransformer.load(dir, { dtype: "stored", processing: NO_PROCESSING });
      const full = await HookedTransformer.load(dir, { dtype: "float32", processing: NO_PROCESSING });
      assertEquals(half.weights.blocks[0].q.weight.dtype, "float16");
      assertEquals(maxAbsDiff((await half.run(TEXT)).logits!.data, (await full.run(TEXT)).logits!.data), 0);
      await Promise.all([half.dispose(), full.dispose()]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "HookedTransformer refuses a shard index that names files outside the folder",
  ...opts,
  async fn() {
    const dir = await rewriteModel(familyModelDir("pythia"), { dtype: "F32", shards: 2 });
    try {
      const index = JSON.parse(await Deno.readTextFile(`${dir}/model.safetensors.index.json`));
      index.weight_map["embed_out.weight"] = "../model.safetensors";
      await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
      await assertRejects(
        () => HookedTransformer.load(dir),
        SyntaxError,
        `maps embed_out.weight to "../model.safetensors": expected a .safetensors file name in the same folder`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** x [rows, d] · W [heads, d, dh] + b [heads, dh] → [rows, heads, dh]. */
function project(x: HostTensor, w: HostTensor, b: HostTensor): Float32Array {
  const [heads, d, dh] = w.shape;
  const rows = x.data.length / d;
  const out = new Float32Array(rows * heads * dh);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      for (let k = 0; k < dh; k++) {
        let s = b.data[h * dh + k];
        for (let i = 0; i < d; i++) s += x.data[r * d + i] * w.data[(h * d + i) * dh + k];
        out[(r * heads + h) * dh + k] = s;
      }
    }
  }
  return out;
}

for (const family of FAMILY_FIXTURES) {
  Deno.test({
    name:
      `HookedTransformer (${family}): TransformerLens's processing keeps log-probs, and W_Q, _W_K, W_in as it shows them`,
    ...opts,
    async fn() {
      const { modelDir } = await familyFixtureDirs(family);
      const raw = await HookedTransformer.load(modelDir, { processing: NO_PROCESSING });
      const processed = await HookedTransformer.load(modelDir);
      try {
        const logSoftmaxDiff = async () => {
          const [a, b] = [(await raw.run(TEXT)).logits!, (await processed.run(TEXT)).logits!];
          const V = raw.cfg.dVocab;
          let worst = 0;
          for (let t = 0; t < a.data.length / V; t++) {
            const lse = (row: Float32Array) => {
              let m = -Infinity, s = 0;
              for (const v of row) m = Math.max(m, v);
              for (const v of row) s += Math.exp(v - m);
              return m + Math.log(s);
            };
            const ra = a.data.subarray(t * V, (t + 1) * V), rb = b.data.subarray(t * V, (t + 1) * V);
            const la = lse(ra), lb = lse(rb);
            for (let v = 0; v < V; v += 97) worst = Math.max(worst, Math.abs(ra[v] - la - (rb[v] - lb)));
          }
          return worst;
        };
        assertEquals((await logSoftmaxDiff()) < 1e-4, true);
        const cfg = processed.cfg;
        // TransformerLens 2.x: LayerNorm models become LNPre; RMSNorm ones RMSPre; soft-capped logits stay uncentred
        assertEquals(cfg.normalization_type, cfg.normalization === "LN" ? "LNPre" : "RMSPre");
        assertEquals(processed.processing.centredUnembed, cfg.finalSoftcap === 0);
        assertEquals(processed.blocks[0].ln1, null);
        // the weights under TransformerLens's names act on ln1.hook_normalized as the model does (RMSNorm's is taken
        // before its weight, which an unfolded model then applies)
        const normed = (model: HookedTransformer, x: HostTensor, w: Float32Array | undefined): HostTensor =>
          model.cfg.normalization === "RMS" && w
            ? { shape: x.shape, data: x.data.map((v, i) => v * w[i % w.length]) }
            : x;
        for (const model of [raw, processed]) {
          const names = ["blocks.1.ln1.hook_normalized", "blocks.1.attn.hook_q", "blocks.1.attn.hook_k"];
          names.push("blocks.1.ln2.hook_normalized", "blocks.1.mlp.hook_pre");
          const { cache } = await model.runWithCache(TEXT, { names, stopAtLayer: 2 });
          const { attn, mlp, ln1, ln2 } = model.blocks[1];
          const x = normed(model, cache.get(names[0])!, ln1?.w.data);
          const q = project(x, attn.W_Q, attn.b_Q);
          const k = project(x, attn._W_K, attn._b_K);
          assertEquals(maxAbsDiff(q, cache.get(names[1])!.data) < 1e-4, true, `${family} W_Q`);
          assertEquals(maxAbsDiff(k, cache.get(names[2])!.data) < 1e-4, true, `${family} _W_K`);
          // the gate of a gated MLP is hook_pre, W_in otherwise
          const W = mlp.W_gate ?? mlp.W_in;
          const x2 = normed(model, cache.get(names[3])!, ln2?.w.data);
          const bias = mlp.W_gate ? { shape: [W.shape[1]], data: new Float32Array(W.shape[1]) } : mlp.b_in;
          const pre = project(x2, { shape: [1, ...W.shape], data: W.data }, bias);
          assertEquals(
            maxAbsDiff(pre, cache.get(names[4])!.data) < 1e-4,
            true,
            `${family} ${mlp.W_gate ? "W_gate" : "W_in"}`,
          );
        }
      } finally {
        await Promise.all([raw.dispose(), processed.dispose()]);
      }
    },
  });
}

/** A copy of a shared fixture model with one tensor's first `count` values replaced. */
async function withValue(family: "llama" | "pythia", tensor: string, value: number, count = 1): Promise<string> {
  const dir = await rewriteModel(familyModelDir(family), { dtype: "F32", shards: 1 });
  const { tensors } = await readSafetensors(`${dir}/model.safetensors`);
  const out: Record<string, TensorToWrite> = {};
  for (const [name, entry] of tensors) {
    const data = toFloat32(entry, name);
    if (name === tensor) data.fill(value, 0, count);
    out[name] = { shape: entry.shape, data };
  }
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(out));
  return dir;
}

Deno.test({
  name: "HookedTransformer refuses NaN or infinite weights at load, and outputs that overflow float32 when run",
  ...opts,
  async fn() {
    for (const value of [NaN, Infinity]) {
      const dir = await withValue("llama", "model.layers.1.mlp.up_proj.weight", value);
      try {
        await assertRejects(
          () => HookedTransformer.load(dir),
          RangeError,
          "tensor model.layers.1.mlp.up_proj.weight holds 1 non-finite values (NaN or ±Inf): the checkpoint is damaged",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    // finite, but block 0's MLP output overflows float32 in its first dimension, and the next norm divides inf by inf
    const dir = await withValue("llama", "model.layers.0.mlp.down_proj.weight", 3e38, 128);
    try {
      const model = await HookedTransformer.load(dir, { processing: NO_PROCESSING });
      await assertRejects(() => model.run([128000, 5, 6]), RangeError, "The model's logits hold");
      await assertRejects(
        () => model.run([128000, 5, 6], { returnType: "loss" }),
        RangeError,
        "The model's losses hold",
      );
      await assertRejects(
        () => model.runWithCache([128000, 5], { names: ["blocks.0.hook_resid_post"], stopAtLayer: 1 }),
        RangeError,
        "The model's blocks.0.hook_resid_post hold",
      );
      await assertRejects(
        () => model.generate([128000, 5], { maxNewTokens: 2 }),
        RangeError,
        "The model's logits hold",
      );
      await model.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "HookedTransformer names the tensor a GPT-2 checkpoint lacks under its own prefix",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const f of ["config.json", "vocab.json", "merges.txt"]) {
        await Deno.copyFile(`${MODEL_DIR}/${f}`, `${dir}/${f}`);
      }
      const { tensors } = await readSafetensors(`${MODEL_DIR}/model.safetensors`);
      const out: Record<string, TensorToWrite> = {};
      for (const [name, entry] of tensors) {
        if (name !== "wte.weight") out[`transformer.${name}`] = { shape: entry.shape, data: toFloat32(entry, name) };
      }
      await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(out));
      await assertRejects(() => HookedTransformer.load(dir), TypeError, "has no tensor transformer.wte.weight");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "HookedTransformer runs a grouped-query, rotary, soft-capped family the same on every ONNX Runtime backend",
  ...opts,
  async fn() {
    const hook = "blocks.1.attn.hook_rot_k";
    // WebGPU on lavapipe is slow: the Gemma 2 graph's parts are the Llama one's plus soft caps and post norms
    for (const [family, backends] of [["llama", ["web", "webgpu"]], ["gemma2", ["web"]]] as const) {
      const base = await HookedTransformer.load(familyModelDir(family), { backend: "node" });
      const want = await base.runWithCache(TEXT, { names: [hook] });
      await base.dispose();
      for (const backend of backends) {
        const other = await HookedTransformer.load(familyModelDir(family), { backend });
        try {
          const got = await other.runWithCache(TEXT, { names: [hook] });
          const logits = maxAbsDiff(got.logits!.data, want.logits!.data);
          assertEquals(logits < 1e-3, true, `${family} on ${backend}: logits differ by ${logits}`);
          assertEquals(maxAbsDiff(got.cache.get(hook)!.data, want.cache.get(hook)!.data) < 1e-4, true);
          const gen = { maxNewTokens: 3, doSample: false, stopAtEos: false } as const;
          assertEquals((await other.generate(TEXT, gen)).tokens[0].length, other.toTokens(TEXT).length + 3);
        } finally {
          await other.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "HookedTransformer refuses a decoder checkpoint whose projection biases are missing in one layer",
  ...opts,
  async fn() {
    // Qwen 2 always has q/k/v biases; a Llama checkpoint has a group's biases in every layer or in none
    const cases: [(typeof FAMILY_FIXTURES)[number], (name: string) => boolean, string][] = [
      ["qwen2", (n) => n === "model.layers.1.self_attn.k_proj.bias", "model.layers.1.self_attn.k_proj.bias"],
      ["qwen2", (n) => /self_attn\.[qkv]_proj\.bias$/.test(n), "model.layers.0.self_attn.q_proj.bias"],
    ];
    for (const [family, drop, named] of cases) {
      const { modelDir } = await familyFixtureDirs(family);
      const dir = await Deno.makeTempDir();
      try {
        for await (const e of Deno.readDir(modelDir)) {
          if (!e.name.startsWith("model")) await Deno.copyFile(`${modelDir}/${e.name}`, `${dir}/${e.name}`);
        }
        const out: Record<string, TensorToWrite> = {};
        for await (const e of Deno.readDir(modelDir)) {
          if (!e.name.endsWith(".safetensors")) continue;
          for (const [name, entry] of (await readSafetensors(`${modelDir}/${e.name}`)).tensors) {
            if (!drop(name)) out[name] = { shape: entry.shape, data: toFloat32(entry, name) };
          }
        }
        await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(out));
        await assertRejects(() => HookedTransformer.load(dir), TypeError, named);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    // a Llama checkpoint with o_proj's bias in a later layer only: a tensor the first layer says the model lacks
    const dir = await Deno.makeTempDir();
    try {
      const src = familyModelDir("llama");
      for await (const e of Deno.readDir(src)) {
        if (!e.name.startsWith("model")) await Deno.copyFile(`${src}/${e.name}`, `${dir}/${e.name}`);
      }
      const { tensors } = await readSafetensors(`${src}/model.safetensors`);
      const out: Record<string, TensorToWrite> = {};
      for (const [name, entry] of tensors) out[name] = { shape: entry.shape, data: toFloat32(entry, name) };
      const d = out["model.layers.1.self_attn.o_proj.weight"].shape[0];
      out["model.layers.1.self_attn.o_proj.bias"] = { shape: [d], data: new Float32Array(d).fill(0.5) };
      await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(out));
      await assertRejects(() => HookedTransformer.load(dir), TypeError, "model.layers.1.self_attn.o_proj.bias");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
