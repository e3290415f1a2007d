/**
 * SAELens's loaders (`conversion_func`) by name, as the files each fetches from a release's repo: what
 * `SAE.from_pretrained` downloads for an SAE, and the path in the snapshot that `readSae` then reads (which
 * recognises the layout by its files, so a pulled SAE loads the same way as one copied to disk).
 *
 * @module
 */

/** A file a loader fetches: the first of `paths` the repo has. */
export interface LoaderFile {
  /** Paths in the repo, tried in order (mwhanna's repos misspell `wandb-config.yaml` as `wanb-config.yaml`). */
  paths: string[];
  /** A repo without it still loads (`sparsity.safetensors`, a Qwen3-14B repo's `config.yaml`). */
  optional?: boolean;
  /** A config of a few kB: a Hub announcing more is not believed. */
  small?: boolean;
}

/** How one loader finds an SAE of a release in its repo. */
export interface PretrainedLoader {
  /** The files it downloads for the SAE at `path`, in order. */
  files(path: string): LoaderFile[];
  /** What `readSae` reads, relative to the snapshot: the SAE's folder or, for single-file layouts, its file. */
  target(path: string): string;
}

const small = (...paths: string[]): LoaderFile => ({ paths, small: true });
const big = (...paths: string[]): LoaderFile => ({ paths });
const itself = (path: string) => path;

/** Every loader, by SAELens's name (`sae_lens` stands for a null `conversion_func`). */
export const LOADERS: Readonly<Record<string, PretrainedLoader>> = {
  sae_lens: {
    files: (p) => [small(`${p}/cfg.json`), big(`${p}/sae_weights.safetensors`), {
      paths: [`${p}/sparsity.safetensors`],
      optional: true,
    }],
    target: itself,
  },
  sparsify: { files: (p) => [small(`${p}/cfg.json`), big(`${p}/sae.safetensors`)], target: itself },
  connor_rob_hook_z: { files: (p) => [small(`${p.split(".pt")[0]}_cfg.json`), big(p)], target: itself },
  gemma_2: { files: (p) => [big(`${p}/params.npz`)], target: itself },
  gemma_2_transcoder: { files: (p) => [big(`${p}/params.npz`)], target: itself },
  llama_scope: {
    files: (p) => [small(`${p}/hyperparams.json`), big(`${p}/checkpoints/final.safetensors`)],
    target: itself,
  },
  llama_scope_r1_distill: {
    files: (p) => [small(`${p}/config.json`), big(`${p}/sae_weights.safetensors`)],
    target: itself,
  },
  dictionary_learning_1: { files: (p) => [small(`${p}/config.json`), big(`${p}/ae.pt`)], target: itself },
  deepseek_r1: { files: (p) => [big(p)], target: itself },
  mwhanna_transcoder: {
    files: (p) => [
      small("wandb-config.yaml", "wanb-config.yaml"),
      { paths: ["config.yaml"], optional: true, small: true },
      big(p),
    ],
    target: itself,
  },
  mntss_clt_layer_transcoder: {
    files: (p) => [small("config.yaml"), big(`W_enc_${p}.safetensors`), big(`W_dec_${p}.safetensors`)],
    target: (p) => `W_enc_${p}.safetensors`,
  },
};

/**
 * SAELens's loaders (`conversion_func`, `sae_lens` for null) implemented here: the registry keeps the releases
 * they read.
 *
 * @example
 * ```ts
 * import { PRETRAINED_LOADERS } from "./pretrained_loaders.ts";
 * console.log(PRETRAINED_LOADERS.includes("gemma_2")); // true
 * ```
 */
export const PRETRAINED_LOADERS: readonly string[] = Object.keys(LOADERS);
