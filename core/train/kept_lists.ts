/**
 * The kept-latent lists a sparse TopK-family step works from, sized for the micro-batch with room for ties, and
 * grown (the forward redone) when values tied at a threshold kept more than there was room for.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { submit } from "../gpu/pipelines.ts";
import type { SaeTrainingConfig } from "./sae_training_config.ts";
import { SparseTopK } from "./sparse_topk.ts";
import type { SparseLists, StepContext } from "./training_architecture.ts";

/** One trainer's kept-latent lists: the features' and AuxK's. */
export class KeptLists {
  readonly #gpu: Gpu;
  readonly #cfg: SaeTrainingConfig;
  readonly #perRow: number;
  #lists?: SparseLists;

  /**
   * Holds no buffers until a step asks for them.
   *
   * @param gpu The device.
   * @param cfg The SAE's settings (d_in, d_sae).
   * @param perRow Latents kept per row on average (k).
   */
  constructor(gpu: Gpu, cfg: SaeTrainingConfig, perRow: number) {
    this.#gpu = gpu;
    this.#cfg = cfg;
    this.#perRow = perRow;
  }

  /**
   * Lists for micro-batches of up to `rows` rows, with room for k per row (AuxK: d_in / 2) and ties, or at least
   * the capacities asked for.
   *
   * @example
   * ```ts ignore
   * const lists = kept.for(4096);
   * ```
   *
   * @param rows Rows per micro-batch.
   * @param main Least capacity of the features' list.
   * @param aux Least capacity of AuxK's list.
   * @returns The lists.
   */
  for(rows: number, main = 0, aux = 0): SparseLists {
    const { d_in: dIn, d_sae: dSae } = this.#cfg;
    const mainCap = Math.max(main, rows * Math.min(dSae, this.#perRow + 4));
    const auxCap = Math.max(aux, rows * Math.min(dSae, Math.floor(dIn / 2) + 4));
    const have = this.#lists;
    if (have && have.main.maxRows >= rows && have.main.capacity >= mainCap && have.aux.capacity >= auxCap) return have;
    this.destroy();
    const create = (capacity: number) => SparseTopK.create(this.#gpu, { rows, dSae, capacity });
    this.#lists = { main: create(mainCap), aux: create(auxCap) };
    return this.#lists;
  }

  /**
   * Submits the forward recorded so far and checks that the lists held every kept latent (values tied at a
   * threshold are all kept, so a row may keep more than k); if not, grows them and records `forward` again.
   *
   * @example
   * ```ts ignore
   * ctx.enc = await kept.fit(ctx, (c) => arch.forward(c, term), term !== undefined);
   * ```
   *
   * @param ctx The step, its lists in `sparse`; `enc` and `sparse` are replaced.
   * @param forward Records the forward (with the lists' selections) into `ctx.enc`.
   * @param withAux Whether the step selected AuxK's list too.
   * @returns The encoder to go on recording into.
   */
  async fit(ctx: StepContext, forward: (ctx: StepContext) => void, withAux: boolean): Promise<GPUCommandEncoder> {
    for (;;) {
      submit(this.#gpu, ctx.enc);
      const lists = ctx.sparse!;
      const [main, aux] = await Promise.all([lists.main.keptCount(), withAux ? lists.aux.keptCount() : 0]);
      ctx.enc = this.#gpu.device.createCommandEncoder({ label: "train step" });
      if (main <= lists.main.capacity && aux <= lists.aux.capacity) return ctx.enc;
      ctx.sparse = this.for(lists.main.maxRows, Math.ceil(main * 1.25), Math.ceil(aux * 1.25));
      forward(ctx);
    }
  }

  /** Frees the lists' buffers. */
  destroy(): void {
    this.#lists?.main.destroy();
    this.#lists?.aux.destroy();
    this.#lists = undefined;
  }
}
