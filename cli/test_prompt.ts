/**
 * `sae test-prompt --answer TOKEN TEXT`: TransformerLens's `utils.test_prompt`, the answer's rank, logit and
 * probability and the top next tokens, without and with the SAE spliced in (error term off and on).
 *
 * @module
 */

import { formatPromptTest, type PromptTest, testPrompt } from "../core/analysis/test_prompt.ts";
import { saeSite } from "../core/sae/sae_on_model.ts";
import { loadModel, oneText } from "./_model.ts";
import { SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae test-prompt`. */
export const TEST_PROMPT_HELP =
  `Usage: sae test-prompt --answer TOKEN [--sae S] [--model M] [--top K] [--no-space] [--json] TEXT

TransformerLens's utils.test_prompt: run TEXT followed by the answer and print, at each of the answer's
tokens, its rank among all tokens (0: the most likely), its logit and probability, and the top K next
tokens, then the ranks. With an SAE (--sae, or neither --sae nor --model: the embedded SAE and model), the
same three times side by side: the model without the SAE, with the SAE spliced in (x̂ replaces x, error
term off) and with the error term on (x̂ + (x − x̂)); BOS as the SAE was trained. With --model alone, the
model only.

Options:
${SAE_HELP}
  --answer TOKEN   the expected continuation, one or more tokens, e.g. Paris (a space is put before it
                   unless it starts with one, or with --no-space)
  --top K          next tokens listed at each answer token (default 10)
  --no-space       take the answer as written (TransformerLens prepend_space_to_answer=False)
  --json           print JSON: prompt_tokens, answer_tokens, answer_ids, runs [{"kind" (model, spliced,
                   error term), "answers": [{"token", "id", "rank", "logit", "prob", "top": [{"token", "id",
                   "logit", "prob"}]}]}]
  -h, --help       show this help`;

/** JSON of a test, in snake_case. */
function testJson(test: PromptTest, extra: Record<string, unknown>): string {
  return JSON.stringify({
    ...extra,
    prompt_tokens: test.promptTokens,
    answer_tokens: test.answerTokens,
    answer_ids: test.answerIds,
    runs: test.runs,
  });
}

/**
 * Runs `sae test-prompt`.
 *
 * @example
 * ```ts ignore
 * await testPromptVerb(["--answer", "Union", "The State of the"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function testPromptVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    answer: { type: "string" },
    top: { type: "string" },
    "no-space": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(TEST_PROMPT_HELP);
    return 0;
  }
  const text = oneText(positionals, "test-prompt");
  if (values.answer === undefined) throw new UsageError(`--answer is required: the expected continuation, e.g. Paris`);
  const answer = values.answer;
  const topK = positiveInt(values.top, "--top") ?? 10;
  const prependSpaceToAnswer = !values["no-space"];
  if (values.model !== undefined && values.sae === undefined) {
    for (const flag of ["device", "neuronpedia-id"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with an SAE: --model alone runs no SAE`);
    }
    const model = await loadModel(values, "test-prompt");
    try {
      const test = await testPrompt(model, text, answer, { topK, prependSpaceToAnswer });
      console.log(values.json ? testJson(test, { model: values.model }) : formatPromptTest(test));
      return 0;
    } finally {
      await model.dispose();
    }
  }
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const { prependBos, hookName } = saeSite(model, sae);
    const test = await testPrompt(model, text, answer, { saes: [sae], topK, prependBos, prependSpaceToAnswer });
    if (values.json) {
      console.log(testJson(test, { sae: saeLabel, hook_name: hookName }));
      return 0;
    }
    console.log(`${sae.cfg.architecture} SAE ${saeLabel} at ${hookName}`);
    console.log(formatPromptTest(test));
    return 0;
  }, { verb: "test-prompt", inputs: { answer: JSON.stringify(answer) } });
}
