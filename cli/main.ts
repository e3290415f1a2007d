/**
 * The `sae` command line: one verb per file in this folder, each parsing flags and calling `core/`.
 *
 * @example Run a verb from code
 * ```ts ignore
 * import { main } from "./main.ts";
 * const code = await main(["info", "../shared/fixtures/sae-standard"]);
 * ```
 *
 * @module
 */

import { ablate } from "./ablate.ts";
import { attribute } from "./attribute.ts";
import { compare } from "./compare.ts";
import { dashboard } from "./dashboard.ts";
import { encode } from "./encode.ts";
import { evalVerb } from "./eval.ts";
import { feature } from "./feature.ts";
import { generate } from "./generate.ts";
import { info } from "./info.ts";
import { pull } from "./pull.ts";
import { releases } from "./releases.ts";
import { run } from "./run.ts";
import { serve } from "./serve.ts";
import { steer } from "./steer.ts";
import { testPromptVerb } from "./test_prompt.ts";
import { train } from "./train.ts";
import { UsageError } from "./_usage.ts";

const VERBS: Record<string, { run: (args: string[]) => Promise<number>; summary: string }> = {
  encode: { run: encode, summary: "text → features per token and reconstruction quality (no arguments: the demo)" },
  feature: { run: feature, summary: "one feature's peak on each of several texts" },
  attribute: { run: attribute, summary: "features pushing a target token's logit" },
  steer: { run: steer, summary: "generate with a feature's direction added, next to without" },
  ablate: { run: ablate, summary: "P(target) with features zeroed" },
  "test-prompt": {
    run: testPromptVerb,
    summary: "an answer's rank, logit and probability and the top next tokens, without and with the SAE",
  },
  compare: { run: compare, summary: "features active in every prompt" },
  eval: { run: evalVerb, summary: "L0, explained variance, CE loss score, KL... of an SAE on a dataset" },
  dashboard: { run: dashboard, summary: "feature pages: top examples, intervals, histograms, logits (HTML or JSON)" },
  serve: { run: serve, summary: "a local web page to explore the SAE: encode as you type, dashboards, steer, ablate" },
  train: { run: train, summary: "train SAEs of every architecture (SAELens config names; checkpoints, resume)" },
  releases: { run: releases, summary: "list pretrained SAE releases" },
  pull: { run: pull, summary: "download a pretrained SAE into the Hugging Face cache" },
  info: { run: info, summary: "describe an SAE folder (none: the embedded SAE), expansion factor included" },
  run: { run, summary: "run a model on a text; cache activations at hook points" },
  generate: { run: generate, summary: "continue a text with a model" },
};

/** Top-level help. */
export const HELP = `sae: sparse autoencoders on WebGPU or the CPU (--device auto|webgpu|cpu)

Usage: sae <command> [options]

Commands:
${Object.entries(VERBS).map(([name, v]) => `  ${name.padEnd(13)}${v.summary}`).join("\n")}

Run "sae <command> --help" for a command's options.
Long commands report progress on stderr: a bar on a terminal; in a log (nohup, CI, a notebook), a start
line with the device, a line every few seconds with done/total, tokens/s and ETA, and a summary.
Set SAE_DEBUG=1 to print stack traces of errors.`;

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code: 0 on success,
 * 1 on failure (the message printed as `error: ...`), 2 on bad usage.
 *
 * @example Print help
 * ```ts ignore
 * await main(["--help"]); // 0
 * ```
 *
 * @param args Command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    console.log(HELP);
    return verb === undefined ? 2 : 0;
  }
  const command = VERBS[verb];
  if (!command) {
    console.error(`error: unknown command ${JSON.stringify(verb)}: expected one of ${Object.keys(VERBS).join(", ")}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message}`);
    if (error instanceof UsageError) {
      console.error(`Run "sae ${verb} --help" for usage.`);
      return 2;
    }
    if (Deno.env.get("SAE_DEBUG") && error instanceof Error) console.error(error.stack);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
