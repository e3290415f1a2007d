/**
 * The part of a training step every architecture shares: decoding the features, the reconstruction's
 * MSE (one term per Matryoshka level) and its gradients to the features, the decoder and b_dec.
 *
 * @module
 */

import type { StepContext } from "./training_architecture.ts";

/** How a step decodes the features and takes their gradients: dense products, or the kept-latent lists. */
interface Decoder {
  /** recon = the first `width` latents decoded, plus b_dec. */
  decode(width: number): void;
  /** From ∂loss/∂x̂ `dSum`: ∂/∂f of the latents in [start, end) and their share of ∂W_dec. */
  backward(dSum: GPUBuffer, start: number, end: number): void;
}

/**
 * Records the reconstruction of each level, its MSE term and gradient, ∂W_dec and ∂loss/∂f by suffix sums over the
 * levels (widths increase, so `recon` ends as the full reconstruction), and b_dec's gradient. With the step's sparse
 * lists (TopK family) each level is decoded from the kept latents and ∂/∂f is their ∂value; otherwise by dense
 * products over every latent.
 *
 * @example
 * ```ts ignore
 * recordReconstruction(ctx, [cfg.d_sae], [levelGrad], dRecon);
 * ```
 *
 * @param ctx The step.
 * @param widths The levels' prefix widths, the last d_sae.
 * @param levelGrads ∂loss/∂x̂ of each level [rows, d_in].
 * @param dRecon Their sum from the widest down (unused with one level).
 */
export function recordReconstruction(
  ctx: StepContext,
  widths: number[],
  levelGrads: GPUBuffer[],
  dRecon: GPUBuffer,
): void {
  const { enc, rows, s, cfg, kernels: k } = ctx, { d_in: dIn } = cfg;
  const b_dec = ctx.param("b_dec");
  const narrow = { count: rows * dIn, cols: dIn };
  const decoder = ctx.sparse ? sparseDecoder(ctx) : denseDecoder(ctx);
  widths.forEach((w, l) => {
    decoder.decode(w);
    const last = l === widths.length - 1;
    k.residual(enc, "mse", { rows, scale: 2 / ctx.batch, slot: last ? 0 : 2 + l, slots: ctx.slots }, {
      out: s.recon,
      x: s.x,
      grad: levelGrads[l],
      stats: ctx.stats,
    });
  });
  const dSum = widths.length === 1 ? levelGrads[0] : dRecon;
  if (widths.length > 1) enc.copyBufferToBuffer(levelGrads[widths.length - 1], 0, dSum, 0, narrow.count * 4);
  for (let l = widths.length - 1; l >= 0; l--) {
    decoder.backward(dSum, l === 0 ? 0 : widths[l - 1], widths[l]);
    if (l > 0) k.addBias(enc, dSum, levelGrads[l - 1], { count: narrow.count, cols: narrow.count });
  }
  k.columnSum(enc, dSum, b_dec.grad, { rows, cols: dIn });
}

/** Dense products over every latent (through W_decᵀ, made once per step). */
function denseDecoder(ctx: StepContext): Decoder {
  const { enc, rows, s, cfg, kernels: k } = ctx, { d_in: dIn, d_sae: dSae } = cfg;
  const W_dec = ctx.param("W_dec"), b_dec = ctx.param("b_dec");
  return {
    decode(w) {
      k.matmul(enc, { a: s.acts, b: W_dec.value, c: s.recon }, {
        m: rows,
        n: dIn,
        k: w,
        as0: dSae,
        as1: 1,
        ldb: dIn,
        ldc: dIn,
      });
      k.addBias(enc, s.recon, b_dec.value, { count: rows * dIn, cols: dIn });
    },
    backward(dSum, start, end) {
      const n = end - start;
      k.matmul(enc, { a: dSum, b: ctx.wDecT, c: s.dActs }, {
        m: rows,
        n,
        k: dIn,
        as0: dIn,
        as1: 1,
        bOff: start,
        ldb: dSae,
        cOff: start,
        ldc: dSae,
      });
      k.matmul(enc, { a: s.acts, b: dSum, c: W_dec.grad }, {
        m: n,
        n: dIn,
        k: rows,
        aOff: start,
        as0: 1,
        as1: dSae,
        ldb: dIn,
        cOff: start * dIn,
        ldc: dIn,
        acc: true,
      });
    },
  };
}

/** The kept-latent lists: ∂/∂f of each kept latent is its ∂value, ∂pre for the TopK family. */
function sparseDecoder(ctx: StepContext): Decoder {
  const { enc, s, cfg } = ctx, { d_in: dIn } = cfg, main = ctx.sparse!.main;
  const W_dec = ctx.param("W_dec"), b_dec = ctx.param("b_dec");
  return {
    decode: (width) => main.decode(enc, { wDec: W_dec.value, bDec: b_dec.value, out: s.recon, dIn, width }),
    backward(dSum, start, end) {
      main.valueGrad(enc, { dOut: dSum, wDec: W_dec.value, dIn, start, end });
      main.decoderGrad(enc, { dOut: dSum, wDecGrad: W_dec.grad, dIn, start, end });
    },
  };
}
