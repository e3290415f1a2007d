import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { MODEL_DIR } from "../lm/_models.ts";
import { runCli } from "./_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };

Deno.test("sae test-prompt: TransformerLens's test_prompt without and with the SAE, side by side", ORT, async () => {
  const text = await runCli(["test-prompt", "--answer", "Union", "--top", "3", "The State of the"]);
  assertEquals(text.code, 0, text.stderr);
  const lines = text.stdout.split("\n");
  assertEquals(lines[1], "Tokenized prompt: ['<|endoftext|>', 'The', ' State', ' of', ' the']");
  assertEquals(lines[2], "Tokenized answer: [' Union']");
  assertEquals(lines[3], "Performance on answer token | Union|:");
  assertEquals(/without SAE +SAE spliced +SAE \+ error term$/.test(lines[4]), true, lines[4]);
  assertEquals(lines.filter((l) => l.startsWith("Top ")).length, 3);

  const { code, stdout, stderr } = await runCli([
    "test-prompt",
    "--sae",
    `${FIXTURES}sae-standard`,
    "--model",
    MODEL_DIR,
    "--answer",
    "Union",
    "--json",
    "The State of the",
  ]);
  assertEquals(code, 0, stderr);
  const out = JSON.parse(stdout);
  assertEquals(out.hook_name, "blocks.2.hook_resid_pre");
  assertEquals(out.runs.map((r: { kind: string }) => r.kind), ["model", "spliced", "error term"]);
  const [model, , error] = out.runs.map((r: { answers: { rank: number; prob: number; top: unknown[] }[] }) =>
    r.answers[0]
  );
  assertEquals(model.top.length, 10);
  assertEquals(Math.abs(model.prob - error.prob) < 1e-5, true);
});

Deno.test("sae test-prompt --model alone runs the model only, as TransformerLens prints it", ORT, async () => {
  const { code, stdout, stderr } = await runCli([
    "test-prompt",
    "--model",
    MODEL_DIR,
    "--answer",
    "Union",
    "The State of the",
  ]);
  assertEquals(code, 0, stderr);
  const lines = stdout.split("\n");
  assertEquals(lines[2], "Performance on answer token:");
  assertEquals(/^Rank: \d+ +Logit: +[\d.]+ Prob: +[\d.]+% Token: \| Union\|$/.test(lines[3]), true, lines[3]);
  assertEquals(/^Ranks of the answer tokens: \[\(' Union', \d+\)\]$/.test(lines.at(-1)!), true, lines.at(-1));
});

Deno.test("sae test-prompt wants --answer and one non-empty TEXT", async () => {
  for (
    const [args, message] of [
      [["test-prompt", "x"], "--answer is required"],
      [["test-prompt", "--answer", "a", ""], "sae test-prompt: TEXT is empty"],
      [["test-prompt", "--answer", "a", "--top", "-3", "x"], "--top must be a positive integer: current value is -3"],
      [["test-prompt", "--model", "m", "--device", "cpu", "--answer", "a", "x"], "--device goes with an SAE"],
    ] as const
  ) {
    const out = await runCli([...args]);
    assertEquals(out.code, 2, out.stderr);
    assertEquals(out.stderr.includes(message), true, out.stderr);
  }
});
