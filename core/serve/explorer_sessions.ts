/**
 * The SAE the explorer serves, and switching it for another of those given at start: the browser names one of
 * their labels (never a path), the new SAE and its model load while the model queue is held, and the server
 * releases what it loaded once it switches away or stops (the SAE it was started with stays its caller's).
 *
 * @module
 */

import { type Endpoint, explorerApi, type ExplorerLimits, type ExplorerSession } from "./explorer_api.ts";
import { HttpError } from "./http_error.ts";
import type { RunQueue } from "./run_queue.ts";

/** The SAEs the page may switch between. */
export interface SaeChoices {
  /** Their labels as given at start (folders or RELEASE/SAE_ID), the first one's included. */
  labels: readonly string[];
  /** Loads the SAE a label names, with its model and the dataset. */
  load: (label: string) => Promise<ExplorerSession>;
}

async function release(session: ExplorerSession): Promise<void> {
  session.sae.destroy();
  await session.model.dispose();
}

/**
 * The session in use, its API, and the switch between the SAEs given at start.
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
  #current: ExplorerSession;
  #api: Map<string, Endpoint>;
  #queue: RunQueue;
  #limits: ExplorerLimits;
  #own: Map<string, Endpoint>;

  /**
   * Starts with `initial`.
   *
   * @param initial The session the server was started with (its caller releases it).
   * @param queue The queue model runs, and switches, wait in.
   * @param limits Text and body bounds.
   * @param choices The SAEs the page may switch between. @default {none: `initial` only}
   */
  constructor(initial: ExplorerSession, queue: RunQueue, limits: ExplorerLimits, choices?: SaeChoices) {
    this.#initial = this.#current = initial;
    this.#queue = queue;
    this.#limits = limits;
    this.#api = explorerApi(initial, queue, limits);
    const labels = choices?.labels ?? [initial.saeLabel];
    if (!labels.includes(initial.saeLabel)) {
      throw new RangeError(
        `The SAE choices must include the one served first, ${initial.saeLabel}: got ${labels.join(", ")}`,
      );
    }
    this.#own = new Map<string, Endpoint>([
      ["/api/saes", {
        method: "GET",
        run: () => Promise.resolve({ current: this.#current.saeLabel, choices: labels }),
      }],
      ["/api/sae", {
        method: "POST",
        run: async ({ body }) => {
          const label = body.sae;
          if (typeof label !== "string" || !labels.includes(label)) {
            throw new HttpError(
              400,
              `Field "sae" must be one of the SAEs sae serve was started with (${labels.join(", ")}): got ${
                JSON.stringify(label) ?? "nothing"
              }`,
            );
          }
          return await this.#queue.run(async () => {
            if (label !== this.#current.saeLabel) {
              const next = label === this.#initial.saeLabel ? this.#initial : await choices!.load(label);
              const previous = this.#current;
              this.#current = next;
              this.#api = explorerApi(next, this.#queue, this.#limits);
              if (previous !== this.#initial) await release(previous);
            }
            return await this.#api.get("/api/info")!.run({ body: {}, query: new URLSearchParams() });
          });
        },
      }],
    ]);
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
