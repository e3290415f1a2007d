/**
 * `sae encode [--sae S] [--model M] [TEXT]`: text → GPT-2 activations at the SAE's hook → features per
 * token → reconstruction quality (SAELens tutorial 1); `--acts FILE` encodes stored activations instead.
 * With no arguments it runs on the embedded model and SAE.
 *
 * @module
 */

import { encodeText } from "../core/analysis/encode_text.ts";
import { EMBEDDED_PROMPT } from "../core/embedded.ts";
import { reconstructionStats } from "../core/eval/reconstruction.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../core/io/safetensors.ts";
import { SAE } from "../core/sae/sae.ts";
import { type FeatureActivation, topFeatures } from "../core/sae/top_features.ts";
import { SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae encode`. */
export const ENCODE_HELP = `Usage: sae encode [--sae S] [--model M] [--top K] [--out FILE] [--json] [TEXT]
       sae encode --sae S --acts FILE.safetensors [--tensor NAME] [--top K] [--out FILE] [--json]

Run GPT-2 on TEXT (BOS prepended as the SAE was trained) to the SAE's hook, encode the activations
with the SAE on the GPU (WebGPU) and print, per token, its L0 and strongest features, then the mean
L0, sparsity, MSE and explained variance of the reconstruction (BOS left out, as SAELens's evals do).
With no arguments: the embedded model and SAE on "${EMBEDDED_PROMPT}".
With --acts, encode stored activations [..., d_in] instead (no model; every row counted).

Options:
${SAE_HELP}
  --acts FILE      safetensors file holding activations to encode instead of a text
  --tensor NAME    tensor in FILE (default: its only floating-point tensor)
  --top K          features listed per token (default 5)
  --out FILE       write "features" [..., d_sae] and "recons" [..., d_in] to a safetensors file
  --json           print JSON: tokens, str_tokens, l0 and per-token features [{"index", "activation"}], summary
  -h, --help       show this help`;

function printTable(tokens: string[] | undefined, l0: number[], top: FeatureActivation[][]): void {
  const width = tokens ? Math.min(16, Math.max(5, ...tokens.map((t) => JSON.stringify(t).length))) : 0;
  console.log(`  pos ${tokens ? "token".padEnd(width) + " " : ""}  L0  top features (index:activation)`);
  top.forEach((row, t) => {
    const token = tokens ? JSON.stringify(tokens[t]).slice(0, width).padEnd(width) + " " : "";
    const list = row.map((x) => `${x.index}:${x.activation.toFixed(3)}`).join("  ");
    console.log(`${String(t).padStart(5)} ${token}${String(l0[t]).padStart(4)}  ${list}`);
  });
}

/**
 * Runs `sae encode`.
 *
 * @example Encode the reference activations
 * ```ts ignore
 * await encode(["--sae", "sae-standard", "--acts", "reference-dev.safetensors", "--tensor", "resid_pre", "--json"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function encode(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    acts: { type: "string" },
    tensor: { type: "string" },
    top: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(ENCODE_HELP);
    return 0;
  }
  const top = positiveInt(values.top, "--top") ?? 5;
  if (values.out) await checkWritableFolder(values.out);
  if (values.acts === undefined) {
    if (values.tensor) throw new UsageError("--tensor goes with --acts");
    if (positionals.length > 1) {
      throw new UsageError(`sae encode takes one TEXT argument (quote it): got ${positionals.length}`);
    }
    return await encodeFromText(values, positionals[0] ?? EMBEDDED_PROMPT, top);
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `sae encode takes activations from --acts or a TEXT, not both: unexpected argument ${
        JSON.stringify(positionals[0])
      }`,
    );
  }
  if (values.model) throw new UsageError("--model goes with a TEXT: --acts activations need no model");
  if (!values.sae) throw new UsageError("sae encode --acts needs --sae S");

  const file = await readSafetensors(values.acts);
  const floating = [...file.tensors].filter(([, t]) => ["F32", "F16", "BF16", "F64"].includes(t.dtype)).map(([n]) => n);
  const name = values.tensor ?? (floating.length === 1 ? floating[0] : undefined);
  if (name === undefined) {
    throw new UsageError(
      `${values.acts} holds ${floating.length} floating-point tensors (${
        floating.join(", ")
      }): choose one with --tensor`,
    );
  }
  const entry = file.tensors.get(name);
  if (!entry) {
    throw new TypeError(`${values.acts}: tensor "${name}" is missing: it holds ${[...file.tensors.keys()].join(", ")}`);
  }
  const acts = { shape: entry.shape, data: toFloat32(entry, `${values.acts}: tensor "${name}"`) };
  const nonFinite = acts.data.reduce((n, v) => Number.isFinite(v) ? n : n + 1, 0);
  if (nonFinite > 0) {
    // One NaN or infinity would print an MSE of Infinity and exit 0.
    throw new RangeError(`${values.acts}: tensor "${name}" holds ${nonFinite} non-finite values (NaN or infinity)`);
  }

  const sae = await SAE.load(values.sae);
  if (top > sae.cfg.d_sae) {
    throw new UsageError(`--top must be at most d_sae (${sae.cfg.d_sae}): current value is ${top}`);
  }
  const { features, recon } = sae.encodeDecode(acts);
  const [f, r] = await Promise.all([features.read(), recon.read()]);
  const perToken = await topFeatures(sae.gpu, features, top);
  const stats = reconstructionStats(acts.data, r, f, sae.cfg.d_in, sae.cfg.d_sae);
  const lead = entry.shape.slice(0, -1);
  if (values.out) {
    await writeSafetensors(values.out, {
      features: { shape: [...lead, sae.cfg.d_sae], data: f },
      recons: { shape: [...lead, sae.cfg.d_in], data: r },
    });
  }
  if (values.json) {
    console.log(JSON.stringify({
      tensor: name,
      shape: entry.shape,
      l0: stats.l0,
      mean_l0: stats.meanL0,
      mse: stats.mse,
      explained_variance: stats.explainedVariance,
      features: perToken,
    }));
    return 0;
  }
  console.log(`${sae.cfg.architecture} SAE ${values.sae} on ${values.acts}:${name} [${entry.shape.join(", ")}]`);
  printTable(undefined, stats.l0, perToken);
  console.log(
    `mean L0 ${stats.meanL0.toFixed(2)} (${(100 * stats.meanL0 / sae.cfg.d_sae).toFixed(2)}% of ${sae.cfg.d_sae}), ` +
      `MSE ${stats.mse.toPrecision(4)}, explained variance ${stats.explainedVariance.toFixed(4)}`,
  );
  if (values.out) console.log(`wrote features and recons to ${values.out}`);
  return 0;
}

async function encodeFromText(
  values: { sae?: string; model?: string; backend?: string; "no-processing"?: boolean; out?: string; json?: boolean },
  text: string,
  top: number,
): Promise<number> {
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    if (top > sae.cfg.d_sae) {
      throw new UsageError(`--top must be at most d_sae (${sae.cfg.d_sae}): current value is ${top}`);
    }
    const enc = await encodeText(model, sae, text, { top });
    const { summary } = enc;
    const sparsity = 100 * (1 - summary.meanL0 / sae.cfg.d_sae);
    if (values.out) await writeSafetensors(values.out, { features: enc.features, recons: enc.recon });
    if (values.json) {
      console.log(JSON.stringify({
        sae: saeLabel,
        hook_name: enc.site.hookName,
        tokens: enc.tokens,
        str_tokens: enc.strTokens,
        l0: enc.l0,
        features: enc.top,
        mean_l0: summary.meanL0,
        sparsity,
        mse: summary.mse,
        explained_variance: summary.explainedVariance,
        bos_excluded: enc.bosPositions > 0,
      }));
      return 0;
    }
    console.log(
      `${sae.cfg.architecture} SAE ${saeLabel} (${sae.cfg.d_sae} features) at ${enc.site.hookName} on ${
        JSON.stringify(text)
      }`,
    );
    printTable(enc.strTokens, enc.l0, enc.top);
    console.log(
      `mean L0 ${summary.meanL0.toFixed(2)} of ${sae.cfg.d_sae} (sparsity ${sparsity.toFixed(2)}%), ` +
        `MSE ${summary.mse.toPrecision(4)}, explained variance ${summary.explainedVariance.toFixed(4)}` +
        (enc.bosPositions > 0 ? " (BOS left out)" : ""),
    );
    if (values.out) console.log(`wrote features and recons to ${values.out}`);
    return 0;
  });
}
