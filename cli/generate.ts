/**
 * `sae generate --model M TEXT`: continue a text with GPT-2 (KV cache, greedy or sampled).
 *
 * @module
 */

import { loadModel, MODEL_FLAGS, MODEL_HELP, oneText } from "./_model.ts";
import { parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae generate`. */
export const GENERATE_HELP = `Usage: sae generate --model M [--max-new-tokens N] [--temperature T] [--seed S] TEXT

Continue TEXT (BOS prepended) with GPT-2, one position per step through a key/value cache.

Options:
${MODEL_HELP}
  --max-new-tokens N  tokens to add (default 20)
  --temperature T     sampling temperature; 0 is greedy (default 1)
  --top-k K           sample among the K most likely tokens
  --top-p P           sample among the most likely tokens reaching probability P
  --greedy            always take the most likely token
  --seed S            seed of the sampler (reproducible output)
  --no-stop-at-eos    keep going after <|endoftext|>
  --json              print JSON: tokens, text, new_text
  -h, --help          show this help`;

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number: current value is ${value}`);
  return n;
}

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
    "max-new-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    greedy: { type: "boolean" },
    seed: { type: "string" },
    "no-stop-at-eos": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(GENERATE_HELP);
    return 0;
  }
  const text = oneText(positionals, "generate");
  const options = {
    maxNewTokens: positiveInt(values["max-new-tokens"], "--max-new-tokens") ?? 20,
    temperature: number(values.temperature, "--temperature"),
    topK: positiveInt(values["top-k"], "--top-k"),
    topP: number(values["top-p"], "--top-p"),
    doSample: !values.greedy,
    seed: number(values.seed, "--seed"),
    stopAtEos: !values["no-stop-at-eos"],
  };
  if (options.temperature !== undefined && options.temperature < 0) {
    throw new UsageError(`--temperature must be >= 0: current value is ${options.temperature}`);
  }
  if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) {
    throw new UsageError(`--top-p must be in (0, 1]: current value is ${options.topP}`);
  }
  const model = await loadModel(values);
  try {
    const prompt = model.toTokens(text);
    const stream = !values.json && Deno.stdout.isTerminal();
    if (stream) await Deno.stdout.write(new TextEncoder().encode(text));
    const out = await model.generate(prompt, {
      ...options,
      onToken: stream ? (t) => Deno.stdout.write(new TextEncoder().encode(model.toString(t))) : undefined,
    });
    const newTokens = out.tokens[0].slice(prompt.length);
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
