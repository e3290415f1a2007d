/**
 * Feature dashboards built on demand, one pass over the dataset per feature, and kept for the next
 * visit; the progress of a pass in flight can be read while it runs.
 *
 * @module
 */

/** How far a feature's dashboard is. */
export interface DashboardProgress {
  /** `none`: never asked for; `running`: reading the dataset; `done`: kept. */
  state: "none" | "running" | "done";
  /** Rows read so far. */
  rows: number;
  /** Tokens read so far. */
  tokens: number;
}

/** Builds one feature's dashboard page, reporting rows and tokens read. */
export type DashboardBuilder = (feature: number, onProgress: (rows: number, tokens: number) => void) => Promise<string>;

/**
 * Dashboard pages by feature, built once each (a failed build is forgotten, so it can be retried); the
 * oldest are dropped beyond `maxEntries`.
 *
 * @example A page built once, then kept
 * ```ts
 * import { DashboardCache } from "./dashboard_cache.ts";
 * let builds = 0;
 * const cache = new DashboardCache(async (f) => `<p>feature ${f}, build ${++builds}</p>`);
 * await cache.get(3);
 * console.log(await cache.get(3), cache.progress(3).state); // <p>feature 3, build 1</p> done
 * ```
 */
export class DashboardCache {
  #build: DashboardBuilder;
  #maxEntries: number;
  #pages = new Map<number, Promise<string>>();
  #progress = new Map<number, DashboardProgress>();

  /**
   * Creates the cache.
   *
   * @param build Builds one feature's page.
   * @param maxEntries Pages kept. @default {256}
   */
  constructor(build: DashboardBuilder, maxEntries = 256) {
    this.#build = build;
    this.#maxEntries = maxEntries;
  }

  /**
   * The progress of `feature`'s page.
   *
   * @param feature The feature.
   * @returns Its state and what was read.
   */
  progress(feature: number): DashboardProgress {
    return this.#progress.get(feature) ?? { state: "none", rows: 0, tokens: 0 };
  }

  /**
   * `feature`'s page, built on the first call.
   *
   * @param feature The feature.
   * @returns The page's HTML.
   */
  get(feature: number): Promise<string> {
    const kept = this.#pages.get(feature);
    if (kept) return kept;
    const progress: DashboardProgress = { state: "running", rows: 0, tokens: 0 };
    this.#progress.set(feature, progress);
    const page = this.#build(feature, (rows, tokens) => Object.assign(progress, { rows, tokens }));
    this.#pages.set(feature, page);
    page.then(() => progress.state = "done", () => {
      this.#pages.delete(feature);
      this.#progress.delete(feature);
    });
    for (const oldest of this.#pages.keys()) {
      if (this.#pages.size <= this.#maxEntries) break;
      this.#pages.delete(oldest);
      this.#progress.delete(oldest);
    }
    return page;
  }
}
