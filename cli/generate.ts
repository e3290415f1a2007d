/**
 * `sae generate --model M TEXT`: continue a text with the model (KV cache, greedy or sampled).
 *
 * @module
 */

import { loadModel, MODEL_FLAGS, MODEL_HELP, oneText } from "./_model.ts";
import { SAMPLING_FLAGS, SAMPLING_HELP, samplingOptions } from "./_sampling.ts";
import { Progress, progressToLog } from "./_progress.ts";
import { parseFlags } from "./_usage.ts";

/** Help text of `sae generate`. */
export const GENERATE_HELP = `Usage: sae generate --model M [--max-new-tokens N] [--temperature T] [--seed S] TEXT

Continue TEXT (BOS prepended where the model's rule puts it), one position per step through a key/value cache.

Options:
${MODEL_HELP}
${SAMPLING_HELP}
  --json              print JSON: tokens, text, new_text
  -h, --help          show this help`;

/**
 * Runs `sae generate`.
 *
 * @example
 * ```ts ignore
 * await generate(["--model", "../shared/fixtures/gpt2-sotu-tiny", "--greedy", "The nation"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function generate(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...MODEL_FLAGS,
    ...SAMPLING_FLAGS,
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(GENERATE_HELP);
    return 0;
  }
  const text = oneText(positionals, "generate");
  const options = samplingOptions(values);
  const model = await loadModel(values, "generate");
  try {
    const prompt = model.toTokens(text);
    const stream = !values.json && Deno.stdout.isTerminal();
    if (stream) await Deno.stdout.write(new TextEncoder().encode(text));
    // on a terminal the streamed text shows progress; a bar on stderr would break into it
    const progress = progressToLog() ? new Progress("generate", options.maxNewTokens, "tokens generated") : undefined;
    let generated = 0;
    const out = await model.generate(prompt, {
      ...options,
      onToken: (t) => {
        progress?.update(++generated, 0);
        if (stream) Deno.stdout.write(new TextEncoder().encode(model.toString(t)));
      },
    });
    const newTokens = out.tokens[0].slice(prompt.length);
    progress?.done(`${newTokens.length} new tokens after ${prompt.length} of prompt`);
    if (values.json) {
      console.log(JSON.stringify({ tokens: out.tokens[0], text: out.text[0], new_text: model.toString(newTokens) }));
    } else if (stream) {
      console.log();
    } else {
      console.log(text + model.toString(newTokens));
    }
    return 0;
  } finally {
    await model.dispose();
  }
}
