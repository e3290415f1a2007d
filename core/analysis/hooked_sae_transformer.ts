/**
 * SAELens's `HookedSAETransformer` over {@linkcode HookedTransformer}: attach SAEs at their hooks and run the
 * model with them spliced in, caching and hooking the SAEs' own hook points.
 *
 * SAELens names, in this API's camelCase:
 *
 * | SAELens                            | here                                         |
 * | ---------------------------------- | -------------------------------------------- |
 * | `add_sae(sae, use_error_term)`     | `addSae(sae, { useErrorTerm })`              |
 * | `reset_saes(act_names)`            | `resetSaes(actNames)`                        |
 * | `acts_to_saes`                     | `actsToSaes`                                 |
 * | `model(tokens)` with SAEs attached | `run(input)`                                 |
 * | `run_with_cache`, `run_with_hooks` | `runWithCache`, `runWithHooks`               |
 * | `run_with_saes(tokens, saes)`      | `runWithSaes(input, saes, options)`          |
 * | `run_with_cache_with_saes`         | `runWithCacheWithSaes(input, saes, options)` |
 * | `run_with_hooks_with_saes`         | `runWithHooksWithSaes(input, saes, options)` |
 * | `use_error_term` (default False)   | `useErrorTerm` (default false)               |
 *
 * An SAE at hook `H` has SAELens's hook points `H.hook_sae_input` [batch, pos, d_in],
 * `H.hook_sae_acts_pre` and `H.hook_sae_acts_post` [batch, pos, d_sae], `H.hook_sae_recons`
 * [batch, pos, d_in], `H.hook_sae_error` and `H.hook_sae_output` (shaped like the activation the SAE
 * replaces: [batch, pos, n_heads, d_head] at hook_z, [batch, pos, d_head] for a per-head SAE). Hooks on
 * them take effect downstream, as in SAELens's SAE: acts_post is recomputed from an edited acts_pre,
 * recons from edited acts_post, and the output is recons (+ error). The error term is
 * x − decode(encode(x)) of the input before any hook, as SAELens computes it with hooks disabled.
 * Differences: hooks on `H` itself run before the SAE (they edit what it reads), and `H`'s cache entry
 * is the activation after it (what the model continues with); `hook_sae_recons` is in the activation's
 * space (SAELens's is before undoing `constant_norm_rescale`/`layer_norm`), so input = recons + error
 * holds for every normalization; per-head SAEs (`hook_head_index`) read and write their head's slice.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import { HookedTransformer, type LoadOptions } from "../lm/hooked_transformer.ts";
import type { HookFn } from "../lm/hook_fn.ts";
import type {
  CachedOutput,
  GenerateOptions,
  GenerateOutput,
  ModelInput,
  ModelOutput,
  ResidualOutput,
  ReturnType,
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
} from "../lm/run_options.ts";
import { hookReached } from "../lm/hook_points.ts";
import type { SAE } from "../sae/sae.ts";
import { closeMatches } from "../util/close_matches.ts";
import { saeSite } from "../sae/sae_on_model.ts";
import { type AttachedSae, spliceSae } from "./_splice_sae.ts";
import { SAE_HOOK_POINTS, type SaeHookPoint } from "./sae_hook_points.ts";

/** Options of {@linkcode HookedSaeTransformer.addSae}. */
export interface AddSaeOptions {
  /**
   * Output recons + (x − clean recons), so the model runs as without the SAE unless its hook points
   * are edited (SAELens `use_error_term`).
   * @default {false}
   */
  useErrorTerm?: boolean;
}

/** Options of the `…WithSaes` runs. */
export interface WithSaesOptions {
  /**
   * Error term of the SAEs given to this run (SAELens `use_error_term`).
   * @default {the setting the SAE was attached with, else false}
   */
  useErrorTerm?: boolean;
}

type Hooks = readonly (readonly [string, HookFn])[];

