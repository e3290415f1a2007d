// Every loader format of SAELens's registry, from fixtures written to each loader's specification (SAELens's
// pretrained_sae_loaders.py and the released files' layouts): read from disk (readSae, SAE.load, sae info) and
// through the registry from a local Hub (pullPretrained), with the config SAELens derives for it.
import { join } from "node:path";
import { encodeSafetensors, type TensorToWrite } from "../../core/io/safetensors.ts";
import type { HostTensor } from "../../core/gpu/tensor.ts";
import { readSae, type SaeOnDisk } from "../../core/sae/read_sae.ts";
import { pullPretrained } from "../../core/sae/pretrained.ts";
import { LOADERS } from "../../core/sae/pretrained_loaders.ts";
import { lookupRelease, RELEASES } from "../../core/sae/releases.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { runCli } from "../cli/_run.ts";
import { startHubServer } from "../hub/_hub_server.ts";
import { npz } from "../io/_npz_writer.ts";
import { TORCH_FIXTURES } from "../io/_torch_fixtures.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const D_IN = 4, D_SAE = 8;
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

function values(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 * 2 - 1) * scale;
  });
}
const t = (shape: number[], seed: number): TensorToWrite => ({
  shape,
  data: values(shape.reduce((a, b) => a * b, 1), seed),
});
const st = (tensors: Record<string, TensorToWrite>) => encodeSafetensors(tensors) as Uint8Array<ArrayBuffer>;
const np = (arrays: Parameters<typeof npz>[0]) => npz(arrays) as Uint8Array<ArrayBuffer>;
const text = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const transposed = (x: TensorToWrite): number[] => {
  const [r, c] = x.shape;
  return Array.from({ length: r * c }, (_, i) => (x.data as Float32Array)[(i % r) * c + Math.floor(i / r)]);
};
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));

type Expected = Record<string, { shape: number[]; values: number[] }>;
async function torchFixture(name: string): Promise<{ bytes: Uint8Array<ArrayBuffer>; expected: Expected }> {
  return {
    bytes: await Deno.readFile(`${TORCH_FIXTURES}${name}.pt`),
    expected: JSON.parse(await Deno.readTextFile(`${TORCH_FIXTURES}${name}.json`)),
  };
}
const torchT = (e: Expected, name: string): TensorToWrite => ({
  shape: e[name].shape,
  data: Float32Array.from(e[name].values),
});

/** One format: the repo files of one SAE of a release, what readSae is given locally, and the checks. */
interface Case {
  release: string;
  saeId: string;
  files: Record<string, Uint8Array<ArrayBuffer>>;
  format: SaeOnDisk["format"];
  check(sae: SaeOnDisk, viaRegistry: boolean): void;
}

