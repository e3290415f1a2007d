import { join } from "node:path";
import { readSae } from "../../core/sae/read_sae.ts";
import { encodeSafetensors } from "../../core/io/safetensors.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { FIXTURES } from "../_gpu.ts";
import { npz } from "../io/_npz_writer.ts";

async function folder(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, content] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeFile(join(dir, name), typeof content === "string" ? new TextEncoder().encode(content) : content);
  }
  return dir;
}

const small = (dIn: number, dSae: number, extra: Record<string, { shape: number[]; data: Float32Array }> = {}) =>
  encodeSafetensors({
    W_enc: { shape: [dIn, dSae], data: new Float32Array(dIn * dSae) },
    b_enc: { shape: [dSae], data: new Float32Array(dSae) },
    W_dec: { shape: [dSae, dIn], data: new Float32Array(dIn * dSae) },
    b_dec: { shape: [dIn], data: new Float32Array(dIn) },
    ...extra,
  });

Deno.test("readSae() reads the SAELens v6 fixture with its sparsity", async () => {
  const sae = await readSae(join(FIXTURES, "sae-standard"));
  assertEquals([sae.format, sae.cfg.architecture, sae.cfg.d_in, sae.cfg.d_sae], ["saelens", "standard", 128, 1024]);
  assertEquals(sae.cfg.metadata.hook_name, "blocks.2.hook_resid_pre");
  assertEquals(sae.sparsity?.shape, [1024]);
});

Deno.test("readSae() converts a pre-6.0 config like SAELens", async () => {
  const sae = await readSae(join(FIXTURES, "sae-standard-legacy"));
  assertEquals(sae.format, "saelens-legacy");
  assertEquals(sae.cfg.metadata.hook_name, "blocks.2.hook_resid_pre");
  assertEquals(sae.cfg.normalize_activations, "none");
  assertEquals(sae.cfg.dtype, "float32");
  assertEquals(sae.cfg.metadata.model_from_pretrained_kwargs, { center_writing_weights: true });
});

Deno.test("readSae() reads a pre-6.0 TopK config from activation_fn_kwargs", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({
      d_in: 4,
      d_sae: 8,
      hook_point: "blocks.1.hook_resid_pre",
      activation_fn_str: "topk",
      activation_fn_kwargs: { k: 3 },
      normalize_activations: true,
    }),
    "sae_weights.safetensors": small(4, 8),
  });
  const sae = await readSae(dir);
  assertEquals([sae.cfg.architecture, sae.cfg.k, sae.cfg.normalize_activations], [
    "topk",
    3,
    "expected_average_only_in",
  ]);
});

Deno.test("readSae() reads a sparsify folder, transposing encoder.weight", async () => {
  const enc = new Float32Array(8 * 4).map((_, i) => i); // [d_sae, d_in]
  const dir = await folder({
    "layers.3/cfg.json": JSON.stringify({
      d_in: 4,
      num_latents: 8,
      k: 2,
      expansion_factor: 2,
      normalize_decoder: true,
    }),
    "layers.3/sae.safetensors": encodeSafetensors({
      "encoder.weight": { shape: [8, 4], data: enc },
      "encoder.bias": { shape: [8], data: new Float32Array(8) },
      W_dec: { shape: [8, 4], data: new Float32Array(32) },
      b_dec: { shape: [4], data: new Float32Array(4) },
    }),
  });
  const sae = await readSae(join(dir, "layers.3"));
  assertEquals([sae.format, sae.cfg.architecture, sae.cfg.k, sae.cfg.metadata.hook_name], [
    "sparsify",
    "topk",
    2,
    "blocks.3.hook_resid_post",
  ]);
  assertEquals(sae.weights.W_enc.shape, [4, 8]);
  assertEquals(sae.weights.W_enc.data[1 * 8 + 2], enc[2 * 4 + 1]);
  assertEquals(sae.cfg.apply_b_dec_to_input, true);
});

Deno.test("readSae() reads a Gemma Scope params.npz as JumpReLU without b_dec on input", async () => {
  const f = (n: number) => new Float32Array(n).fill(0.5);
  const dir = await folder({
    "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_71/params.npz": npz({
      W_enc: { shape: [4, 6], data: f(24) },
      W_dec: { shape: [6, 4], data: f(24) },
      b_enc: { shape: [6], data: f(6) },
      b_dec: { shape: [4], data: f(4) },
      threshold: { shape: [6], data: f(6) },
    }),
  });
  const sae = await readSae(join(dir, "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_71"));
  assertEquals([sae.format, sae.cfg.architecture, sae.cfg.d_in, sae.cfg.d_sae], ["gemma-scope", "jumprelu", 4, 6]);
  assertEquals([sae.cfg.apply_b_dec_to_input, sae.cfg.metadata.hook_name, sae.cfg.metadata.model_name], [
    false,
    "blocks.12.hook_resid_post",
    "gemma-2-2b",
  ]);
  assertEquals(sae.weights.threshold.data[5], 0.5);
});