/**
 * A GPT-2 that runs with SAEs spliced in at their hooks (SAELens `HookedSAETransformer`).
 *
 * @example Ablate a feature through its hook point, the model otherwise unchanged
 * ```ts ignore
 * import { HookedSaeTransformer } from "./hooked_sae_transformer.ts";
 * const model = await HookedSaeTransformer.load("../shared/fixtures/gpt2-sotu-tiny");
 * const sae = await SAE.load("../shared/fixtures/sae-standard"); // blocks.2.hook_resid_pre
 * const { logits } = await model.runWithHooksWithSaes("The nation", [sae], {
 *   useErrorTerm: true,
 *   fwdHooks: [["blocks.2.hook_resid_pre.hook_sae_acts_post", (f) => {
 *     for (let i = 584; i < f.data.length; i += 1024) f.data[i] = 0;
 *   }]],
 * });
 * ```
 *
 * @example Cache the SAE's hook points
 * ```ts ignore
 * const { cache } = await model.runWithCacheWithSaes("The nation", [sae]);
 * console.log(cache.get("blocks.2.hook_resid_pre.hook_sae_acts_post")!.shape); // [1, 3, 1024]
 * ```
 */
export class HookedSaeTransformer {
  /** The model the SAEs are spliced into. */
  readonly model: HookedTransformer;
  readonly #attached = new Map<string, AttachedSae>();

  /**
   * Wraps a model; no SAE is attached.
   *
   * @param model The model.
   */
  constructor(model: HookedTransformer) {
    this.model = model;
  }

  /**
   * Loads a model as {@linkcode HookedTransformer.load} does and wraps it.
   *
   * @example
   * ```ts ignore
   * const model = await HookedSaeTransformer.load("gpt2");
   * ```
   *
   * @param source A model folder, alias or Hub repo id.
   * @param options Processing and backend.
   * @returns The wrapped model.
   */
  static async load(source: string, options: LoadOptions = {}): Promise<HookedSaeTransformer> {
    return new HookedSaeTransformer(await HookedTransformer.load(source, options));
  }

