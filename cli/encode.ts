/**
 * `sae encode [--sae S] [--model M] [TEXT]`: text → the model's activations at the SAE's hook → features per
 * token → reconstruction quality (SAELens tutorial 1); `--acts FILE` encodes stored activations instead.
 * With no arguments it runs on the embedded model and SAE.
 *
 * @module
 */

import { encodeText } from "../core/analysis/encode_text.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { encodeReportHtml } from "../core/report/encode_report.ts";
import { EMBEDDED_PROMPT } from "../core/embedded.ts";
import { ReconstructionSums } from "../core/eval/reconstruction.ts";
import { readSafetensors, toFloat32, toIntegers, writeSafetensors } from "../core/io/safetensors.ts";
import { SAE } from "../core/sae/sae.ts";
import { type FeatureActivation, topFeatures } from "../core/sae/top_features.ts";
import { parseDevice, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";
import { GPT2_BOS_TOKEN_ID } from "../core/lm/families/gpt2.ts";
import { nonEmptyTexts } from "./_model.ts";

/** Help text of `sae encode`. */
export const ENCODE_HELP = `Usage: sae encode [--sae S] [--model M] [--top K] [--out FILE] [--html FILE] [--json] [TEXT]
       sae encode --sae S --acts FILE.safetensors [--tensor NAME] [--top K] [--out FILE] [--json]

Run the SAE's model on TEXT (BOS prepended as the SAE was trained) to the SAE's hook, encode the activations
with the SAE (on --device: WebGPU or the CPU) and print, per token, its L0 and strongest features, the most active
feature over all positions, then the mean L0, sparsity, MSE and explained variance of the reconstruction
(BOS left out, as SAELens's evals do; explained variance needs two tokens after BOS, else n/a).
With no arguments: the embedded model and SAE on "${EMBEDDED_PROMPT}".
With --acts, encode stored activations [..., d_in] instead (no model). The same BOS rule holds where the
file says which positions are BOS: a "tokens" tensor of the activations' leading shape (as sae run --out
writes) whose sequences open with the BOS its metadata names as bos_token_id (GPT-2's ${GPT2_BOS_TOKEN_ID} where it names
none); without one every row is counted.

Options:
${SAE_HELP}
  --acts FILE      safetensors file holding activations to encode instead of a text
  --tensor NAME    tensor in FILE (default: its only floating-point tensor)
  --top K          features listed per token (default 5)
  --out FILE       write "features" [..., d_sae] and "recons" [..., d_in] to a safetensors file
  --html FILE      (with a TEXT) write a report: the tokens with their L0 and top features, the summary and
                   the histogram of L0 per token (BOS left out)
  --json           print JSON: tokens, str_tokens, l0 (per token, BOS included) and per-token features
                   [{"index", "activation"}], most_active {"index", "activation", "position"}, summary
                   (mean_l0, sparsity, mse, explained_variance: null where undefined), bos_excluded
  -h, --help       show this help`;

/** The largest activation over the kept positions, with its feature and position. */
interface MostActive {
  /** Feature index. */
  index: number;
  /** Its activation. */
  activation: number;
  /** The position (row) where it is reached. */
  position: number;
}

function mostActive(features: Float32Array, dSae: number, keep: (row: number) => boolean): MostActive | null {
  let best: MostActive | null = null;
  for (let i = 0; i < features.length; i++) {
    const v = features[i];
    if (v > 0 && (best === null || v > best.activation) && keep(Math.floor(i / dSae))) {
      best = { index: i % dSae, activation: v, position: Math.floor(i / dSae) };
    }
  }
  return best;
}

/** The summary line's explained variance: n/a, with the reason, where it is undefined. */
function explainedVarianceText(ev: number, rows: number): string {
  if (Number.isFinite(ev)) return `explained variance ${ev.toFixed(4)}`;
  return `explained variance n/a (${rows} token${
    rows === 1 ? "" : "s"
  } counted: it divides by the variance across tokens, 0 here)`;
}

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
    html: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(ENCODE_HELP);
    return 0;
  }
  const top = positiveInt(values.top, "--top") ?? 5;
  if (values.out) await checkWritableFolder(values.out);
  if (values.html !== undefined) await checkWritableFolder(values.html, "--html");
  if (values.acts === undefined) {
    if (values.tensor) throw new UsageError("--tensor goes with --acts");
    if (positionals.length > 1) {
      throw new UsageError(`sae encode takes one TEXT argument (quote it): got ${positionals.length}`);
    }
    const [text = EMBEDDED_PROMPT] = nonEmptyTexts(positionals, "encode");
    return await encodeFromText(values, text, top);
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `sae encode takes activations from --acts or a TEXT, not both: unexpected argument ${
        JSON.stringify(positionals[0])
      }`,
    );
  }
  if (values.model) throw new UsageError("--model goes with a TEXT: --acts activations need no model");
  if (values.html !== undefined) throw new UsageError("--html goes with a TEXT: it shows the text's tokens");
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

  const sae = await SAE.load(values.sae, { device: parseDevice(values.device) });
  if (top > sae.cfg.d_sae) {
    throw new UsageError(`--top must be at most d_sae (${sae.cfg.d_sae}): current value is ${top}`);
  }
  const { features, recon } = sae.encodeDecode(acts);
  const [f, r] = await Promise.all([features.read(), recon.read()]);
  const perToken = await topFeatures(features, top);
  const lead = entry.shape.slice(0, -1);
  // BOS positions, where a tokens tensor of the same leading shape names them (sae run --out writes one)
  const tokensEntry = file.tensors.get("tokens");
  const tokenIds = tokensEntry && tokensEntry.shape.join() === lead.join() && lead.length >= 1
    ? toIntegers(tokensEntry, `${values.acts}: tensor "tokens"`)
    : undefined;
  const sequence = lead.at(-1) ?? 1;
  const named = Number(file.metadata.bos_token_id);
  const bos = file.metadata.bos_token_id !== undefined && Number.isSafeInteger(named) ? named : GPT2_BOS_TOKEN_ID; // files written before sae run recorded it: GPT-2's
  const isBos = (row: number) => tokenIds !== undefined && row % sequence === 0 && tokenIds[row] === bos;
  const keep = (row: number) => !isBos(row);
  const sums = new ReconstructionSums(sae.cfg.d_in, sae.cfg.d_sae);
  const l0 = sums.add(acts.data, r, f, keep);
  const stats = sums.means();
  const bosExcluded = l0.some((_, row) => isBos(row));
  const peak = mostActive(f, sae.cfg.d_sae, keep);
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
      l0,
      mean_l0: stats.l0,
      mse: stats.mse,
      explained_variance: stats.explainedVariance,
      features: perToken,
      most_active: peak,
      bos_excluded: bosExcluded,
    }));
    return 0;
  }
  console.log(`${sae.cfg.architecture} SAE ${values.sae} on ${values.acts}:${name} [${entry.shape.join(", ")}]`);
  printTable(undefined, l0, perToken);
  if (peak) {
    console.log(
      `most active feature: ${peak.index} at ${peak.activation.toFixed(3)} (row ${peak.position}${
        bosExcluded ? ", BOS left out" : ""
      })`,
    );
  }
  console.log(
    `mean L0 ${stats.l0.toFixed(2)} (${(100 * stats.l0 / sae.cfg.d_sae).toFixed(2)}% of ${sae.cfg.d_sae}), ` +
      `MSE ${stats.mse.toPrecision(4)}, ${explainedVarianceText(stats.explainedVariance, stats.rows)}` +
      (bosExcluded
        ? " (BOS left out)"
        : tokenIds === undefined
        ? ` (every row counted: ${values.acts} holds no "tokens" tensor that marks BOS)`
        : ""),
  );
  if (values.out) console.log(`wrote features and recons to ${values.out}`);
  return 0;
}