Deno.test("readSae() names cfg.json and d_in when d_in is missing", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "standard", d_sae: 8, metadata: {} }),
    "sae_weights.safetensors": small(4, 8),
  });
  await assertRejects(() => readSae(dir), TypeError, "cfg.json: field d_in is missing: expected a positive integer");
});

Deno.test("readSae() rejects weights whose shapes disagree with cfg.json", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "standard", d_in: 4, d_sae: 9, metadata: {} }),
    "sae_weights.safetensors": small(4, 8),
  });
  await assertRejects(
    () => readSae(dir),
    TypeError,
    `sae_weights.safetensors: tensor "W_enc" has shape [4, 8], expected [4, 9]`,
  );
});

Deno.test("readSae() rejects an unknown architecture, listing the known ones", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "fancy", d_in: 4, d_sae: 8, metadata: {} }),
    "sae_weights.safetensors": small(4, 8),
  });
  await assertRejects(
    () => readSae(dir),
    RangeError,
    `field architecture is "fancy": expected one of standard, topk, jumprelu, gated`,
  );
});

Deno.test("readSae() names a missing JumpReLU threshold", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "jumprelu", d_in: 4, d_sae: 8, metadata: {} }),
    "sae_weights.safetensors": small(4, 8),
  });
  await assertRejects(() => readSae(dir), TypeError, `tensor "threshold" is missing: a jumprelu SAE needs`);
});

Deno.test("readSae() loads a BatchTopK config as the JumpReLU it is saved as", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "batchtopk", d_in: 4, d_sae: 8, k: 2.5, metadata: {} }),
    "sae_weights.safetensors": small(4, 8, { threshold: { shape: [8], data: new Float32Array(8) } }),
  });
  assertEquals((await readSae(dir)).cfg.architecture, "jumprelu");
});

Deno.test("readSae() refuses pickles that are no torch.save state dict, never unpickling them", async () => {
  const dir = await folder({ "sae.pt": new Uint8Array([0x80, 2, 3]), "model.bin": new Uint8Array([0x80, 2, 3]) });
  await assertRejects(
    () => readSae(join(dir, "sae.pt")),
    SyntaxError,
    "sae.pt is a pickle stream, PyTorch's format before 1.6",
  );
  await assertRejects(
    () => readSae(join(dir, "model.bin")),
    TypeError,
    "model.bin is a pickle file: sae reads only torch.save",
  );
  await assertRejects(
    () => readSae(dir),
    Deno.errors.NotFound,
    "holds no SAE: expected sae_weights.safetensors + cfg.json",
  );
});

Deno.test("readSae() names a missing folder", async () => {
  await assertRejects(() => readSae("/no/such/sae"), Deno.errors.NotFound, "SAE path /no/such/sae does not exist");
});

Deno.test("readSae() refuses non-finite weights, naming the tensor and the count", async () => {
  const bad = new Float32Array(8);
  bad[2] = NaN;
  bad[5] = -Infinity;
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "standard", d_in: 4, d_sae: 8, metadata: {} }),
    "sae_weights.safetensors": small(4, 8, { b_enc: { shape: [8], data: bad } }),
  });
  await assertRejects(
    () => readSae(dir),
    RangeError,
    `sae_weights.safetensors: tensor "b_enc" holds 2 non-finite values (NaN or infinity, in float32)`,
  );
});

Deno.test("readSae() refuses cfg.json fields of the wrong type instead of coercing them", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ apply_b_dec_to_input: "true" }, `field apply_b_dec_to_input is "true": expected true or false`],
    [{ apply_b_dec_to_input: 1 }, "field apply_b_dec_to_input is 1: expected true or false"],
    [{ apply_b_dec_to_input: null }, "field apply_b_dec_to_input is null: expected true or false"],
    [{ architecture: null, k: 2 }, "field architecture is null: expected a string"],
    [{ architecture: "topk", k: 2, rescale_acts_by_decoder_norm: "yes" }, "field rescale_acts_by_decoder_norm is"],
    [{ reshape_activations: null }, `field reshape_activations is null: expected "none" or "hook_z"`],
    [{ metadata: { hook_name: 5 } }, "field hook_name is 5: expected a string or null"],
    [{ metadata: "blocks.0" }, `field metadata is "blocks.0": expected a JSON object`],
  ];
  for (const [fields, message] of cases) {
    const dir = await folder({
      "cfg.json": JSON.stringify({ architecture: "standard", d_in: 4, d_sae: 8, metadata: {}, ...fields }),
      "sae_weights.safetensors": small(4, 8),
    });
    await assertRejects(() => readSae(dir), Error, `${join(dir, "cfg.json")}: ${message}`);
  }
});