  /** The attached SAEs by hook name (SAELens `acts_to_saes`). */
  get actsToSaes(): ReadonlyMap<string, SAE> {
    return new Map([...this.#attached].map(([name, a]) => [name, a.sae]));
  }

  /**
   * Attaches an SAE at its hook (`metadata.hook_name`) until {@linkcode resetSaes}, replacing one already
   * there (SAELens `add_sae`).
   *
   * @example
   * ```ts ignore
   * model.addSae(sae, { useErrorTerm: true });
   * ```
   *
   * @param sae The SAE.
   * @param options `useErrorTerm`.
   * @throws {TypeError} When the SAE does not fit the model (hook missing, widths differ).
   */
  addSae(sae: SAE, options: AddSaeOptions = {}): void {
    const site = saeSite(this.model, sae);
    this.#attached.set(site.hookName, { sae, site, useErrorTerm: options.useErrorTerm ?? false });
  }

  /**
   * Detaches SAEs: those at `actNames`, or all (SAELens `reset_saes`).
   *
   * @example
   * ```ts ignore
   * model.resetSaes(); // the clean model again
   * ```
   *
   * @param actNames Hook names whose SAEs to detach. @default {every attached SAE}
   * @throws {RangeError} When no SAE is attached at a name.
   */
  resetSaes(actNames?: string | readonly string[]): void {
    const names = typeof actNames === "string" ? [actNames] : actNames ?? [...this.#attached.keys()];
    for (const name of names) {
      if (!this.#attached.has(name)) {
        throw new RangeError(
          `No SAE is attached at ${name}: attached are ${[...this.#attached.keys()].join(", ") || "none"}`,
        );
      }
    }
    for (const name of names) this.#attached.delete(name);
  }

  /**
   * Runs the model with the attached SAEs (SAELens `model(tokens)`).
   *
   * @example
   * ```ts ignore
   * const { loss } = await model.run("The nation", { returnType: "loss" });
   * ```
   *
   * @param input Text or token ids.
   * @param options `returnType` ("logits", the default, "loss", "both" or "none", as TransformerLens's
   *   `return_type`), `lossPerToken`.
   * @returns Logits and/or loss, as `returnType` asks.
   */
  run<R extends ReturnType = "logits">(input: ModelInput, options: RunOptions<R> = {}): Promise<ModelOutput<R>> {
    return this.runWithHooks(input, { ...options, fwdHooks: [] });
  }

  /**
   * Runs the model with the attached SAEs and hooks, on model or SAE hook points (TransformerLens
   * `run_with_hooks`).
   *
   * @example
   * ```ts ignore
   * await model.runWithHooks(tokens, { fwdHooks: [["blocks.2.hook_resid_pre.hook_sae_acts_post", fn]] });
   * ```
   *
   * @param input Text or token ids.
   * @param options `fwdHooks`, `returnType`, `lossPerToken`.
   * @returns Logits and/or loss.
   * @throws {RangeError} On an unknown hook name.
   */
  async runWithHooks<R extends ReturnType = "logits">(
    input: ModelInput,
    options: RunWithHooksOptions<R>,
  ): Promise<ModelOutput<R>> {
    const { cache: _, ...out } = await this.#run(input, this.#attached, { ...options, names: [] });
    return out as ModelOutput<R>;
  }

  /**
   * Runs the model with the attached SAEs and returns activations, the SAEs' hook points included
   * (TransformerLens `run_with_cache`).
   *
   * @example
   * ```ts ignore
   * const { cache } = await model.runWithCache(tokens);
   * ```
   *
   * @param input Text or token ids.
   * @param options `names` (model and SAE hook points), `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   * @throws {RangeError} On an unknown hook name or one `stopAtLayer` does not reach.
   */
  runWithCache(input: ModelInput, options: RunWithCacheOptions & { stopAtLayer: number }): Promise<ResidualOutput>;
  /**
   * {@linkcode runWithCache} without `stopAtLayer`: logits (the default) and/or loss as `returnType` asks.
   *
   * @param input Text or token ids.
   * @param options `names` (model and SAE hook points), `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCache<R extends ReturnType = "logits">(
    input: ModelInput,
    options?: RunWithCacheOptions<R> & { stopAtLayer?: undefined },
  ): Promise<CachedOutput<R>>;
  /**
   * {@linkcode runWithCache} with options known only at run time.
   *
   * @param input Text or token ids.
   * @param options `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCache(input: ModelInput, options?: RunWithCacheOptions): Promise<CachedOutput>;
  runWithCache(input: ModelInput, options: RunWithCacheOptions = {}): Promise<CachedOutput> {
    return this.#run(input, this.#attached, options);
  }

  /**
   * Runs with `saes` attached for this run only, over the attached ones (SAELens `run_with_saes`).
   *
   * @example Spliced logits without and with the error term
   * ```ts ignore
   * const spliced = await model.runWithSaes(tokens, [sae]);
   * const clean = await model.runWithSaes(tokens, [sae], { useErrorTerm: true });
   * ```
   *
   * @param input Text or token ids.
   * @param saes SAEs to attach for the run.
   * @param options `useErrorTerm`, `returnType`, `lossPerToken`.
   * @returns Logits and/or loss.
   * @throws {TypeError} When an SAE does not fit the model.
   */
  async runWithSaes<R extends ReturnType = "logits">(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options: RunOptions<R> & WithSaesOptions = {},
  ): Promise<ModelOutput<R>> {
    const { cache: _, ...out } = await this.#run(input, this.#withSaes(saes, options), { ...options, names: [] });
    return out as ModelOutput<R>;
  }

  /**
   * {@linkcode runWithCache} with `saes` attached for this run only (SAELens `run_with_cache_with_saes`).
   *
   * @example
   * ```ts ignore
   * const { cache } = await model.runWithCacheWithSaes(tokens, [sae], { useErrorTerm: true });
   * const f = cache.get("blocks.2.hook_resid_pre.hook_sae_acts_post");
   * ```
   *
   * @param input Text or token ids.
   * @param saes SAEs to attach for the run.
   * @param options `useErrorTerm`, `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   * @throws {TypeError} When an SAE does not fit the model.
   * @throws {RangeError} On an unknown hook name or one `stopAtLayer` does not reach.
   */
  runWithCacheWithSaes(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options: RunWithCacheOptions & WithSaesOptions & { stopAtLayer: number },
  ): Promise<ResidualOutput>;
  /**
   * {@linkcode runWithCacheWithSaes} without `stopAtLayer`: logits (the default) and/or loss as `returnType` asks.
   *
   * @param input Text or token ids.
   * @param saes SAEs to attach for the run.
   * @param options `useErrorTerm`, `names`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCacheWithSaes<R extends ReturnType = "logits">(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options?: RunWithCacheOptions<R> & WithSaesOptions & { stopAtLayer?: undefined },
  ): Promise<CachedOutput<R>>;
  /**
   * {@linkcode runWithCacheWithSaes} with options known only at run time.
   *
   * @param input Text or token ids.
   * @param saes SAEs to attach for the run.
   * @param options `useErrorTerm`, `names`, `stopAtLayer`, `fwdHooks`, `returnType`.
   * @returns Outputs and the cache.
   */
  runWithCacheWithSaes(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options?: RunWithCacheOptions & WithSaesOptions,
  ): Promise<CachedOutput>;
  runWithCacheWithSaes(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options: RunWithCacheOptions & WithSaesOptions = {},
  ): Promise<CachedOutput> {
    return this.#run(input, this.#withSaes(saes, options), options);
  }

  /**
   * {@linkcode runWithHooks} with `saes` attached for this run only (SAELens `run_with_hooks_with_saes`).
   *
   * @example
   * ```ts ignore
   * await model.runWithHooksWithSaes(tokens, [sae], { fwdHooks: [["blocks.2.hook_resid_pre.hook_sae_acts_pre", fn]] });
   * ```
   *
   * @param input Text or token ids.
   * @param saes SAEs to attach for the run.
   * @param options `fwdHooks`, `useErrorTerm`, `returnType`, `lossPerToken`.
   * @returns Logits and/or loss.
   * @throws {TypeError} When an SAE does not fit the model.
   * @throws {RangeError} On an unknown hook name.
   */
  async runWithHooksWithSaes<R extends ReturnType = "logits">(
    input: ModelInput,
    saes: SAE | readonly SAE[],
    options: RunWithHooksOptions<R> & WithSaesOptions,
  ): Promise<ModelOutput<R>> {
    const { cache: _, ...out } = await this.#run(input, this.#withSaes(saes, options), { ...options, names: [] });
    return out as ModelOutput<R>;
  }

  /**
   * Generates with the attached SAEs spliced in at every step (TransformerLens `generate`).
   *
   * @example
   * ```ts ignore
   * const { text } = await model.generate("The nation", { maxNewTokens: 5, doSample: false });
   * ```
   *
   * @param input A prompt or token ids.
   * @param options As {@linkcode HookedTransformer.generate}; `fwdHooks` may name SAE hook points.
   * @returns Tokens and text.
   */
  generate(input: ModelInput, options: GenerateOptions = {}): Promise<GenerateOutput> {
    const { model: modelHooks, sae: saeHooks } = this.#splitHooks(this.#attached, options.fwdHooks ?? []);
    const fwdHooks = [...modelHooks, ...this.#spliceHooks(this.#attached, saeHooks, new Map(), () => false)];
    return this.model.generate(input, { ...options, fwdHooks });
  }

  /** Releases the model's ONNX sessions (the SAEs stay the caller's). */
  async dispose(): Promise<void> {
    await this.model.dispose();
  }

  #withSaes(saes: SAE | readonly SAE[], options: WithSaesOptions): Map<string, AttachedSae> {
    const active = new Map(this.#attached);
    for (const sae of Array.isArray(saes) ? saes as readonly SAE[] : [saes as SAE]) {
      const site = saeSite(this.model, sae);
      const before = this.#attached.get(site.hookName);
      const useErrorTerm = options.useErrorTerm ?? (before?.sae === sae ? before.useErrorTerm : false);
      active.set(site.hookName, { sae, site, useErrorTerm });
    }
    return active;
  }

  /** Splits a name into an attached SAE's hook and its SAE hook point, or undefined for a model hook. */
  #saePoint(active: Map<string, AttachedSae>, name: string): { hook: string; point: SaeHookPoint } | undefined {
    const m = /^(.+)\.(hook_sae_[a-z_]+)$/.exec(name);
    if (!m) return undefined;
    const all = [...active.keys()].flatMap((h) => SAE_HOOK_POINTS.map((p) => `${h}.${p}`));
    if (!active.has(m[1]) || !(SAE_HOOK_POINTS as readonly string[]).includes(m[2])) {
      throw new RangeError(
        `Unknown SAE hook point "${name}": ${
          all.length ? `closest are ${closeMatches(name, all).join(", ")}` : "no SAE is attached"
        }`,
      );
    }
    return { hook: m[1], point: m[2] as SaeHookPoint };
  }

  #splitHooks(active: Map<string, AttachedSae>, fwdHooks: Hooks): { model: Hooks; sae: Map<string, HookFn[]> } {
    const model: [string, HookFn][] = [];
    const sae = new Map<string, HookFn[]>();
    for (const [name, fn] of fwdHooks) {
      if (this.#saePoint(active, name)) sae.set(name, [...sae.get(name) ?? [], fn]);
      else model.push([name, fn]);
    }
    return { model, sae };
  }

  /** The model hooks that splice each active SAE in, recording the SAE hook points `wanted`. */
  #spliceHooks(
    active: Map<string, AttachedSae>,
    saeHooks: Map<string, HookFn[]>,
    cache: Map<string, HostTensor>,
    wanted: (name: string) => boolean,
  ): [string, HookFn][] {
    return [...active.values()].map((a) => [
      a.site.hookName,
      (activation, { positions }) => spliceSae(a, activation, positions, saeHooks, cache, wanted),
    ]);
  }

  async #run(input: ModelInput, active: Map<string, AttachedSae>, options: RunWithCacheOptions): Promise<CachedOutput> {
    const { stopAtLayer } = options;
    const nLayers = this.model.cfg.nLayers;
    const { model: modelHooks, sae: saeHooks } = this.#splitHooks(active, options.fwdHooks ?? []);
    let modelNames: string[] | undefined;
    let wanted: (name: string) => boolean = () => true;
    if (options.names) {
      modelNames = [];
      const saeNames = new Set<string>();
      for (const name of options.names) {
        const sae = this.#saePoint(active, name);
        if (!sae) modelNames.push(name);
        else if (!hookReached(sae.hook, stopAtLayer, nLayers)) {
          throw new RangeError(
            `Cannot cache ${name} as stopAtLayer ${stopAtLayer} runs blocks 0..${
              stopAtLayer! - 1
            } only: raise stopAtLayer`,
          );
        } else saeNames.add(name);
      }
      wanted = (name) => saeNames.has(name);
    }
    const saeCache = new Map<string, HostTensor>();
    const { cache, ...out } = await this.model.runWithCache(input, {
      ...options,
      names: modelNames,
      fwdHooks: [...modelHooks, ...this.#spliceHooks(active, saeHooks, saeCache, wanted)],
    });
    for (const [name, t] of saeCache) cache.set(name, t);
    return { ...out, cache };
  }
}
