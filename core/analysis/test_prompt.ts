/**
 * TransformerLens's `utils.test_prompt`: how well a model predicts an answer after a prompt (the answer's rank, logit
 * and probability at each of its tokens, and the top next tokens), without and with SAEs spliced in, as SAELens's
 * basic-loading notebook compares them.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { SAE } from "../sae/sae.ts";
import { HookedSaeTransformer } from "./hooked_sae_transformer.ts";
import { largestIndices } from "../util/largest_indices.ts";

/** Options of {@linkcode testPrompt}. */
export interface TestPromptOptions {
  /**
   * SAEs to splice in: the prompt is then also run with them spliced (`spliced`, error term off: x̂ replaces x) and
   * with the error term on (`error term`: x̂ + (x − x̂), the model's own output), beside the run without them.
   * @default {none: the model alone}
   */
  saes?: SAE | readonly SAE[];
  /** Next tokens listed at each answer position (TransformerLens `top_k`). @default {10} */
  topK?: number;
  /** Prepend BOS to the prompt (TransformerLens `prepend_bos`). @default {the model's rule} */
  prependBos?: boolean;
  /** Put a space before the answer unless it starts with one (TransformerLens `prepend_space_to_answer`). @default {true} */
  prependSpaceToAnswer?: boolean;
}

/** One candidate next token. */
export interface NextToken {
  /** Token id. */
  id: number;
  /** Its string. */
  token: string;
  /** Its logit. */
  logit: number;
  /** Its probability (softmax over the vocabulary). */
  prob: number;
}

/** How one run predicts one answer token. */
export interface AnswerPrediction extends NextToken {
  /** Its rank among all tokens by logit, 0 the most likely (ties: lower id first). */
  rank: number;
  /** The `topK` most likely next tokens at that position, most likely first. */
  top: NextToken[];
}

/** Which run: the model as given, with the SAEs spliced in (error term off), or with the error term on. */
export type PromptRunKind = "model" | "spliced" | "error term";

/** One run's predictions of the answer's tokens. */
export interface PromptRun {
  /** Which run. */
  kind: PromptRunKind;
  /** Per answer token, in order: its prediction from the position before it. */
  answers: AnswerPrediction[];
}

/** What {@linkcode testPrompt} returns. */
export interface PromptTest {
  /** The prompt's tokens (TransformerLens "Tokenized prompt"). */
  promptTokens: string[];
  /** The answer's tokens (TransformerLens "Tokenized answer"). */
  answerTokens: string[];
  /** The answer's token ids. */
  answerIds: number[];
  /** The model alone, then with `saes`: spliced, then with the error term. */
  runs: PromptRun[];
}

/**
 * Runs `prompt` followed by `answer` and reports, at each answer token, its rank, logit and probability and the top-K
 * next tokens (TransformerLens `utils.test_prompt`), for the model and, with `saes`, with them spliced in without and
 * with the error term. {@linkcode formatPromptTest} prints it as TransformerLens does.
 *
 * @example Does the model know the answer, with the SAE spliced in?
 * ```ts ignore
 * const test = await testPrompt(model, "When John and Mary went to the shops, John gave the bag to", "Mary", {
 *   saes: [sae],
 * });
 * console.log(test.runs.map((r) => `${r.kind}: rank ${r.answers[0].rank}`));
 * console.log(formatPromptTest(test));
 * ```
 *
 * @param model The model (a `HookedSaeTransformer` runs with its attached SAEs, as TransformerLens's `model(tokens)`).
 * @param prompt The prompt text.
 * @param answer The answer text, one or more tokens.
 * @param options `saes`, `topK`, `prependBos`, `prependSpaceToAnswer`.
 * @returns The tokens and each run's predictions.
 * @throws {RangeError} When the prompt or the answer has no token, topK is not a positive integer, or the prompt and
 *   answer exceed n_ctx.
 * @throws {TypeError} When an SAE does not fit the model.
 */
export async function testPrompt(
  model: HookedTransformer | HookedSaeTransformer,
  prompt: string,
  answer: string,
  options: TestPromptOptions = {},
): Promise<PromptTest> {
  const { saes, topK = 10, prependBos, prependSpaceToAnswer = true } = options;
  if (!Number.isSafeInteger(topK) || topK < 1) {
    throw new RangeError(`Cannot test the prompt as topK must be a positive integer: current value is ${topK}`);
  }
  const sae = model instanceof HookedSaeTransformer ? model : new HookedSaeTransformer(model);
  const base = sae.model;
  const promptIds = base.toTokens(prompt, prependBos === undefined ? {} : { prependBos });
  if (promptIds.length === 0) throw new RangeError("Cannot test the prompt as it has no token: give a text");
  const spaced = prependSpaceToAnswer && !answer.startsWith(" ") ? ` ${answer}` : answer;
  const answerIds = base.toTokens(spaced, { prependBos: false });
  if (answerIds.length === 0) throw new RangeError("Cannot test the prompt as the answer has no token: give a text");
  const tokens = [...promptIds, ...answerIds];
  const list = saes === undefined ? [] : Array.isArray(saes) ? saes as readonly SAE[] : [saes as SAE];
  const runs: PromptRun[] = [];
  const predict = (kind: PromptRunKind, logits: Float32Array) => {
    runs.push({ kind, answers: answerPredictions(base, logits, promptIds.length, answerIds, topK) });
  };
  predict("model", (await sae.run([tokens])).logits.data);
  if (list.length > 0) {
    predict("spliced", (await sae.runWithSaes([tokens], list, { useErrorTerm: false })).logits.data);
    predict("error term", (await sae.runWithSaes([tokens], list, { useErrorTerm: true })).logits.data);
  }
  return {
    promptTokens: base.toStrTokens(promptIds),
    answerTokens: base.toStrTokens(answerIds),
    answerIds,
    runs,
  };
}