async function cases(): Promise<Record<string, Case>> {
  const gemma = { W_enc: t([D_IN, D_SAE], 1), W_dec: t([D_SAE, D_IN], 2), b_enc: t([D_SAE], 3), b_dec: t([D_IN], 4) };
  const threshold = { shape: [D_SAE], data: values(D_SAE, 5).map(Math.abs) };
  const gemmaNpz = np({ ...gemma, threshold } as never);
  const first = (release: string, prefix: string) => RELEASES[release].saes.find((s) => s.id.startsWith(prefix))!;
  const res = first("gemma-scope-2b-pt-res", "layer_12/width_16k/");
  const emb = first("gemma-scope-2b-pt-res", "embedding/");
  const att = first("gemma-scope-2b-pt-att", "layer_3/width_16k/");
  const tc = first("gemma-scope-2b-pt-transcoders", "layer_3/");
  const enc = t([D_SAE, D_IN], 6), dec = t([D_IN, D_SAE], 7), bEnc = t([D_SAE], 8), bDec = t([D_IN], 9);
  const linear = { "encoder.weight": enc, "encoder.bias": bEnc, "decoder.weight": dec, "decoder.bias": bDec };
  const hyper = {
    d_model: D_IN,
    d_sae: D_SAE,
    hook_point_in: "blocks.0.hook_attn_out",
    hook_point_out: "blocks.0.hook_attn_out",
    jump_relu_threshold: 0.25,
    dataset_average_activation_norm: { in: 0.5, out: 0.5 },
  };
  const logThreshold = t([D_SAE], 10);
  const dlStandard = await torchFixture("dl_standard"), dlGated = await torchFixture("dl_gated");
  const dlTopk = await torchFixture("dl_topk"), deepseek = await torchFixture("deepseek_l3");
  const hookZ = await torchFixture("hook_z_L1");
  const dlConfig = (dictClass: string, extra: Record<string, unknown> = {}) =>
    text({
      trainer: {
        dict_class: dictClass,
        activation_dim: D_IN,
        dict_size: D_SAE,
        layer: 3,
        lm_name: "EleutherAI/pythia-70m-deduped",
        ...extra,
      },
      buffer: { ctx_len: 128 },
    });
  const hookZPath = lookupRelease("gpt2-small-hook-z-kk", "blocks.1.hook_z").sae.path;
  const mw = { W_enc: t([D_SAE, D_IN], 11), b_enc: t([D_SAE], 12), W_dec: t([D_SAE, D_IN], 13), b_dec: t([D_IN], 14) };
  const wandb = `d_model:\n  desc: null\n  value: ${D_IN}\nd_feature:\n  desc: null\n  value: ${D_SAE}\n` +
    `batch_size:\n  desc: null\n  value: 8192\n`;
  const cltDec = t([D_SAE, 3, D_IN], 15);
  const summed = Array.from({ length: D_SAE * D_IN }, (_, i) => {
    const [row, col] = [Math.floor(i / D_IN), i % D_IN];
    return [0, 1, 2].reduce((s, l) => s + (cltDec.data as Float32Array)[(row * 3 + l) * D_IN + col], 0);
  });
  const gemmaCommon = (s: SaeOnDisk) => {
    assertEquals([s.cfg.d_in, s.cfg.d_sae, s.cfg.apply_b_dec_to_input, s.cfg.normalize_activations], [
      D_IN,
      D_SAE,
      false,
      "none",
    ]);
    assertEquals([s.cfg.metadata.model_name, s.cfg.metadata.context_size, s.cfg.metadata.dataset_path], [
      "gemma-2-2b",
      1024,
      "monology/pile-uncopyrighted",
    ]);
    assertEquals(Array.from(s.weights.threshold.data), Array.from(threshold.data));
  };
  return {
    "gemma_2 (residual)": {
      release: "gemma-scope-2b-pt-res",
      saeId: res.id,
      files: { [`${res.path}/params.npz`]: gemmaNpz },
      format: "gemma-scope",
      check: (s) => {
        gemmaCommon(s);
        assertEquals([s.cfg.architecture, s.cfg.metadata.hook_name], ["jumprelu", "blocks.12.hook_resid_post"]);
        assertEquals(Array.from(s.weights.W_enc.data), Array.from(gemma.W_enc.data as Float32Array));
      },
    },
    "gemma_2 (embedding, rescaled by √d_in)": {
      release: "gemma-scope-2b-pt-res",
      saeId: emb.id,
      files: { [`${emb.path}/params.npz`]: gemmaNpz },
      format: "gemma-scope",
      check: (s) => {
        gemmaCommon(s);
        assertEquals(s.cfg.metadata.hook_name, "hook_embed");
        assertEquals(close(s.weights.W_enc.data, (gemma.W_enc.data as Float32Array).map((v) => v / 2)), true);
        assertEquals(close(s.weights.W_dec.data, (gemma.W_dec.data as Float32Array).map((v) => v * 2)), true);
      },
    },
    "gemma_2 (attention, hook_z)": {
      release: "gemma-scope-2b-pt-att",
      saeId: att.id,
      files: { [`${att.path}/params.npz`]: gemmaNpz },
      format: "gemma-scope",
      check: (s) => {
        gemmaCommon(s);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.reshape_activations], ["blocks.3.attn.hook_z", "hook_z"]);
      },
    },
    "gemma_2_transcoder": {
      release: "gemma-scope-2b-pt-transcoders",
      saeId: tc.id,
      files: { [`${tc.path}/params.npz`]: gemmaNpz },
      format: "gemma-scope-transcoder",
      check: (s, viaRegistry) => {
        gemmaCommon(s);
        assertEquals([s.cfg.architecture, s.cfg.d_out], ["jumprelu_transcoder", D_IN]);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.metadata.hook_name_out], [
          "blocks.3.ln2.hook_normalized",
          "blocks.3.hook_mlp_out",
        ]);
        if (viaRegistry) assertEquals(s.cfg.metadata.neuronpedia_id, "gemma-2-2b/3-gemmascope-transcoder-16k");
      },
    },
    "llama_scope": {
      release: "llama_scope_lxa_8x",
      saeId: "l0a_8x",
      files: {
        "Llama3_1-8B-Base-L0A-8x/hyperparams.json": text(hyper),
        "Llama3_1-8B-Base-L0A-8x/checkpoints/final.safetensors": st(linear),
      },
      format: "llama-scope",
      check: (s, viaRegistry) => {
        // s = √4 / 0.5 = 4 from the hyperparams scales the threshold; the registry's s is what is folded in
        const fold = viaRegistry ? lookupRelease("llama_scope_lxa_8x", "l0a_8x").sae.norm_scaling_factor! : 4;
        assertEquals([s.cfg.architecture, s.cfg.dtype, s.cfg.normalize_activations], ["jumprelu", "bfloat16", "none"]);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.metadata.model_name], [
          "blocks.0.hook_attn_out",
          "meta-llama/Llama-3.1-8B",
        ]);
        assertEquals(Array.from(s.weights.threshold.data), new Array(D_SAE).fill(1));
        assertEquals(close(s.weights.W_enc.data, transposed(enc).map((v) => Math.fround(v) * fold)), true);
        assertEquals(close(s.weights.W_dec.data, transposed(dec).map((v) => Math.fround(v) / fold)), true);
        assertEquals(close(s.weights.b_dec.data, (bDec.data as Float32Array).map((v) => v / fold)), true);
        assertEquals(Array.from(s.weights.b_enc.data), Array.from(bEnc.data as Float32Array));
      },
    },
    "llama_scope_r1_distill": {
      release: "llama_scope_r1_distill",
      saeId: "l0r_800m_slimpajama",
      files: {
        "800M-Slimpajama-0-OpenR1-Math-220k/L0R/config.json": text({
          d_model: D_IN,
          expansion_factor: 2,
          hook_point_in: "blocks.0.hook_resid_post",
        }),
        "800M-Slimpajama-0-OpenR1-Math-220k/L0R/sae_weights.safetensors": st({
          ...linear,
          log_jumprelu_threshold: logThreshold,
        }),
      },
      format: "llama-scope-r1-distill",
      check: (s, viaRegistry) => {
        assertEquals([s.cfg.architecture, s.cfg.dtype, s.cfg.metadata.hook_name], [
          "jumprelu",
          "float32",
          "blocks.0.hook_resid_post",
        ]);
        assertEquals(close(s.weights.threshold.data, (logThreshold.data as Float32Array).map(Math.exp)), true);
        // folded only with the release's s: loaded from disk it stays unnormalised, as SAELens leaves it
        const fold = lookupRelease("llama_scope_r1_distill", "l0r_800m_slimpajama").sae.norm_scaling_factor!;
        assertEquals(s.cfg.normalize_activations, viaRegistry ? "none" : "expected_average_only_in");
        assertEquals(close(s.weights.W_enc.data, transposed(enc).map((v) => v * (viaRegistry ? fold : 1))), true);
      },
    },
    "dictionary_learning_1 (AutoEncoder)": {
      release: "sae_bench_pythia70m_sweep_standard_ctx128_0712",
      saeId: "blocks.3.hook_resid_post__trainer_10",
      files: {
        "pythia70m_sweep_standard_ctx128_0712/resid_post_layer_3/trainer_10/config.json": dlConfig("AutoEncoder"),
        "pythia70m_sweep_standard_ctx128_0712/resid_post_layer_3/trainer_10/ae.pt": dlStandard.bytes,
      },
      format: "dictionary-learning",
      check: (s) => {
        const e = dlStandard.expected;
        assertEquals([s.cfg.architecture, s.cfg.apply_b_dec_to_input, s.cfg.metadata.hook_name], [
          "standard",
          true,
          "blocks.3.hook_resid_post",
        ]);
        assertEquals([s.cfg.metadata.model_name, s.cfg.metadata.context_size], ["pythia-70m-deduped", 128]);
        assertEquals(close(s.weights.W_enc.data, transposed(torchT(e, "encoder.weight"))), true);
        assertEquals(close(s.weights.W_dec.data, transposed(torchT(e, "decoder.weight"))), true);
        assertEquals(close(s.weights.b_dec.data, e.bias.values), true);
      },
    },
    "dictionary_learning_1 (GatedAutoEncoder)": {
      release: "sae_bench_pythia70m_sweep_gated_ctx128_0730",
      saeId: "blocks.3.hook_resid_post__trainer_0",
      files: {
        "pythia70m_sweep_gated_ctx128_0730/resid_post_layer_3/trainer_0/config.json": dlConfig("GatedAutoEncoder"),
        "pythia70m_sweep_gated_ctx128_0730/resid_post_layer_3/trainer_0/ae.pt": dlGated.bytes,
      },
      format: "dictionary-learning",
      check: (s) => {
        const e = dlGated.expected;
        assertEquals(s.cfg.architecture, "gated");
        assertEquals(Object.keys(s.weights).sort(), ["W_dec", "W_enc", "b_dec", "b_gate", "b_mag", "r_mag"]);
        assertEquals(close(s.weights.b_gate.data, e.gate_bias.values), true);
        assertEquals(close(s.weights.b_dec.data, e.decoder_bias.values), true);
      },
    },
    "dictionary_learning_1 (AutoEncoderTopK)": {
      release: "sae_bench_pythia70m_sweep_topk_ctx128_0730",
      saeId: "blocks.3.hook_resid_post__trainer_0",
      files: {
        "pythia70m_sweep_topk_ctx128_0730/resid_post_layer_3/trainer_0/config.json": dlConfig("AutoEncoderTopK", {
          k: 3,
        }),
        "pythia70m_sweep_topk_ctx128_0730/resid_post_layer_3/trainer_0/ae.pt": dlTopk.bytes,
      },
      format: "dictionary-learning",
      check: (s, viaRegistry) => {
        assertEquals([s.cfg.architecture, s.cfg.k], ["topk", 3]);
        assertEquals(close(s.weights.b_dec.data, dlTopk.expected.b_dec.values), true);
        if (viaRegistry) {
          assertEquals(
            s.cfg.metadata.neuronpedia_id,
            "pythia-70m-deduped/3-sae_bench-topk-res-4k__trainer_0_step_final",
          );
        }
      },
    },
    "deepseek_r1": {
      release: "deepseek-r1-distill-llama-8b-qresearch",
      saeId: "blocks.19.hook_resid_post",
      files: { "DeepSeek-R1-Distill-Llama-8B-SAE-l19.pt": deepseek.bytes },
      format: "deepseek-r1",
      check: (s) => {
        const e = deepseek.expected;
        assertEquals([s.cfg.architecture, s.cfg.apply_b_dec_to_input, s.cfg.dtype], ["standard", false, "bfloat16"]);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.metadata.model_name], [
          "blocks.19.hook_resid_post",
          "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        ]);
        assertEquals(close(s.weights.W_enc.data, transposed(torchT(e, "encoder.weight"))), true);
        assertEquals(close(s.weights.b_dec.data, e["decoder.bias"].values), true);
      },
    },
    "connor_rob_hook_z": {
      release: "gpt2-small-hook-z-kk",
      saeId: "blocks.1.hook_z",
      files: {
        [hookZPath]: hookZ.bytes,
        [`${hookZPath.split(".pt")[0]}_cfg.json`]: text({
          act_size: D_IN,
          dict_size: D_SAE,
          act_name: "blocks.1.attn.hook_z",
          layer: 1,
        }),
      },
      format: "hook-z",
      check: (s, viaRegistry) => {
        assertEquals([s.cfg.architecture, s.cfg.reshape_activations, s.cfg.metadata.hook_name], [
          "standard",
          "hook_z",
          "blocks.1.attn.hook_z",
        ]);
        assertEquals([s.cfg.metadata.model_name, s.cfg.metadata.context_size], ["gpt2-small", 128]);
        assertEquals(close(s.weights.W_enc.data, hookZ.expected.W_enc.values), true);
        if (viaRegistry) assertEquals(s.cfg.metadata.neuronpedia_id, "gpt2-small/1-att-kk");
      },
    },
    "mwhanna_transcoder": {
      release: "mwhanna-qwen3-4b-transcoders",
      saeId: "layer_10",
      files: {
        "wandb-config.yaml": text(wandb),
        "config.yaml": text("model_name: Qwen/Qwen3-4B\nfeature_input_hook: mlp.hook_in\n"),
        "layer_10.safetensors": st(mw),
      },
      format: "mwhanna-transcoder",
      check: (s) => {
        assertEquals([s.cfg.architecture, s.cfg.d_out, s.cfg.metadata.context_size], ["transcoder", D_IN, 8192]);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.metadata.hook_name_out, s.cfg.metadata.model_name], [
          "blocks.10.mlp.hook_in",
          "blocks.10.hook_mlp_out",
          "Qwen/Qwen3-4B",
        ]);
        assertEquals(s.cfg.metadata.model_from_pretrained_kwargs, { fold_ln: false });
        assertEquals(close(s.weights.W_enc.data, transposed(mw.W_enc)), true);
        assertEquals(close(s.weights.W_dec.data, mw.W_dec.data as Float32Array), true);
      },
    },
    "mwhanna_transcoder (Qwen3-14B: wanb-config.yaml, no config.yaml)": {
      release: "mwhanna-qwen3-14b-transcoders",
      saeId: "layer_2",
      files: { "wanb-config.yaml": text(wandb), "layer_2.safetensors": st(mw) },
      format: "mwhanna-transcoder",
      check: (s) => {
        // the model comes from the repo id: the cache's, or a folder named after the repo
        assertEquals(s.cfg.metadata.model_name, "Qwen/Qwen3-14B");
        assertEquals(s.cfg.metadata.hook_name, "blocks.2.mlp.hook_in");
      },
    },
    "mntss_clt_layer_transcoder": {
      release: "mntss-gemma-2-2b-2.5m-clt-as-per-layer",
      saeId: "layer_5",
      files: {
        "config.yaml": text(
          "model_name: google/gemma-2-2b\nfeature_input_hook: hook_resid_mid\nfeature_output_hook: hook_mlp_out\n",
        ),
        "W_enc_5.safetensors": st({
          W_enc_5: t([D_SAE, D_IN], 16),
          b_enc_5: t([D_SAE], 17),
          b_dec_5: t([D_IN], 18),
        }),
        "W_dec_5.safetensors": st({ W_dec_5: cltDec }),
      },
      format: "mntss-clt-layer",
      check: (s) => {
        assertEquals([s.cfg.architecture, s.cfg.d_in, s.cfg.d_sae], ["transcoder", D_IN, D_SAE]);
        assertEquals([s.cfg.metadata.hook_name, s.cfg.metadata.hook_name_out], [
          "blocks.5.hook_resid_mid",
          "blocks.5.hook_mlp_out",
        ]);
        assertEquals(close(s.weights.W_dec.data, summed, 1e-5), true);
        assertEquals(close(s.weights.W_enc.data, transposed(t([D_SAE, D_IN], 16))), true);
      },
    },
    "sae_lens (a folder named *.pt)": {
      release: "gpt2-small-resid-post-v5-32k",
      saeId: "blocks.0.hook_resid_post",
      files: {
        "v5_32k_layer_0.pt/cfg.json": text({
          architecture: "standard",
          d_in: D_IN,
          d_sae: D_SAE,
          dtype: "float32",
          apply_b_dec_to_input: true,
          normalize_activations: "none",
          metadata: { hook_name: "blocks.0.hook_resid_post", model_name: "gpt2-small", sae_lens_version: "6.0.0" },
        }),
        "v5_32k_layer_0.pt/sae_weights.safetensors": st(gemma),
      },
      format: "saelens",
      check: (s, viaRegistry) => {
        assertEquals(s.cfg.metadata.hook_name, "blocks.0.hook_resid_post");
        if (viaRegistry) assertEquals(s.cfg.metadata.dataset_path, "Skylion007/openwebtext"); // the release's override
      },
    },
  };
}

