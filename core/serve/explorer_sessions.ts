/**
 * The SAE and model the explorer serves, and switching them from the page: to another SAE given at start (by its
 * label, never a path), to a registry SAE (by RELEASE/SAE_ID, checked against the registry and downloaded into the
 * Hugging Face cache outside the model queue, one download at a time, with the model its release names where SAEs
 * read their own), or to another model given at start. The new
 * pair loads while the model queue is held, and the server releases what it loaded once it switches away or stops
 * (the pair it was started with stays its caller's).
 *
 * @module
 */

import type { HubOptions } from "../hub/hub_settings.ts";
import type { PulledSae } from "../sae/pretrained.ts";
import { type Endpoint, explorerApi, type ExplorerLimits, type ExplorerSession } from "./explorer_api.ts";
import { HttpError } from "./http_error.ts";
import { RegistryDownload, registryId } from "./registry_download.ts";
import { searchRegistry } from "../sae/registry_search.ts";
import type { RunQueue } from "./run_queue.ts";

/** How the page's pick is loaded, beside its SAE label. */
export interface SessionPick {
  /** A registry SAE the page picked, downloaded: load it from here, never by looking its label up as a path. */
  pulled?: PulledSae;
  /** The model, one of the labels given at start; undefined: the model the SAE's cfg.json names. */
  model?: string;
}

/** What the page may switch to. */
export interface SaeChoices {
  /** The SAEs' labels as given at start (folders or RELEASE/SAE_ID), the first one's included. */
  labels: readonly string[];
  /**
   * The models' labels as given at start, the first one's included: every SAE loads with the one picked. Empty:
   * each SAE with the model its cfg.json names, and no model to pick. @default {[]}
   */
  models?: readonly string[];
  /** Whether the page may pick any SAE of the registry by RELEASE/SAE_ID (downloaded when picked). @default {false} */
  registry?: boolean;
  /** Hub settings for the registry's downloads. @default {the environment's: HF_ENDPOINT, HF_HOME, HF_TOKEN...} */
  hub?: HubOptions;
  /** Loads an SAE with a model, and the dataset. */
  load: (label: string, pick: SessionPick) => Promise<ExplorerSession>;
}

/** How many registry matches the picker lists. */
const REGISTRY_MATCHES = 50;
/** Longest registry search, in characters: each word is sought in every SAE's names. */
const MAX_QUERY = 200;

async function release(session: ExplorerSession): Promise<void> {
  session.sae.destroy();
  await session.model.dispose();
}

function named(value: unknown): string {
  return JSON.stringify(value) ?? "nothing";
}

/**
 * The session in use, its API, and the switches between SAEs and models.
 *
 * @example Switch to the second SAE, then release it
 * ```ts ignore
 * const sessions = new ExplorerSessions(session, new RunQueue(), limits, { labels: ["a", "b"], load });
 * await sessions.endpoint("/api/sae")!.run({ body: { sae: "b" }, query: new URLSearchParams() });
 * await sessions.close();
 * ```
 */
export class ExplorerSessions {
  #initial: ExplorerSession;
  #initialModel: string | undefined;
  #current: ExplorerSession;
  #model: string | undefined;
  #api: Map<string, Endpoint>;
  #queue: RunQueue;
  #limits: ExplorerLimits;
  #own: Map<string, Endpoint>;
  #pulled = new Map<string, PulledSae>();