Deno.test("readSae() keeps SAELens defaults for absent fields", async () => {
  const dir = await folder({
    "cfg.json": JSON.stringify({ architecture: "topk", d_in: 4, d_sae: 8, k: 2, metadata: {} }),
    "sae_weights.safetensors": small(4, 8),
  });
  const { cfg } = await readSae(dir);
  assertEquals([cfg.apply_b_dec_to_input, cfg.rescale_acts_by_decoder_norm ?? false, cfg.normalize_activations], [
    true,
    false,
    "none",
  ]);
});

Deno.test("readSae() refuses a legacy scaling_factor of the wrong shape and tensors the SAE does not have", async () => {
  const cfg = JSON.stringify({
    d_in: 4,
    d_sae: 8,
    hook_point: "blocks.0.hook_resid_pre",
    finetuning_scaling_factor: true,
  });
  const wrongShape = await folder({
    "cfg.json": cfg,
    "sae_weights.safetensors": small(4, 8, { scaling_factor: { shape: [4], data: new Float32Array(4).fill(2) } }),
  });
  await assertRejects(() => readSae(wrongShape), TypeError, `tensor "scaling_factor" has shape [4], expected [8]`);
  const misspelt = await folder({
    "cfg.json": cfg,
    "sae_weights.safetensors": small(4, 8, { scaling_factr: { shape: [8], data: new Float32Array(8).fill(2) } }),
  });
  await assertRejects(
    () => readSae(misspelt),
    TypeError,
    `tensor "scaling_factr" is not part of a standard SAE: expected only W_enc, W_dec, b_dec, scaling_factor, b_enc`,
  );
});

Deno.test("readSae() refuses a sparsify cfg.json that is not an object or has a null k", async () => {
  const weights = encodeSafetensors({
    "encoder.weight": { shape: [8, 4], data: new Float32Array(32) },
    "encoder.bias": { shape: [8], data: new Float32Array(8) },
    W_dec: { shape: [8, 4], data: new Float32Array(32) },
    b_dec: { shape: [4], data: new Float32Array(4) },
  });
  for (
    const [cfg, message] of [
      ["null", "cfg.json: expected a JSON object, found null"],
      [JSON.stringify({ d_in: 4, num_latents: 8, k: null }), "field k is null: expected an integer >= 1"],
    ]
  ) {
    const dir = await folder({ "layers.0/cfg.json": cfg, "layers.0/sae.safetensors": weights });
    await assertRejects(() => readSae(join(dir, "layers.0")), TypeError, message);
  }
});

Deno.test("readSae() refuses a FIFO cfg.json and weights linked to /dev/zero at once", async () => {
  const dir = await folder({ "sae_weights.safetensors": small(4, 8) });
  const { success } = await new Deno.Command("mkfifo", { args: [join(dir, "cfg.json")] }).output();
  assertEquals(success, true);
  await assertRejects(() => readSae(dir), TypeError, `${join(dir, "cfg.json")} is a FIFO (named pipe)`);
  const zero = await folder({ "cfg.json": JSON.stringify({ d_in: 4, d_sae: 8 }) });
  await Deno.symlink("/dev/zero", join(zero, "sae_weights.safetensors"));
  await assertRejects(() => readSae(zero), TypeError, "sae_weights.safetensors is a character device");
});

Deno.test("readSae() folds a release's norm_scaling_factor into the weights as SAELens's from_pretrained does", async () => {
  const folder = `${FIXTURES}sae-standard`;
  const plain = await readSae(folder);
  const folded = await readSae(folder, { normalize_activations: "expected_average_only_in", norm_scaling_factor: 2.5 });
  assertEquals(folded.cfg.normalize_activations, "none");
  assertEquals(folded.cfg.norm_scaling_factor, undefined);
  const close = (a: Float32Array, b: Float32Array, f: number) =>
    a.every((v, i) => Math.abs(v - b[i] * f) <= 1e-6 * Math.abs(b[i] * f) + 1e-12);
  assertEquals(close(folded.weights.W_enc!.data, plain.weights.W_enc!.data, 2.5), true);
  assertEquals(close(folded.weights.W_dec!.data, plain.weights.W_dec!.data, 1 / 2.5), true);
  assertEquals(close(folded.weights.b_dec!.data, plain.weights.b_dec!.data, 1 / 2.5), true);
  assertEquals(close(folded.weights.b_enc!.data, plain.weights.b_enc!.data, 1), true);
});
