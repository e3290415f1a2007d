/**
 * The explorer's JSON API: one endpoint per analysis of the library (encode, feature dashboard, steer,
 * ablate, attribute, compare), each reading checked fields and answering JSON. Model runs go through
 * one {@linkcode RunQueue}; nothing names a file.
 *
 * @module
 */

import { ablateFeatures } from "../analysis/ablation.ts";
import { sharedFeatures } from "../analysis/compare_prompts.ts";
import { encodeText } from "../analysis/encode_text.ts";
import { featureDashboards } from "../analysis/feature_dashboard.ts";
import { logitAttribution } from "../analysis/logit_attribution.ts";
import { steer, STEER_POSITIONS, STRENGTH_RELATIVE_TO } from "../analysis/steering.ts";
import { testPrompt } from "../analysis/test_prompt.ts";
import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import { dashboardHtml } from "../report/dashboard_html.ts";
import type { SAE } from "../sae/sae.ts";
import {
  boolField,
  choiceField,
  featureListField,
  intField,
  numberField,
  textField,
  textListField,
} from "./_json_fields.ts";
import { DashboardCache } from "./dashboard_cache.ts";
import { HttpError } from "./http_error.ts";
import type { RunQueue } from "./run_queue.ts";

/** What the explorer serves: a loaded SAE and model, and the dataset dashboards read. */
export interface ExplorerSession {
  /** The SAE. */
  sae: SAE;
  /** Its model. */
  model: HookedTransformer;
  /** What the SAE was loaded from (a registry id, a folder given at start, or "embedded"). */
  saeLabel: string;
  /** What the model was loaded from. */
  modelLabel: string;
  /** The dataset feature dashboards read: its label and a new pass over its rows on each call. */
  dataset: { label: string; rows: () => AsyncIterable<number[]> };
  /** Tokens a dashboard reads. @default {16384} */
  dashboardTokens?: number;
}

/** The API's bounds. */
export interface ExplorerLimits {
  /** Longest text, in characters. */
  maxTextLength: number;
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
}

/** What an endpoint gets: the JSON body of a POST, the query of a GET. */
export interface EndpointInput {
  /** The JSON body (empty for a GET). */
  body: Record<string, unknown>;
  /** The URL's query. */
  query: URLSearchParams;
}

/** One endpoint: its method and what it answers. */
export interface Endpoint {
  /** GET reads state; POST runs the model. */
  method: "GET" | "POST";
  /** Its answer, sent as JSON, or as an HTML page where `page` is set. */
  run: (input: EndpointInput) => Promise<unknown>;
  /** The answer is an HTML page (a string) shown in the explorer's frame. @default {false} */
  page?: boolean;
}

const MAX_TOP = 50;
const MAX_FEATURES = 32;
const MAX_PROMPTS = 8;
const MAX_NEW_TOKENS = 64;
const MAX_SAMPLES = 4;

/** NaN (explained variance of one token) as null, which JSON can carry. */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function singleToken(model: HookedTransformer, text: string): number {
  try {
    return model.toSingleToken(text);
  } catch (e) {
    throw new HttpError(400, `Field "target" ${(e as Error).message}`);
  }
}

/**
 * The endpoints, by path.
 *
 * @example Encode a text through the API, without HTTP
 * ```ts ignore
 * const api = explorerApi(session, new RunQueue(), { maxTextLength: 4000, maxBodyBytes: 65536 });
 * const enc = await api.get("/api/encode")!.run({ body: { text: "The nation" }, query: new URLSearchParams() });
 * ```
 *
 * @param session The SAE, model and dataset.
 * @param queue The queue model runs wait in.
 * @param limits Text and body bounds.
 * @returns Path → endpoint.
 */