  /**
   * Starts with `initial`.
   *
   * @param initial The session the server was started with (its caller releases it).
   * @param queue The queue model runs, and switches, wait in.
   * @param limits Text and body bounds.
   * @param choices What the page may switch to. @default {nothing: `initial` only}
   * @throws {RangeError} When the choices leave out the SAE or the model served first.
   */
  constructor(initial: ExplorerSession, queue: RunQueue, limits: ExplorerLimits, choices?: SaeChoices) {
    this.#initial = this.#current = initial;
    this.#queue = queue;
    this.#limits = limits;
    this.#api = explorerApi(initial, queue, limits);
    const labels = choices?.labels ?? [initial.saeLabel];
    const models = choices?.models ?? [];
    if (!labels.includes(initial.saeLabel)) {
      throw new RangeError(
        `The SAE choices must include the one served first, ${initial.saeLabel}: got ${labels.join(", ")}`,
      );
    }
    if (models.length > 0 && !models.includes(initial.modelLabel)) {
      throw new RangeError(
        `The model choices must include the one served first, ${initial.modelLabel}: got ${models.join(", ")}`,
      );
    }
    this.#initialModel = this.#model = models.length > 0 ? initial.modelLabel : undefined;
    const download = choices?.registry ? new RegistryDownload(choices.hub) : undefined;

    // the pair in place of the current one (either kept where not given), while the queue is held
    const switchTo = (pick: { sae?: string; model?: string }) =>
      this.#queue.run(async () => {
        const sae = pick.sae ?? this.#current.saeLabel, model = pick.model ?? this.#model;
        if (sae !== this.#current.saeLabel || model !== this.#model) {
          let next = this.#initial;
          if (sae !== this.#initial.saeLabel || model !== this.#initialModel) {
            try {
              next = await choices!.load(sae, { pulled: this.#pulled.get(sae), model });
            } catch (e) {
              // an SAE whose hook or width the model lacks
              if (!(e instanceof TypeError)) throw e;
              throw new HttpError(
                400,
                `Cannot serve the SAE ${sae} with the model ${model ?? "its cfg.json names"}: ${e.message}`,
              );
            }
          }
          const previous = this.#current;
          this.#current = next;
          this.#model = model;
          this.#api = explorerApi(next, this.#queue, this.#limits);
          if (previous !== this.#initial) await release(previous);
        }
        return await this.#api.get("/api/info")!.run({ body: {}, query: new URLSearchParams() });
      });

    const own: [string, Endpoint][] = [
      ["/api/saes", {
        method: "GET",
        run: () =>
          Promise.resolve({
            current: this.#current.saeLabel,
            choices: [...labels, ...this.#pulled.keys()],
          }),
      }],
      ["/api/sae", {
        method: "POST",
        run: async ({ body }) => {
          const label = body.sae;
          if (typeof label === "string" && labels.includes(label)) return await switchTo({ sae: label });
          if (download && typeof label === "string" && registryId(label)) {
            // the download waits outside the queue: the page's other requests go on meanwhile
            // (and the model its release names, where the SAE loads with its own)
            if (!this.#pulled.has(label)) {
              this.#pulled.set(label, await download.pull(label, { model: models.length === 0 }));
            }
            return await switchTo({ sae: label });
          }
          throw new HttpError(
            400,
            `Field "sae" must be one of the SAEs sae serve was started with (${labels.join(", ")})${
              download ? " or a registry SAE, RELEASE/SAE_ID (GET /api/registry?q=WORDS finds them)" : ""
            }: got ${named(label)}`,
          );
        },
      }],
      ["/api/models", {
        method: "GET",
        run: () => Promise.resolve({ current: this.#current.modelLabel, choices: models }),
      }],
      ["/api/model", {
        method: "POST",
        run: async ({ body }) => {
          const model = body.model;
          if (typeof model !== "string" || !models.includes(model)) {
            throw new HttpError(
              400,
              models.length === 0
                ? `There is no model to pick: sae serve was started without --model, so each SAE reads the model it names`
                : `Field "model" must be one of the models sae serve was started with (${models.join(", ")}): got ${
                  named(model)
                }`,
            );
          }
          return await switchTo({ model });
        },
      }],
    ];
    // the page asks whether it may offer the registry: answered either way
    own.push(["/api/registry", {
      method: "GET",
      run: ({ query }) => {
        const q = query.get("q") ?? "";
        if (q.length > MAX_QUERY) {
          throw new HttpError(413, `Query "q" holds ${q.length} characters: at most ${MAX_QUERY} are searched`);
        }
        return Promise.resolve(
          download
            ? { enabled: true, ...searchRegistry(q, REGISTRY_MATCHES) }
            : { enabled: false, total: 0, matches: [] },
        );
      },
    }]);
    if (download) own.push(["/api/sae-download", { method: "GET", run: () => Promise.resolve(download.progress()) }]);
    this.#own = new Map(own);
  }

  /** The session in use. */
  get current(): ExplorerSession {
    return this.#current;
  }

  /**
   * The endpoint at `path`, of the session in use.
   *
   * @param path The URL's path.
   * @returns The endpoint, or undefined.
   */
  endpoint(path: string): Endpoint | undefined {
    return this.#own.get(path) ?? this.#api.get(path);
  }

  /** Releases the session in use where it was loaded here. */
  async close(): Promise<void> {
    if (this.#current !== this.#initial) await release(this.#current);
    this.#current = this.#initial;
  }
}
