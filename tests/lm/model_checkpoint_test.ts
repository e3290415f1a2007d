import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { readModelCheckpoint } from "../../core/lm/model_checkpoint.ts";
import { gpt2Family } from "../../core/lm/families/gpt2.ts";
import { HfConfig } from "../../core/lm/hf_config.ts";
import { encodeSafetensors, readSafetensors } from "../../core/io/safetensors.ts";
import { MODEL_DIR } from "./_models.ts";

async function copyModel(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const name of ["config.json", "model.safetensors", "vocab.json", "merges.txt"]) {
    await Deno.copyFile(`${MODEL_DIR}/${name}`, `${dir}/${name}`);
  }
  await edit(dir);
  return dir;
}

Deno.test("readModelCheckpoint() reads the fixture with and without the transformer. prefix", async () => {
  const plain = await readModelCheckpoint(MODEL_DIR);
  assertEquals(plain.config.nLayers, 4);
  assertEquals(plain.config.dHead, 32);
  const dir = await copyModel(async (d) => {
    const { tensors } = await readSafetensors(`${d}/model.safetensors`);
    const renamed = Object.fromEntries(
      [...tensors].map(([k, t]) => [`transformer.${k}`, {
        shape: t.shape,
        data: new Float32Array(t.bytes.slice().buffer),
      }]),
    );
    await Deno.writeFile(`${d}/model.safetensors`, encodeSafetensors(renamed));
  });
  try {
    const prefixed = await readModelCheckpoint(dir);
    assertEquals(prefixed.weights.blocks[3].down.weight.data, plain.weights.blocks[3].down.weight.data);
    assertEquals(prefixed.weights.unembed.weight.data, plain.weights.unembed.weight.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readModelCheckpoint() names the missing file, the missing tensor and the disagreeing shape", async () => {
  const noWeights = await copyModel((d) => Deno.remove(`${d}/model.safetensors`));
  const wrongConfig = await copyModel(async (d) => {
    const cfg = JSON.parse(await Deno.readTextFile(`${d}/config.json`));
    await Deno.writeTextFile(`${d}/config.json`, JSON.stringify({ ...cfg, n_embd: 256 }));
  });
  const moreLayers = await copyModel(async (d) => {
    const cfg = JSON.parse(await Deno.readTextFile(`${d}/config.json`));
    await Deno.writeTextFile(`${d}/config.json`, JSON.stringify({ ...cfg, n_layer: 6 }));
  });
  const fewerLayers = await copyModel(async (d) => {
    const cfg = JSON.parse(await Deno.readTextFile(`${d}/config.json`));
    await Deno.writeTextFile(`${d}/config.json`, JSON.stringify({ ...cfg, n_layer: 3 }));
  });
  try {
    await assertRejects(
      () => readModelCheckpoint(noWeights),
      Deno.errors.NotFound,
      "has no model weights: expected model.safetensors or model.safetensors.index.json",
    );
    await assertRejects(
      () => readModelCheckpoint(wrongConfig),
      TypeError,
      "tensor h.0.attn.c_attn.weight has shape [128,384]",
    );
    await assertRejects(
      () => readModelCheckpoint(moreLayers),
      TypeError,
      "has no tensor h.4.attn.c_attn.weight: the model's config.json implies it",
    );
    await assertRejects(
      () => readModelCheckpoint(fewerLayers),
      TypeError,
      "holds 12 tensors its config.json does not describe (h.3.ln_1.weight, h.3.ln_1.bias, h.3.attn.c_attn.weight, h.3.attn.c_attn.bias, ...)",
    );
  } finally {
    for (const d of [noWeights, wrongConfig, moreLayers, fewerLayers]) await Deno.remove(d, { recursive: true });
  }
});

const parseGpt2Config = (json: unknown, path: string) => gpt2Family.config(new HfConfig(json, path));

Deno.test("gpt2Family.config() checks fields and fills GPT-2's defaults", () => {
  const cfg = parseGpt2Config({ n_layer: 12, n_head: 12, n_embd: 768 }, "config.json");
  assertEquals([cfg.dMlp, cfg.nCtx, cfg.dVocab, cfg.actFn, cfg.eps], [3072, 1024, 50257, "gelu_new", 1e-5]);
  let message = "";
  try {
    parseGpt2Config({ n_layer: 2, n_head: 5, n_embd: 64 }, "c.json");
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message, "c.json field n_embd (64) must be a multiple of n_head (5)");
});

Deno.test("readModelCheckpoint() refuses a FIFO config.json and weights linked to /dev/zero at once", async () => {
  const fifo = await copyModel(async (dir) => {
    await Deno.remove(`${dir}/config.json`);
    const { success } = await new Deno.Command("mkfifo", { args: [`${dir}/config.json`] }).output();
    assertEquals(success, true);
  });
  await assertRejects(() => readModelCheckpoint(fifo), TypeError, `${fifo}/config.json is a FIFO (named pipe)`);
  const zero = await copyModel(async (dir) => {
    await Deno.remove(`${dir}/model.safetensors`);
    await Deno.symlink("/dev/zero", `${dir}/model.safetensors`);
  });
  await assertRejects(() => readModelCheckpoint(zero), TypeError, `${zero}/model.safetensors is a character device`);
  for (const dir of [fifo, zero]) await Deno.remove(dir, { recursive: true });
});

Deno.test("gpt2Family.config() refuses wrongly typed fields instead of coercing them", () => {
  const base = { n_layer: 2, n_head: 2, n_embd: 8 };
  for (
    const [field, value, message] of [
      ["activation_function", ["gelu_new"], `field activation_function must be a string: got ["gelu_new"]`],
      ["activation_function", "constructor", `field activation_function is "constructor": expected one of`],
      ["n_layer", "4", `field n_layer must be a positive integer: got "4"`],
      ["vocab_size", null, "field vocab_size must be a positive integer: got null"],
      ["layer_norm_epsilon", null, "field layer_norm_epsilon must be a positive number: got null"],
    ] as const
  ) {
    assertThrows(
      () => parseGpt2Config({ ...base, [field]: value }, "config.json"),
      TypeError,
      `config.json ${message}`,
    );
  }
});
