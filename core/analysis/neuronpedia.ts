/**
 * Neuronpedia links: a feature's dashboard and a quick list of several features (SAELens's
 * `neuronpedia_integration`).
 *
 * @module
 */

/** Neuronpedia's address. */
export const NEURONPEDIA = "https://neuronpedia.org";

/** Python's `urllib.parse.quote` (safe "/"), which SAELens uses for quick-list URLs. */
function pythonQuote(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Splits a Neuronpedia SAE id into its model and SAE set, checking its form.
 *
 * @example
 * ```ts
 * import { checkNeuronpediaId } from "./neuronpedia.ts";
 * console.log(checkNeuronpediaId("gpt2-small/8-res-jb")); // ["gpt2-small", "8-res-jb"]
 * ```
 *
 * @param neuronpediaId An id such as `gpt2-small/8-res-jb`.
 * @returns The model id and the set (layer included, as Neuronpedia writes it).
 * @throws {RangeError} When the id is not MODEL/SET.
 */
export function checkNeuronpediaId(neuronpediaId: string): [string, string] {
  const parts = neuronpediaId.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new RangeError(`Neuronpedia id "${neuronpediaId}": expected MODEL/SET such as gpt2-small/8-res-jb`);
  }
  return [parts[0], parts[1]];
}

/**
 * The dashboard of one feature.
 *
 * @example
 * ```ts
 * import { neuronpediaFeatureUrl } from "./neuronpedia.ts";
 * console.log(neuronpediaFeatureUrl("gpt2-small/8-res-jb", 1234)); // "https://neuronpedia.org/gpt2-small/8-res-jb/1234"
 * ```
 *
 * @param neuronpediaId The SAE's id (cfg `metadata.neuronpedia_id`).
 * @param index Feature index.
 * @returns The URL.
 * @throws {RangeError} When the id is not MODEL/SET.
 */
export function neuronpediaFeatureUrl(neuronpediaId: string, index: number): string {
  checkNeuronpediaId(neuronpediaId);
  return `${NEURONPEDIA}/${neuronpediaId}/${index}`;
}

/**
 * A quick list of features, as SAELens's `get_neuronpedia_quick_list` builds it.
 *
 * @example
 * ```ts
 * import { neuronpediaQuickListUrl } from "./neuronpedia.ts";
 * const url = neuronpediaQuickListUrl("gpt2-small/8-res-jb", [1, 2], "my list");
 * console.log(url.startsWith("https://neuronpedia.org/quick-list/?name=my%20list&features=%5B%7B%22modelId")); // true
 * ```
 *
 * @param neuronpediaId The SAE's id.
 * @param features Feature indices.
 * @param name The list's name. @default {"temporary_list"}
 * @returns The URL.
 * @throws {RangeError} When the id is not MODEL/SET.
 */
export function neuronpediaQuickListUrl(
  neuronpediaId: string,
  features: readonly number[],
  name = "temporary_list",
): string {
  const [modelId, layer] = checkNeuronpediaId(neuronpediaId);
  // json.dumps's separators, so the URL is the one SAELens opens
  const list = "[" +
    features.map((i) => `{"modelId": ${JSON.stringify(modelId)}, "layer": ${JSON.stringify(layer)}, "index": "${i}"}`)
      .join(", ") +
    "]";
  return `${NEURONPEDIA}/quick-list/?name=${pythonQuote(name)}&features=${pythonQuote(list)}`;
}
