/**
 * `sae encode --sae PATH --acts FILE`: feature activations of stored activations.
 *
 * @module
 */

import { reconstructionStats } from "../core/eval/reconstruction.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../core/io/safetensors.ts";
import { SAE } from "../core/sae/sae.ts";
import { topFeatures } from "../core/sae/top_features.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae encode`. */
export const ENCODE_HELP =
  `Usage: sae encode --sae PATH --acts FILE.safetensors [--tensor NAME] [--top K] [--out FILE] [--json]

Encode stored activations [..., d_in] with an SAE on the GPU (WebGPU) and report, per token, the
strongest features, plus L0, MSE and explained variance of the reconstruction.

Options:
  --sae PATH      SAE folder (SAELens, sparsify or Gemma Scope)
  --acts FILE     safetensors file holding the activations
  --tensor NAME   tensor in FILE (default: its only floating-point tensor)
  --top K         features listed per token (default 5)
  --out FILE      write "features" [..., d_sae] and "recons" [..., d_in] to a safetensors file
  --json          print JSON: tensor, shape, l0 and per-token features [{"index", "activation"}]
  -h, --help      show this help`;

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
    sae: { type: "string" },
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
  if (positionals.length > 0) {
    throw new UsageError(
      `sae encode takes activations from --acts; unexpected argument ${JSON.stringify(positionals[0])}`,
    );
  }
  if (!values.sae) throw new UsageError("sae encode needs --sae PATH");
  if (!values.acts) throw new UsageError("sae encode needs --acts FILE.safetensors");
  const top = positiveInt(values.top, "--top") ?? 5;
  if (values.out) await checkWritableFolder(values.out);

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
  console.log("token   L0  top features (index:activation)");
  perToken.forEach((row, t) => {
    const list = row.map((x) => `${x.index}:${x.activation.toFixed(3)}`).join("  ");
    console.log(`${String(t).padStart(5)} ${String(stats.l0[t]).padStart(4)}  ${list}`);
  });
  console.log(
    `mean L0 ${stats.meanL0.toFixed(2)} (${(100 * stats.meanL0 / sae.cfg.d_sae).toFixed(2)}% of ${sae.cfg.d_sae}), ` +
      `MSE ${stats.mse.toPrecision(4)}, explained variance ${stats.explainedVariance.toFixed(4)}`,
  );
  if (values.out) console.log(`wrote features and recons to ${values.out}`);
  return 0;
}
