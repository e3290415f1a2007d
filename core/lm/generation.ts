/**
 * Token generation (TransformerLens `generate`): greedy or sampled, with hooks on every step and an optional
 * key/value cache so each step after the first runs one position.
 *
 * @module
 */

import { LOGITS } from "./_transformer_graph.ts";
import { type Batch, type KvCache, toBatch, type TransformerForward } from "./_transformer_forward.ts";
import type { TransformerConfig } from "./transformer_config.ts";
import type { GenerateOptions, GenerateOutput } from "./run_options.ts";
import { sampleToken } from "./sampling.ts";
import { checkFiniteOutput } from "./finite_output.ts";
import { mulberry32 } from "../util/mulberry32.ts";

/**
 * Generates tokens after each row of `batch`.
 *
 * @example
 * ```ts ignore
 * const { tokens } = await generateTokens(forwarder, cfg, toBatch(prompt), { maxNewTokens: 5 }, decode);
 * ```
 *
 * @param forwarder The model's segmented forward.
 * @param cfg The model's configuration.
 * @param batch The prompts.
 * @param options Length, sampling, hooks, KV cache.
 * @param decode Token ids to text.
 * @returns Tokens and text.
 * @throws {RangeError} When prompt plus new tokens exceed n_ctx.
 */
export async function generateTokens(
  forwarder: TransformerForward,
  cfg: TransformerConfig,
  batch: Batch,
  options: GenerateOptions,
  decode: (ids: readonly number[]) => string,
): Promise<GenerateOutput> {
  const { maxNewTokens = 10, stopAtEos = true, useKvCache = true, fwdHooks = [], onToken } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new RangeError(`maxNewTokens must be a non-negative integer: got ${maxNewTokens}`);
  }
  if (batch.pos + maxNewTokens > cfg.nCtx) {
    throw new RangeError(
      `Cannot generate ${maxNewTokens} tokens after ${batch.pos}: the model's n_ctx is ${cfg.nCtx}`,
    );
  }
  const rng = mulberry32(options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]);
  const rows = batch.rows; // toBatch's own copies, extended in place
  const finished = rows.map(() => false);
  const eos = new Set(cfg.eosTokenIds);
  const pad = cfg.eosTokenIds[0];
  let kv: KvCache | undefined = useKvCache ? forwarder.emptyKv(batch.batch) : undefined;
  for (let step = 0; step < maxNewTokens; step++) {
    const start = kv && step > 0 ? rows[0].length - 1 : 0;
    const stepBatch = toBatch(rows.map((r) => r.slice(start)));
    const { env } = await forwarder.forward(stepBatch, { names: [], fwdHooks, kv, outputs: [LOGITS] });
    const logits = env.get(LOGITS)!.data as Float32Array;
    checkFiniteOutput(logits, "logits");
    if (kv) kv = forwarder.nextKv(env, kv.length + stepBatch.pos);
    const vocab = cfg.dVocab;
    const next = finished.map((done, b) => {
      if (done) return pad;
      const offset = (b * stepBatch.pos + stepBatch.pos - 1) * vocab;
      const token = sampleToken(logits.subarray(offset, offset + vocab), options, rng);
      if (stopAtEos && eos.has(token)) finished[b] = true;
      return token;
    });
    next.forEach((t, b) => rows[b].push(t));
    onToken?.(next);
    if (stopAtEos && finished.every(Boolean)) break;
  }
  return { tokens: rows, text: rows.map((r) => decode(r)) };
}