/** Where readSae is pointed for a case: the loader's target path in the repo. */
function targetOf(c: Case): string {
  const { release, sae } = lookupRelease(c.release, c.saeId);
  return LOADERS[release.conversion_func ?? "sae_lens"].target(sae.path);
}

/** Writes a repo's files into a folder named after the repo (as a clone of it is), and returns that folder. */
async function writeRepo(files: Record<string, Uint8Array>, repo = "org/repo"): Promise<string> {
  const dir = join(await Deno.makeTempDir(), repo.split("/")[1]);
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeFile(join(dir, name), bytes);
  }
  return dir;
}

for (const [name, c] of Object.entries(await cases())) {
  Deno.test(`readSae() and sae info read ${name} from disk as SAELens's loader does`, async () => {
    const dir = await writeRepo(c.files, lookupRelease(c.release, c.saeId).release.repo_id);
    try {
      const path = join(dir, targetOf(c));
      const sae = await readSae(path);
      assertEquals(sae.format, c.format);
      c.check(sae, false);
      const info = await runCli(["info", "--json", path]);
      assertEquals(info.code, 0, info.stderr);
      const described = JSON.parse(info.stdout);
      assertEquals([described.format, described.architecture, described.hook_name], [
        c.format,
        sae.cfg.architecture,
        sae.cfg.metadata.hook_name ?? null,
      ]);
    } finally {
      await Deno.remove(join(dir, ".."), { recursive: true });
    }
  });

  Deno.test(`pullPretrained() fetches ${name} from a Hub and loads it with the release's overrides`, async () => {
    const { release } = lookupRelease(c.release, c.saeId);
    const server = await startHubServer({ [release.repo_id]: { commit: COMMIT, files: c.files } });
    const cache = await Deno.makeTempDir();
    try {
      const hub = { endpoint: server.endpoint, cacheDir: cache };
      const pulled = await pullPretrained(c.release, c.saeId, hub);
      assertEquals(pulled.folder.includes(`/snapshots/${COMMIT}/`), true, pulled.folder);
      const sae = await readSae(pulled.folder, pulled.overrides);
      assertEquals(sae.format, c.format);
      c.check(sae, true);
    } finally {
      await server.close();
      await Deno.remove(cache, { recursive: true });
    }
  });
}

