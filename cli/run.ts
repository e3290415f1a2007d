/**
 * `sae run --model M [--cache HOOK]... TEXT`: run a model on a text, report next-token predictions and
 * loss, and save logits and cached activations under their hook names.
 *
 * @module
 */

import { writeSafetensors } from "../core/io/safetensors.ts";
import { loadModel, MODEL_FLAGS, MODEL_HELP, oneText } from "./_model.ts";
import { formatSeconds, logLine } from "./_progress.ts";
import { checkWritableFolder, parseFlags, positiveInt } from "./_usage.ts";

/** Help text of `sae run`. */
export const RUN_HELP = `Usage: sae run --model M [--cache HOOK]... [--out FILE.safetensors] [--json] TEXT

Run the model on TEXT (BOS prepended where the model's rule puts it) with TransformerLens's hook points; print the most likely next tokens
and the loss, and optionally save "tokens", "logits" and each cached hook under its name.

Options:
${MODEL_HELP}
  --cache HOOK     hook to cache, e.g. blocks.8.hook_resid_pre (repeatable)
  --top K          next-token predictions listed (default 5)
  --no-bos         do not prepend the model's BOS token
  --out FILE       write tokens, logits and the cached hooks to a safetensors file
  --json           print JSON: backend, tokens, str_tokens, loss, next_tokens, cache shapes
  -h, --help       show this help`;

/**
 * Runs `sae run`.
 *
 * @example
 * ```ts ignore
 * await run(["--model", "../shared/fixtures/gpt2-sotu-tiny", "--cache", "blocks.2.hook_resid_pre", "Hello"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...MODEL_FLAGS,
    cache: { type: "string", multiple: true },
    top: { type: "string" },
    "no-bos": { type: "boolean" },
    out: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const text = oneText(positionals, "run");
  const top = positiveInt(values.top, "--top") ?? 5;
  if (values.out) await checkWritableFolder(values.out);
  const model = await loadModel(values, "run");
  try {
    const names = values.cache ?? [];
    const tokens = model.toTokens(text, { prependBos: !values["no-bos"] });
    const begun = performance.now();
    logLine(`sae run: ${tokens.length} tokens${names.length ? `, caching ${names.join(", ")}` : ""}`);
    const { logits, cache, loss } = await model.runWithCache(tokens, {
      names,
      returnType: tokens.length > 1 ? "both" : "logits",
    });
    const seconds = (performance.now() - begun) / 1000;
    logLine(
      `sae run: done, ${tokens.length} tokens in ${formatSeconds(seconds)}, ${
        (tokens.length / Math.max(seconds, 1e-3)).toFixed(0)
      } tokens/s${loss !== undefined ? `: loss ${loss.toFixed(4)}` : ""}`,
    );
    const vocab = model.cfg.dVocab;
    const last = logits!.data.subarray((tokens.length - 1) * vocab);
    let max = -Infinity;
    for (const v of last) max = Math.max(max, v);
    let z = 0;
    for (const v of last) z += Math.exp(v - max);
    const next = Array.from(last.keys()).sort((a, b) => last[b] - last[a]).slice(0, top).map((id) => ({
      token: id,
      str: model.toString([id]),
      logprob: last[id] - max - Math.log(z),
    }));
    if (values.out) {
      await writeSafetensors(values.out, {
        tokens: { shape: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) },
        logits: logits!,
        ...Object.fromEntries(cache),
      }, {
        text,
        model: values.model!,
        processing: values["no-processing"] ? "none" : "transformer_lens_default",
        // sae encode --acts leaves BOS positions out by this id
        ...(model.tokenizer.bosTokenId !== null ? { bos_token_id: String(model.tokenizer.bosTokenId) } : {}),
      });
    }
    if (values.json) {
      console.log(JSON.stringify({
        backend: model.backend,
        tokens,
        str_tokens: model.toStrTokens(tokens),
        loss: loss ?? null,
        next_tokens: next,
        cache: Object.fromEntries([...cache].map(([n, t]) => [n, t.shape])),
      }));
      return 0;
    }
    console.log(`${tokens.length} tokens: ${model.toStrTokens(tokens).map((t) => JSON.stringify(t)).join(" ")}`);
    if (loss !== undefined) console.log(`loss ${loss.toFixed(4)} (mean next-token cross-entropy)`);
    console.log("next token:");
    for (const n of next) {
      console.log(`  ${JSON.stringify(n.str).padEnd(16)} ${(100 * Math.exp(n.logprob)).toFixed(2)}%`);
    }
    for (const [name, t] of cache) console.log(`cached ${name} [${t.shape.join(", ")}]`);
    if (values.out) console.log(`wrote tokens, logits${cache.size ? " and cached hooks" : ""} to ${values.out}`);
    return 0;
  } finally {
    await model.dispose();
  }
}
