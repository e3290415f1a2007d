/**
 * The real sizes on this machine, with random weights and the real configs (no download): gemma-2-2b (2.6B parameters,
 * vocabulary 256,000) to `blocks.12.hook_resid_post` and to the logits, with the cold start to the first token's
 * features of a Gemma Scope-shaped JumpReLU SAE (16k latents) on that hook; Llama-3.1-8B (16 GB of bfloat16 weights)
 * to `blocks.16.hook_resid_post`, Llama Scope's middle layers. Each run is its own process and reports its peak
 * resident set; the weights stay in their stored dtype where their float32 copy would not fit.
 *
 * Run: `deno task bench:real-size [--only gemma2|llama]` (about 30 GB of free disk for the two checkpoints).
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { npy, zipArchive } from "../tests/io/_npz_writer.ts";
import { REAL_CONFIGS } from "./_real_configs.ts";
import { writeRandomModel } from "./_random_model.ts";
import { PYTHON } from "./_torch.ts";

const { values } = parseArgs({ args: Deno.args, options: { only: { type: "string" } } });
const peakRss = new URL("./_peak_rss.py", import.meta.url).pathname;
const runner = new URL("./_real_size_run.ts", import.meta.url).pathname;
const gib = (b: number) => (b / 2 ** 30).toFixed(2);

async function run(args: string[]): Promise<{ json: Record<string, number | string>; rss: number }> {
  const rssFile = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command(PYTHON, {
      args: [peakRss, rssFile, Deno.execPath(), "run", "-A", runner, ...args],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`${args.join(" ")} failed`);
    const json = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    return { json, rss: Number(await Deno.readTextFile(rssFile)) };
  } finally {
    await Deno.remove(rssFile);
  }
}

/** A JumpReLU SAE in Gemma Scope's layout (params.npz under layer_12/width_16k/...), random, on d_model. */
async function writeGemmaScopeSae(dir: string, dModel: number, dSae: number): Promise<string> {
  const folder = join(dir, "gemma-scope-2b-pt-res", "layer_12", "width_16k", "average_l0_82");
  await Deno.mkdir(folder, { recursive: true });
  const random = (n: number, a: number) => Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * a);
  const arrays: [string, number[], Float32Array][] = [
    ["W_enc", [dModel, dSae], random(dModel * dSae, 0.05)],
    ["W_dec", [dSae, dModel], random(dSae * dModel, 0.05)],
    ["b_enc", [dSae], random(dSae, 0.01)],
    ["b_dec", [dModel], random(dModel, 0.01)],
    ["threshold", [dSae], new Float32Array(dSae).fill(0.5)],
  ];
  const members = arrays.map(([name, shape, data]) => ({ name: `${name}.npy`, data: npy(shape, data) }));
  await Deno.writeFile(join(folder, "params.npz"), zipArchive(members));
  return folder;
}

const lines: string[] = [];
if (values.only === undefined || values.only === "gemma2") {
  const dir = await Deno.makeTempDir({ prefix: "sae-real-gemma2-" });
  try {
    const real = REAL_CONFIGS["google/gemma-2-2b"];
    console.error(`writing a random gemma-2-2b (${real.dtype}) into ${dir}`);
    const { bytes } = await writeRandomModel(join(dir, "model"), real.config, real.dtype);
    const sae = await writeGemmaScopeSae(dir, 2304, 16384);
    const { json, rss } = await run(["gemma2", join(dir, "model"), sae]);
    lines.push(
      `gemma-2-2b (${
        gib(bytes)
      } GiB ${real.dtype} on disk, ${json.dtype} in memory): to blocks.12.hook_resid_post ${json.to_hook_s} s and to the logits ${json.to_logits_s} s for ${json.tokens} tokens; cold start to the first token's features ${json.cold_start_s} s (load ${json.load_s} s); peak RSS ${
        gib(rss)
      } GiB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
if (values.only === undefined || values.only === "llama") {
  const dir = await Deno.makeTempDir({ prefix: "sae-real-llama-" });
  try {
    const real = REAL_CONFIGS["meta-llama/Llama-3.1-8B"];
    console.error(`writing a random Llama-3.1-8B (${real.dtype}) into ${dir}`);
    const { bytes } = await writeRandomModel(join(dir, "model"), real.config, real.dtype);
    const { json, rss } = await run(["llama", join(dir, "model")]);
    lines.push(
      `Llama-3.1-8B (${
        gib(bytes)
      } GiB ${real.dtype} on disk, ${json.dtype} in memory): to blocks.16.hook_resid_post ${json.to_hook_s} s for ${json.tokens} tokens (load ${json.load_s} s); peak RSS ${
        gib(rss)
      } GiB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
for (const l of lines) console.log(l);