/** f = ReLU(h) · 1[h > θ] (JumpReLU; θ = 0 for ReLU) with h = x W_enc + b_enc, for one row. */
function reference(w: Record<string, HostTensor>, x: Float32Array): number[] {
  const [dIn, dSae] = w.W_enc.shape;
  return Array.from({ length: dSae }, (_, j) => {
    let h = w.b_enc.data[j];
    for (let i = 0; i < dIn; i++) h += x[i] * w.W_enc.data[i * dSae + j];
    return h > (w.threshold?.data[j] ?? 0) ? h : 0;
  });
}

Deno.test(
  "SAE.load runs a Gemma Scope JumpReLU SAE and a transcoder on the cpu as their references say",
  ORT,
  async () => {
    const all = await cases();
    for (const name of ["gemma_2 (residual)", "mwhanna_transcoder"]) {
      const dir = await writeRepo(all[name].files, lookupRelease(all[name].release, all[name].saeId).release.repo_id);
      const sae = await SAE.load(join(dir, targetOf(all[name])), { device: "cpu" });
      try {
        const x = values(2 * D_IN, 42, 2);
        const features = await sae.encode({ shape: [2, D_IN], data: x }).read();
        for (const row of [0, 1]) {
          const want = reference(sae.weights, x.subarray(row * D_IN, (row + 1) * D_IN));
          assertEquals(close(features.subarray(row * D_SAE, (row + 1) * D_SAE), want, 1e-5), true, name);
        }
      } finally {
        sae.destroy();
        await Deno.remove(join(dir, ".."), { recursive: true });
      }
    }
  },
);