/** Each answer token's prediction from the position before it, out of logits [1, pos, d_vocab]. */
function answerPredictions(
  model: HookedTransformer,
  logits: Float32Array,
  promptLength: number,
  answerIds: readonly number[],
  topK: number,
): AnswerPrediction[] {
  const vocab = model.cfg.dVocab;
  return answerIds.map((id, a) => {
    const row = logits.subarray((promptLength + a - 1) * vocab, (promptLength + a) * vocab);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const next = (t: number): NextToken => ({
      id: t,
      token: model.toString([t]),
      logit: row[t],
      prob: Math.exp(row[t] - max) / sum,
    });
    let rank = 0;
    for (let t = 0; t < vocab; t++) if (row[t] > row[id] || (row[t] === row[id] && t < id)) rank++;
    return { ...next(id), rank, top: largestIndices(row, topK).map(next) };
  });
}

/** Python's `repr` of a string, as TransformerLens prints token lists. */
function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

const pyList = (items: readonly string[]) => `[${items.map(pyRepr).join(", ")}]`;
/** Python's `{v:5.2f}`. */
const logitText = (v: number) => v.toFixed(2).padStart(5);
/** Python's `{v:6.2%}`. */
const probText = (v: number) => `${(100 * v).toFixed(2)}%`.padStart(6);

/** TransformerLens's lines for one answer token: its rank, logit and probability, then the top tokens. */
function performanceLines(p: AnswerPrediction): string[] {
  return [
    `Rank: ${String(p.rank).padEnd(8)} Logit: ${logitText(p.logit)} Prob: ${probText(p.prob)} Token: |${p.token}|`,
    ...p.top.map((t, i) =>
      `Top ${i}th token. Logit: ${logitText(t.logit)} Prob: ${probText(t.prob)} Token: |${t.token}|`
    ),
  ];
}

const RUN_TITLES: Record<PromptRunKind, string> = {
  "model": "without SAE",
  "spliced": "SAE spliced",
  "error term": "SAE + error term",
};

/**
 * Prints a {@linkcode PromptTest} as TransformerLens's `test_prompt` prints it: the tokenized prompt and answer, then
 * per answer token its rank, logit and probability and the top tokens, then the ranks. With SAEs, each answer token's
 * block shows the runs side by side (without the SAE, spliced, with the error term), one column each, and a line of
 * ranks per run.
 *
 * @example
 * ```ts ignore
 * console.log(formatPromptTest(await testPrompt(model, "Why did the elephant cross the", "road")));
 * // Tokenized prompt: ['<|endoftext|>', 'Why', ' did', ' the', ' elephant', ' cross', ' the']
 * // Tokenized answer: [' road']
 * // Performance on answer token:
 * // Rank: 2        Logit: 14.24 Prob:  3.51% Token: | road|
 * // Top 0th token. Logit: 14.51 Prob:  4.59% Token: | ground|
 * // ...
 * // Ranks of the answer tokens: [(' road', 2)]
 * ```
 *
 * @param test What {@linkcode testPrompt} returned.
 * @returns The text, lines joined by newlines.
 */
export function formatPromptTest(test: PromptTest): string {
  const lines = [`Tokenized prompt: ${pyList(test.promptTokens)}`, `Tokenized answer: ${pyList(test.answerTokens)}`];
  const ranks = (run: PromptRun) => `[${run.answers.map((p) => `(${pyRepr(p.token)}, ${p.rank})`).join(", ")}]`;
  if (test.runs.length === 1) {
    for (const p of test.runs[0].answers) lines.push("Performance on answer token:", ...performanceLines(p));
    lines.push(`Ranks of the answer tokens: ${ranks(test.runs[0])}`);
    return lines.join("\n");
  }
  test.answerTokens.forEach((token, a) => {
    const at = test.runs.map((run) => run.answers[a]);
    const rows: string[][] = [
      ["", ...test.runs.map((run) => RUN_TITLES[run.kind])],
      ["Rank", ...at.map((p) => String(p.rank))],
      ["Logit", ...at.map((p) => logitText(p.logit).trim())],
      ["Prob", ...at.map((p) => probText(p.prob).trim())],
      ...at[0].top.map((_, i) => [
        `Top ${i}th token.`,
        ...at.map(({ top }) => top[i] ? `${logitText(top[i].logit)} ${probText(top[i].prob)} |${top[i].token}|` : ""),
      ]),
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    lines.push(`Performance on answer token |${token}|:`);
    for (const r of rows) lines.push(r.map((cell, c) => cell.padEnd(widths[c])).join("   ").trimEnd());
  });
  for (const run of test.runs) lines.push(`Ranks of the answer tokens (${RUN_TITLES[run.kind]}): ${ranks(run)}`);
  return lines.join("\n");
}
