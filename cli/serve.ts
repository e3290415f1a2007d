/**
 * `sae serve [--sae S]... [--model M]... [--dataset D] [--port P] [--host H]`: the explorer, a local web page
 * on the SAE and model (encode as you type, feature dashboards, steer, ablate, attribute, compare, switch
 * SAE or model), until Ctrl-C.
 *
 * @module
 */

import { SOTU } from "../core/data/documents.ts";
import { serveExplorer } from "../core/serve/serve_explorer.ts";
import type { ExplorerSession } from "../core/serve/explorer_api.ts";
import type { SessionPick } from "../core/serve/explorer_sessions.ts";
import type { TokenDataset } from "../core/data/token_dataset.ts";
import { DATASET_FLAGS, DATASET_HELP, openDataset } from "./_dataset.ts";
import { type LoadedSae, loadSaeWithModel, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { parseFlags, positiveInt, UsageError, wholeNumber } from "./_usage.ts";

/** Help text of `sae serve`. */
export const SERVE_HELP = `Usage: sae serve [--sae S]... [--model M]... [--dataset D] [--port P] [--host H] [--tokens N]

Serves the explorer, a self-contained page (no CDN, works offline) on the SAE and its model: type a text and
see every token's strongest features, its L0 and the explained variance as you type; click a feature for its
dashboard (built over --dataset on first view, then kept); steer, ablate (features one by one and together),
attribute a logit, compare prompts. Ctrl-C stops it. Given --sae more than once, it serves the first and the
page can switch to the others (each loaded, with its model, when picked). The page can also pick any SAE of
the registry ("sae releases" lists them), downloaded into the Hugging Face cache with a progress bar (as
"sae pull" does) and then loaded. Given --model more than once, every SAE loads with the first and the page
can switch between them (an SAE whose hook or width the model lacks is refused).

It binds 127.0.0.1 only. --host binds another name or address instead (for another machine) and then
requires a random token, printed at start, on every request (the printed URL carries it). Requests whose Host
header is not one of the bound names, or writes from another site's pages, are refused; bodies are bounded
(64 KiB), texts too (4000 characters), and the model runs one request at a time with 8 waiting at most
(beyond: 503 busy). The page can name no file: the SAEs are the ones given here or registry ids, the models
and dataset the ones given here.

Options:
${SAE_HELP}
${DATASET_HELP}
  --tokens N       tokens a feature's dashboard reads (default 16384)
  --port P         port (default 8080; 0: a free one)
  --host H         bind H instead of 127.0.0.1, with a token: the name or address clients type (their Host
                   header must name it, so not 0.0.0.0)
  -h, --help       show this help`;

/**
 * Runs `sae serve`.
 *
 * @example Serve the embedded SAE on port 8080
 * ```ts ignore
 * await serve(["--port", "8080"]); // until Ctrl-C
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    ...DATASET_FLAGS,
    sae: { type: "string", multiple: true },
    model: { type: "string", multiple: true },
    tokens: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`sae serve takes no positional arguments: got ${positionals[0]}`);
  const port = values.port === undefined ? 8080 : wholeNumber(values.port, "--port");
  if (port > 65535) throw new UsageError(`--port must be in 0..65535: current value is ${port}`);
  if (values.host !== undefined && values.host.trim() === "") throw new UsageError("--host must name a host");
  const dashboardTokens = positiveInt(values.tokens, "--tokens") ?? 16384;
  const labels = [...new Set(values.sae ?? [])];
  const models = [...new Set(values.model ?? [])];
  const flags = { ...values, sae: labels[0], model: models[0] };
  const session = (loaded: LoadedSae, dataset: TokenDataset, model: string | undefined): ExplorerSession => ({
    sae: loaded.sae,
    model: loaded.model,
    saeLabel: loaded.saeLabel,
    modelLabel: model ?? String(loaded.sae.cfg.metadata.model_name ?? "the SAE's model"),
    dataset: { label: dataset.label, rows: () => dataset.rows() },
    dashboardTokens,
  });
  // what the page picks: an SAE given at start or a registry SAE it downloaded, with a model given at start
  // (the one label neither given nor pulled is "embedded", served when no --sae was given)
  const load = async (label: string, pick: SessionPick): Promise<ExplorerSession> => {
    const loaded = pick.pulled
      ? await loadSaeWithModel({ ...flags, sae: label, model: pick.model, "neuronpedia-id": undefined }, pick.pulled)
      : await loadSaeWithModel({ ...flags, sae: labels.includes(label) ? label : undefined, model: pick.model });
    try {
      return session(loaded, await openDataset(values, loaded.model, loaded.sae), pick.model);
    } catch (e) {
      loaded.sae.destroy();
      await loaded.model.dispose();
      throw e;
    }
  };
  const start = { verb: "serve", inputs: { dataset: values.dataset ?? SOTU } };
  return await withSaeAndModel(flags, async (loaded) => {
    const dataset = await openDataset(values, loaded.model, loaded.sae);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      const server = serveExplorer(session(loaded, dataset, models[0]), {
        port,
        host: values.host,
        signal: stop.signal,
        saes: { labels: [loaded.saeLabel, ...labels.slice(1)], models, registry: true, load },
      });
      console.log(`sae serve: the explorer is at ${server.url} (Ctrl-C stops it)`);
      if (server.token !== undefined) {
        console.log(`sae serve: bound to ${values.host}: every request needs the token ${server.token}`);
      }
      await server.finished;
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  }, start);
}