Deno.test("readSae() refuses what the loaders' files must not hold, naming the file and field", async () => {
  const all = await cases();
  const broken = async (
    name: string,
    patch: Record<string, Uint8Array<ArrayBuffer>>,
    error: ErrorConstructor,
    message: string,
  ) => {
    const c = all[name];
    const dir = await writeRepo({ ...c.files, ...patch }, lookupRelease(c.release, c.saeId).release.repo_id);
    try {
      await assertRejects(() => readSae(join(dir, targetOf(c))), error, message);
    } finally {
      await Deno.remove(join(dir, ".."), { recursive: true });
    }
  };
  await broken(
    "llama_scope",
    {
      "Llama3_1-8B-Base-L0A-8x/hyperparams.json": text({ d_model: "4", d_sae: 8 }),
    },
    TypeError,
    'hyperparams.json: field d_model is "4": expected a positive integer',
  );
  await broken(
    "dictionary_learning_1 (AutoEncoder)",
    {
      "pythia70m_sweep_standard_ctx128_0712/resid_post_layer_3/trainer_10/config.json": text({
        trainer: { dict_class: "JumpReluAutoEncoder" },
        buffer: {},
      }),
    },
    TypeError,
    'field dict_class is "JumpReluAutoEncoder": expected one of AutoEncoder, GatedAutoEncoder, AutoEncoderTopK',
  );
  await broken(
    "mwhanna_transcoder",
    { "wandb-config.yaml": text("d_model:\n  value: !!python/object:os.system 1\n") },
    SyntaxError,
    "Unresolved tag",
  );
  await broken(
    "mwhanna_transcoder",
    {
      "layer_10.safetensors": st({
        ...{ W_enc: t([D_SAE, D_IN], 1), b_enc: t([D_SAE], 2) },
        W_skip: t([D_IN, D_IN], 3),
      }),
    },
    TypeError,
    'tensor "W_skip" is not part of a transcoder',
  );
  await broken(
    "mntss_clt_layer_transcoder",
    {
      "W_dec_5.safetensors": st({ W_dec_5: t([D_SAE, D_IN], 4) }),
    },
    TypeError,
    "expected [d_sae, layers, d_out]",
  );
  await broken(
    "deepseek_r1",
    {
      "DeepSeek-R1-Distill-Llama-8B-SAE-l19.pt": await Deno.readFile(`${TORCH_FIXTURES}evil.pt`),
    },
    SyntaxError,
    "names the global posix.system",
  );
  await broken(
    "gemma_2 (residual)",
    {
      [Object.keys(all["gemma_2 (residual)"].files)[0]]: np({
        W_enc: t([D_IN, D_SAE], 1),
        W_dec: t([D_SAE, D_IN], 2),
        b_enc: t([D_SAE], 3),
        b_dec: t([D_IN], 4),
        threshold: t([D_SAE], 5),
        extra: t([D_SAE], 6),
      } as never),
    },
    TypeError,
    'tensor "extra" is not part of a jumprelu SAE',
  );
});
