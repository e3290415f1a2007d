import { HookedSaeTransformer } from "../../core/analysis/hooked_sae_transformer.ts";
import { formatPromptTest, type PromptTest, testPrompt } from "../../core/analysis/test_prompt.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { maxAbsDiff } from "../_reference.ts";
import { loadFixtureModel } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const PROMPT = "The State of the";

Deno.test(
  "testPrompt: the answer's rank, logit and probability and the top tokens, as the logits give them",
  ORT,
  async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const test = await testPrompt(model, PROMPT, "Union of", { saes: [sae], topK: 5 });
      assertEquals(test.promptTokens, ["<|endoftext|>", "The", " State", " of", " the"]);
      assertEquals(test.answerTokens, [" Union", " of"]);
      assertEquals(test.runs.map((r) => r.kind), ["model", "spliced", "error term"]);
      const tokens = [...model.toTokens(PROMPT), ...test.answerIds];
      const vocab = model.cfg.dVocab;
      const hooked = new HookedSaeTransformer(model);
      const runs = [
        (await model.run([tokens])).logits.data,
        (await hooked.runWithSaes([tokens], [sae])).logits.data,
        (await hooked.runWithSaes([tokens], [sae], { useErrorTerm: true })).logits.data,
      ];
      test.runs.forEach((run, r) => {
        run.answers.forEach((p, a) => {
          const row = Array.from(runs[r].subarray((4 + a) * vocab, (5 + a) * vocab));
          const z = row.reduce((s, v) => s + Math.exp(v), 0);
          assertEquals(p.id, test.answerIds[a]);
          assertEquals(p.logit, row[p.id]);
          assertEquals(Math.abs(p.prob - Math.exp(row[p.id]) / z) < 1e-9, true);
          assertEquals(p.rank, row.filter((v) => v > row[p.id]).length); // no ties here
          const order = row.map((v, id) => ({ v, id })).sort((x, y) => y.v - x.v || x.id - y.id).slice(0, 5);
          assertEquals(p.top.map((t) => t.id), order.map((o) => o.id));
          assertEquals(p.top.map((t) => t.token), order.map((o) => model.toString([o.id])));
          if (p.rank < 5) assertEquals(p.top[p.rank].id, p.id);
        });
      });
      // the error term gives back the model's own logits; the reconstruction alone changes them
      assertEquals(maxAbsDiff(runs[2], runs[0]) < 1e-4, true);
      assertEquals(maxAbsDiff(runs[1], runs[0]) > 1e-2, true);
      const alone = await testPrompt(model, PROMPT, " Union", { prependSpaceToAnswer: false });
      assertEquals(alone.runs.length, 1);
      assertEquals(alone.runs[0].answers[0].rank, test.runs[0].answers[0].rank);
      const noBos = await testPrompt(model, PROMPT, "Union", { prependBos: false, topK: 1 });
      assertEquals(noBos.promptTokens[0], "The");
      assertEquals(noBos.runs[0].answers[0].top.length, 1);
      await assertRejects(() => testPrompt(model, PROMPT, "x", { topK: 0 }), RangeError, "topK must be a positive");
      await assertRejects(
        () => testPrompt(model, "", "x", { prependBos: false }),
        RangeError,
        "the prompt as it has no token",
      );
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);

const TL_EXAMPLE: PromptTest = {
  promptTokens: ["<|endoftext|>", "Why", " did", " the", " elephant", " cross", " the"],
  answerTokens: [" road"],
  answerIds: [2975],
  runs: [{
    kind: "model",
    answers: [{
      id: 2975,
      token: " road",
      logit: 14.24,
      prob: 0.0351,
      rank: 2,
      top: [
        { id: 1, token: " ground", logit: 14.51, prob: 0.0459 },
        { id: 2, token: " tree", logit: 14.41, prob: 0.0418 },
        { id: 2975, token: " road", logit: 14.24, prob: 0.0351 },
      ],
    }],
  }],
};

Deno.test("formatPromptTest prints TransformerLens's test_prompt output", () => {
  assertEquals(
    formatPromptTest(TL_EXAMPLE),
    [
      "Tokenized prompt: ['<|endoftext|>', 'Why', ' did', ' the', ' elephant', ' cross', ' the']",
      "Tokenized answer: [' road']",
      "Performance on answer token:",
      "Rank: 2        Logit: 14.24 Prob:  3.51% Token: | road|",
      "Top 0th token. Logit: 14.51 Prob:  4.59% Token: | ground|",
      "Top 1th token. Logit: 14.41 Prob:  4.18% Token: | tree|",
      "Top 2th token. Logit: 14.24 Prob:  3.51% Token: | road|",
      "Ranks of the answer tokens: [(' road', 2)]",
    ].join("\n"),
  );
  const quoted = { ...TL_EXAMPLE, promptTokens: ["'s", "a\nb", "\\"] };
  assertEquals(formatPromptTest(quoted).split("\n")[0], `Tokenized prompt: ["'s", 'a\\nb', '\\\\']`);
});

Deno.test("formatPromptTest puts the runs side by side, one column each, with a line of ranks per run", () => {
  const [model] = TL_EXAMPLE.runs;
  const spliced = { kind: "spliced" as const, answers: [{ ...model.answers[0], rank: 7, logit: 3.5, prob: 0.5 }] };
  const lines = formatPromptTest({ ...TL_EXAMPLE, runs: [model, spliced] }).split("\n");
  assertEquals(lines[2], "Performance on answer token | road|:");
  assertEquals(/^ +without SAE +SAE spliced$/.test(lines[3]), true, lines[3]);
  assertEquals(/^Rank +2 +7$/.test(lines[4]), true, lines[4]);
  assertEquals(/^Logit +14\.24 +3\.50$/.test(lines[5]), true, lines[5]);
  assertEquals(/^Prob +3\.51% +50\.00%$/.test(lines[6]), true, lines[6]);
  assertEquals(
    /^Top 0th token\. +14\.51 +4\.59% \| ground\| +14\.51 +4\.59% \| ground\|$/.test(lines[7]),
    true,
    lines[7],
  );
  assertEquals(lines.slice(-2), [
    "Ranks of the answer tokens (without SAE): [(' road', 2)]",
    "Ranks of the answer tokens (SAE spliced): [(' road', 7)]",
  ]);
});