async function encodeFromText(
  values: {
    sae?: string;
    model?: string;
    backend?: string;
    "no-processing"?: boolean;
    out?: string;
    html?: string;
    json?: boolean;
  },
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
    const peak = mostActive(enc.features.data, sae.cfg.d_sae, (row) => row >= enc.bosPositions);
    if (values.out) await writeSafetensors(values.out, { features: enc.features, recons: enc.recon });
    if (values.html !== undefined) {
      await writeFileAtomic(values.html, encodeReportHtml(enc, { sae: saeLabel, text, dSae: sae.cfg.d_sae }));
    }
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
        most_active: peak,
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
    if (peak) {
      console.log(
        `most active feature: ${peak.index} at ${peak.activation.toFixed(3)} on ${
          JSON.stringify(enc.strTokens[peak.position])
        } (position ${peak.position}${enc.bosPositions > 0 ? ", BOS left out" : ""})`,
      );
    }
    console.log(
      `mean L0 ${summary.meanL0.toFixed(2)} of ${sae.cfg.d_sae} (sparsity ${sparsity.toFixed(2)}%), ` +
        `MSE ${summary.mse.toPrecision(4)}, ${
          explainedVarianceText(summary.explainedVariance, enc.tokens.length - enc.bosPositions)
        }` +
        (enc.bosPositions > 0 ? " (BOS left out)" : ""),
    );
    if (values.out) console.log(`wrote features and recons to ${values.out}`);
    if (values.html !== undefined) console.log(`Report written to ${values.html}`);
    return 0;
  }, { verb: "encode" });
}
