// The three contract commands, run exactly as a user types them, against reference-dev: the numbers of an
// independent PyTorch implementation (nanoGPT's GPT-2 with every weight, SAELens's SAE math).
import { join } from "node:path";
import { readSafetensors, toFloat32, toIntegers } from "../../core/io/safetensors.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { assertClose, maxAbsDiff } from "../_reference.ts";
import { assertL0Close, l0Bounds } from "../eval/_l0_bounds.ts";
import { logSoftmax } from "../lm/_gpt2_reference.ts";
import {
  EVAL_ROWS,
  loadFixtureModel,
  MODEL_DIR,
  PROMPT_TOKENS,
  REF_LOGITS,
  REF_RESID_PRE,
  REFERENCE,
} from "../lm/_models.ts";
import { runCli } from "./_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const VOCAB = 50257;

for (const name of ["standard", "topk"]) {
  for (const device of ["webgpu", "cpu"]) {
    Deno.test(
      `sae encode --device ${device} --top 5 --json TEXT gives reference-dev's top-5 features per token (sae-${name})`,
      ORT,
      async () => {
        const sae = join(FIXTURES, `sae-${name}`);
        const { code, stdout, stderr } = await runCli([
          "encode",
          "--device",
          device,
          "--sae",
          sae,
          "--model",
          MODEL_DIR,
          "--top",
          "5",
          "--json",
          REFERENCE.prompt.text,
        ]);
        assertEquals(code, 0, stderr);
        const json = JSON.parse(stdout);
        assertEquals(json.tokens, REFERENCE.prompt.tokens);
        const expected: [number, number][][] = REFERENCE.prompt[`${name}_top5_per_token`];
        assertEquals(json.features.length, expected.length);
        json.features.forEach((row: { index: number; activation: number }[], t: number) => {
          assertEquals(row.map((f) => f.index), expected[t].map(([i]) => i), `token ${t}`);
          assertClose(row.map((f) => f.activation), expected[t].map(([, v]) => v), 1e-4, `token ${t}`);
        });
      },
    );
  }

  Deno.test(
    `sae eval --batches all --json gives reference-dev's CE, L0 and explained variance (sae-${name})`,
    ORT,
    async () => {
      const sae = join(FIXTURES, `sae-${name}`);
      const { code, stdout, stderr } = await runCli([
        "eval",
        "--sae",
        sae,
        "--model",
        MODEL_DIR,
        "--dataset",
        join(FIXTURES, "reference-dev.safetensors"),
        "--batches",
        "all",
        "--json",
      ]);
      assertEquals(code, 0, stderr);
      const m = JSON.parse(stdout);
      const ref = REFERENCE[name];
      assertEquals(m.rows, REFERENCE.eval_rows);
      const want: Record<string, number> = {
        ce_orig: REFERENCE.ce_orig,
        ce_zero_ablation: REFERENCE.ce_zero_ablation,
        ce_sae: ref.ce_sae,
        ce_loss_score: ref.ce_loss_score,
        explained_variance: ref.explained_variance,
      };
      for (const [key, value] of Object.entries(want)) {
        assertEquals(Math.abs(m[key] - value) <= 1e-4, true, `${key}: ${m[key]} vs ${value}`);
      }
      if (name === "topk") assertEquals(m.l0, ref.l0_excl_bos);
      else {
        const model = await loadFixtureModel();
        try {
          assertL0Close(m.l0, ref.l0_excl_bos, await l0Bounds(model, sae, EVAL_ROWS));
        } finally {
          await model.dispose();
        }
      }
    },
  );
}

Deno.test(
  "sae run --cache blocks.2.hook_resid_pre --out F writes reference-dev's logits and resid_pre",
  ORT,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = join(dir, "run.safetensors");
      const { code, stderr } = await runCli([
        "run",
        "--model",
        MODEL_DIR,
        "--cache",
        "blocks.2.hook_resid_pre",
        "--out",
        out,
        REFERENCE.prompt.text,
      ]);
      assertEquals(code, 0, stderr);
      const file = await readSafetensors(out);
      assertEquals(toIntegers(file.tensors.get("tokens")!, "tokens"), PROMPT_TOKENS);
      const logits = toFloat32(file.tensors.get("logits")!, "logits");
      const lp = maxAbsDiff(logSoftmax(logits, VOCAB), logSoftmax(REF_LOGITS, VOCAB));
      assertEquals(lp <= 1e-4, true, `log-probabilities differ by ${lp}`);
      const resid = toFloat32(file.tensors.get("blocks.2.hook_resid_pre")!, "resid_pre");
      assertClose(resid, REF_RESID_PRE, 1e-4, "blocks.2.hook_resid_pre");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