export function explorerApi(session: ExplorerSession, queue: RunQueue, limits: ExplorerLimits): Map<string, Endpoint> {
  const { sae, model } = session;
  const dSae = sae.cfg.d_sae;
  const dashboardTokens = session.dashboardTokens ?? 16384;
  const text = (body: Record<string, unknown>, field = "text") => textField(body, field, limits.maxTextLength);
  const dashboards = new DashboardCache(async (feature, onProgress) => {
    const dash = await featureDashboards(model, sae, session.dataset.rows(), [feature], {
      maxTokens: dashboardTokens,
      dataset: session.dataset.label,
      onProgress,
    });
    return dashboardHtml(dash, { sae: session.saeLabel, dataset: session.dataset.label });
  });

  const endpoints: [string, Endpoint][] = [
    ["/api/info", {
      method: "GET",
      run: () =>
        Promise.resolve({
          sae: session.saeLabel,
          model: session.modelLabel,
          architecture: sae.cfg.architecture,
          hook_name: sae.cfg.metadata.hook_name,
          d_in: sae.cfg.d_in,
          d_sae: dSae,
          neuronpedia_id: sae.cfg.metadata.neuronpedia_id ?? null,
          dataset: session.dataset.label,
          dashboard_tokens: dashboardTokens,
          max_text_length: limits.maxTextLength,
          max_body_bytes: limits.maxBodyBytes,
          max_waiting: queue.maxWaiting,
          pending: queue.pending,
        }),
    }],
    ["/api/encode", {
      method: "POST",
      run: async ({ body }) => {
        const input = text(body);
        const top = intField(body, "top", 1, Math.min(MAX_TOP, dSae), Math.min(5, dSae));
        return await queue.run(async () => {
          const begun = performance.now();
          const enc = await encodeText(model, sae, input, { top });
          return {
            text: input,
            tokens: enc.strTokens,
            token_ids: enc.tokens,
            l0: enc.l0,
            top: enc.top,
            bos_positions: enc.bosPositions,
            mean_l0: finite(enc.summary.meanL0),
            mse: finite(enc.summary.mse),
            explained_variance: finite(enc.summary.explainedVariance),
            ms: performance.now() - begun,
          };
        });
      },
    }],
    ["/api/dashboard", {
      method: "POST",
      run: async ({ body }) => {
        const feature = intField(body, "feature", 0, dSae - 1);
        const cached = dashboards.progress(feature).state !== "none";
        const html = cached ? await dashboards.get(feature) : await queue.run(() => dashboards.get(feature));
        return { feature, html, tokens: dashboardTokens };
      },
    }],
    ["/dashboard", {
      method: "GET",
      page: true,
      run: ({ query }) => {
        const feature = intField({ feature: Number(query.get("feature")) }, "feature", 0, dSae - 1);
        if (dashboards.progress(feature).state !== "done") {
          throw new HttpError(404, `Feature ${feature}'s dashboard is not built: POST /api/dashboard builds it`);
        }
        return dashboards.get(feature);
      },
    }],
    ["/api/dashboard-progress", {
      method: "GET",
      run: ({ query }) => {
        const feature = intField({ feature: Number(query.get("feature")) }, "feature", 0, dSae - 1);
        return Promise.resolve({ feature, ...dashboards.progress(feature), max_tokens: dashboardTokens });
      },
    }],
    ["/api/steer", {
      method: "POST",
      run: async ({ body }) => {
        const input = text(body);
        const greedy = boolField(body, "greedy", false);
        const options = {
          feature: intField(body, "feature", 0, dSae - 1),
          strength: numberField(body, "strength", -1e6, 1e6)!,
          strengthRelativeTo: choiceField(body, "strength_relative_to", STRENGTH_RELATIVE_TO, "absolute"),
          positions: choiceField(body, "positions", STEER_POSITIONS, "all"),
          samples: intField(body, "samples", 1, MAX_SAMPLES, 1),
          maxNewTokens: intField(body, "max_new_tokens", 1, MAX_NEW_TOKENS, 20),
          temperature: numberField(body, "temperature", 0, 100),
          topK: body.top_k === undefined ? undefined : intField(body, "top_k", 1, model.cfg.dVocab),
          topP: numberField(body, "top_p", Number.MIN_VALUE, 1),
          doSample: !greedy,
          stopAtEos: boolField(body, "stop_at_eos", true),
          seed: intField(body, "seed", 0, 2 ** 32 - 1, 0),
        };
        if (body.strength === undefined) throw new HttpError(400, `Field "strength" is required: a number`);
        return await queue.run(async () => {
          const result = await steer(model, sae, input, options);
          return {
            feature: options.feature,
            strength: options.strength,
            strength_relative_to: options.strengthRelativeTo,
            applied_strength: result.appliedStrength,
            direction_norm: result.scale.directionNorm,
            resid_norm: result.scale.residNorm,
            feature_mean_act: result.scale.meanAct,
            feature_max_act: result.scale.maxAct,
            positions: options.positions,
            baseline: result.baseline,
            steered: result.steered,
            seeds: result.seeds,
          };
        });
      },
    }],
    ["/api/ablate", {
      method: "POST",
      run: async ({ body }) => {
        const input = text(body);
        const targetText = text(body, "target");
        const chosen = body.features === undefined ? undefined : featureListField(body, "features", dSae, MAX_FEATURES);
        const errorTerm = boolField(body, "error_term", true);
        const top = intField(body, "top", 1, MAX_TOP, 10);
        return await queue.run(async () => {
          const target = singleToken(model, targetText);
          const enc = await encodeText(model, sae, input, { top: chosen ? 1 : Math.min(5, dSae) });
          const last = enc.tokens.length - 1;
          const features = chosen ?? enc.top[last].map((f) => f.index);
          if (features.length === 0) {
            throw new HttpError(400, `No feature is active at the last token: give "features"`);
          }
          // two or more: also all at once, with the next tokens they leave
          const result = await ablateFeatures(model, sae, enc.tokens, target, features, {
            errorTerm,
            together: features.length > 1,
            topK: top,
          });
          const together = result.together;
          const next = await testPrompt(model, input, targetText, {
            saes: [sae],
            topK: top,
            prependSpaceToAnswer: false,
          });
          return {
            target: targetText,
            target_id: target,
            last_token: enc.strTokens[last],
            error_term: errorTerm,
            baseline: result.baseline,
            spliced: result.spliced,
            features: result.features.map((f) => ({
              index: f.index,
              activation: enc.features.data[last * dSae + f.index],
              probability: f.probability,
              change: f.change,
              change_from_spliced: f.changeFromSpliced,
            })),
            together: together
              ? {
                features: together.features,
                probability: together.probability,
                change: together.change,
                change_from_spliced: together.changeFromSpliced,
                next_tokens: together.top.map(({ id, prob }) => ({ token: model.toString([id]), prob })),
              }
              : null,
            next_tokens: next.runs.map((r) => ({
              kind: r.kind,
              top: r.answers[0].top.map(({ token, prob }) => ({ token, prob })),
            })),
          };
        });
      },
    }],
    ["/api/attribute", {
      method: "POST",
      run: async ({ body }) => {
        const input = text(body);
        const targetText = text(body, "target");
        const top = intField(body, "top", 1, dSae, 10);
        return await queue.run(async () => {
          const target = singleToken(model, targetText);
          const enc = await encodeText(model, sae, input, { top: 1 });
          const a = await logitAttribution(model, sae, enc, target);
          return {
            target: targetText,
            target_id: target,
            position: a.position,
            token: enc.strTokens[a.position],
            logit: a.logit,
            total: a.total,
            bias: a.bias,
            error: a.error,
            promoting: a.features.filter((f) => f.contribution > 0).slice(0, top),
            suppressing: a.features.filter((f) => f.contribution < 0).slice(-top).reverse(),
          };
        });
      },
    }],
    ["/api/compare", {
      method: "POST",
      run: async ({ body }) => {
        const texts = textListField(body, "texts", MAX_PROMPTS, limits.maxTextLength);
        const threshold = numberField(body, "threshold", 0, 1e6, 0)!;
        const top = intField(body, "top", 1, dSae, 20);
        return await queue.run(async () => {
          const encoded = [];
          for (const t of texts) encoded.push(await encodeText(model, sae, t, { top: 1 }));
          return {
            threshold,
            prompts: encoded.map((e, i) => ({
              text: texts[i],
              tokens: e.tokens.length,
              mean_l0: finite(e.summary.meanL0),
              explained_variance: finite(e.summary.explainedVariance),
            })),
            shared: sharedFeatures(encoded, threshold).slice(0, top),
          };
        });
      },
    }],
  ];
  return new Map(endpoints);
}
