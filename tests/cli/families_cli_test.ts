// Every verb on every model family: the family fixtures' models (Llama 3.1, Gemma 2, Pythia, Qwen 3, Gemma 3, Qwen 2,
// Mistral layouts) with their Gemma Scope JumpReLU SAE saved as a SAELens folder that names the model, through the CLI
// as a user runs it.
import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { runCli } from "./_run.ts";
import { SAE } from "../../core/sae/sae.ts";
import { FAMILY_FIXTURES, familyFixtureDirs } from "../lm/_family_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const HOOK = "blocks.1.hook_resid_post";
const TEXT = "The quick brown fox jumps over the lazy dog, then naps under an old oak.";

/** The fixture's params.npz as a SAELens v6 folder on its hook, naming the model folder. */
async function saeFolder(family: string, fixture: { dir: string; modelDir: string }, dir: string): Promise<string> {
  const sae = await SAE.load(`${fixture.dir}/sae`);
  try {
    const out = join(dir, "sae");
    Object.assign(sae.cfg.metadata, {
      hook_name: HOOK,
      model_name: fixture.modelDir,
      // Pythia's and Qwen's rules put no BOS before text, the others' do
      prepend_bos: family !== "pythia" && family !== "qwen3" && family !== "qwen2",
      context_size: 16,
      // the reference features are on TransformerLens's from_pretrained_no_processing activations
      model_from_pretrained_kwargs: {
        fold_ln: false,
        center_writing_weights: false,
        center_unembed: false,
        fold_value_biases: false,
      },
    });
    await sae.save(out);
    return out;
  } finally {
    sae.destroy();
  }
}

for (const family of FAMILY_FIXTURES) {
  const fixture = await familyFixtureDirs(family);
  const reference = JSON.parse(await Deno.readTextFile(`${fixture.dir}/reference-dev.json`));

  Deno.test(`sae encode, eval and train run on a ${family} model and an SAE on its hooks`, ORT, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const sae = await saeFolder(family, fixture, dir);
      const encoded = await runCli(["encode", "--sae", sae, "--json", TEXT]);
      assertEquals(encoded.code, 0, encoded.stderr);
      const json = JSON.parse(encoded.stdout);
      // the model named in the SAE's cfg ran, tokenized as transformers does, and the SAE fired as the reference
      assertEquals(json.tokens, reference.prompts.dev_0.input_ids);
      assertEquals(json.l0, reference.prompts.dev_0.sae_l0_per_token);

      const evaluated = await runCli(["eval", "--sae", sae, "--batches", "2", "--context-size", "16", "--json"]);
      assertEquals(evaluated.code, 0, evaluated.stderr);
      const metrics = JSON.parse(evaluated.stdout);
      for (const key of ["ce_loss_score", "l0", "explained_variance"]) {
        assertEquals(Number.isFinite(metrics[key]), true, `${key} in ${evaluated.stdout}`);
      }

      const d = reference.sae.d_model;
      const trained = await runCli([
        "train",
        "--model-name",
        fixture.modelDir,
        "--hook-name",
        HOOK,
        "--d-in",
        String(d),
        "--d-sae",
        "32",
        "--architecture",
        "topk",
        "--k",
        "4",
        "--context-size",
        "16",
        "--store-batch-size-prompts",
        "4",
        "--n-batches-in-buffer",
        "2",
        "--train-batch-size-tokens",
        "64",
        "--training-tokens",
        "640",
        "--checkpoint-path",
        join(dir, "ck"),
      ]);
      assertEquals(trained.code, 0, trained.stderr);
      const cfg = JSON.parse(await Deno.readTextFile(join(dir, "ck", "final", "cfg.json")));
      assertEquals([cfg.d_in, cfg.metadata.hook_name, cfg.metadata.model_name], [d, HOOK, fixture.modelDir]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`every analysis verb, run and generate work on a ${family} model`, ORT, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const sae = await saeFolder(family, fixture, dir);
      const model = fixture.modelDir;
      const verbs: string[][] = [
        ["feature", "--sae", sae, "3", TEXT, "A second text about the river."],
        ["attribute", "--sae", sae, "--target", " the", "--json", TEXT],
        ["steer", "--sae", sae, "--feature", "3", "--strength", "2", "--samples", "1", "--max-new-tokens", "3", TEXT],
        ["ablate", "--sae", sae, "--target", " the", "--top", "2", "--json", TEXT],
        ["compare", "--sae", sae, "--json", TEXT, "The lazy dog sleeps."],
        ["dashboard", "--sae", sae, "--features", "0-2", "--tokens", "256", "--json"],
        ["run", "--model", model, "--cache", HOOK, "--json", TEXT],
        ["generate", "--model", model, "--greedy", "--max-new-tokens", "4", "--json", TEXT],
      ];
      for (const args of verbs) {
        const r = await runCli(args);
        assertEquals(r.code, 0, `sae ${args[0]}: ${r.stderr}`);
      }
      const generated = JSON.parse((await runCli(verbs.at(-1)!)).stdout);
      const ids = reference.prompts.dev_0.greedy?.new_ids;
      if (ids) assertEquals(JSON.stringify(generated).includes(JSON.stringify(ids.slice(0, 4)).slice(1, -1)), true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
