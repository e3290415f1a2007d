/**
 * Checks a BPE tokenizer as it loads, so that damaged files fail naming what is wrong instead of tokenizing silently
 * into something else (a vocabulary without the single bytes drops characters; merges that do not join vocabulary
 * tokens leave the text in single characters).
 *
 * @module
 */

/** GPT-2's byte-level alphabet: the character that stands for each byte (`bytes_to_unicode`). */
function byteLevelAlphabet(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/** Whether a pre-tokenizer or decoder (possibly a Sequence) is ByteLevel. */
function isByteLevel(part: unknown): boolean {
  if (typeof part !== "object" || part === null) return false;
  const p = part as { type?: unknown; pretokenizers?: unknown; decoders?: unknown };
  if (p.type === "ByteLevel") return true;
  const inner = p.pretokenizers ?? p.decoders;
  return Array.isArray(inner) && inner.some(isByteLevel);
}

/** The tokenizer models tokenizer.json's `model.type` may name. */
const MODEL_TYPES = ["BPE", "WordPiece", "WordLevel", "Unigram"];

/**
 * Refuses a `tokenizer.json` (already parsed) without a model or with one of an unknown type, and a BPE one whose vocabulary or merges cannot be what they claim: a byte-level
 * vocabulary must hold all 256 byte characters and a byte-fallback one all 256 `<0xNN>` tokens; each merge must join
 * two vocabulary tokens into a third; a vocabulary of multi-character tokens needs merges. Other model types pass.
 *
 * @example A vocabulary without the bytes
 * ```ts
 * import { checkBpeTokenizer } from "./bpe_check.ts";
 * const json = { pre_tokenizer: { type: "ByteLevel" }, model: { type: "BPE", vocab: { a: 0, b: 1 }, merges: [] } };
 * try {
 *   checkBpeTokenizer(json, "tokenizer.json");
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("tokenizer.json: the byte-level vocabulary lacks")); // true
 * }
 * ```
 *
 * @param json The parsed tokenizer.
 * @param path Its file, for the message.
 * @throws {TypeError} Naming the first missing token or bad merge.
 */
export function checkBpeTokenizer(json: unknown, path: string): void {
  const { model, pre_tokenizer: pre, decoder } = (json ?? {}) as {
    model?: unknown;
    pre_tokenizer?: unknown;
    decoder?: unknown;
  };
  if (typeof model !== "object" || model === null || Array.isArray(model)) {
    throw new TypeError(`${path}: field model must be the tokenizer's model (an object with its vocabulary)`);
  }
  // the models the tokenizers library reads; without a type it guesses one from the fields (older files)
  const type = (model as { type?: unknown }).type;
  if (type !== undefined && !MODEL_TYPES.includes(type as string)) {
    throw new TypeError(
      `${path}: field model.type is ${JSON.stringify(type)}: expected one of ${MODEL_TYPES.join(", ")}`,
    );
  }
  if (type !== "BPE") return;
  const { vocab, merges, byte_fallback: byteFallback } = model as {
    vocab?: unknown;
    merges?: unknown;
    byte_fallback?: unknown;
  };
  if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
    throw new TypeError(`${path}: model.vocab must map tokens to ids`);
  }
  const tokens = new Set(Object.keys(vocab));
  const has = (token: string) => tokens.has(token);
  const lacking = (tokens: string[], what: string) => {
    const missing = tokens.filter((t) => !has(t));
    if (missing.length > 0) {
      throw new TypeError(
        `${path}: the ${what} vocabulary lacks ${missing.length} of its 256 byte tokens (${
          missing.slice(0, 3).map((t) => JSON.stringify(t)).join(", ")
        }${missing.length > 3 ? ", ..." : ""}): text with those bytes cannot be tokenized`,
      );
    }
  };
  if (isByteLevel(pre) || isByteLevel(decoder)) lacking(byteLevelAlphabet(), "byte-level");
  if (byteFallback === true) {
    lacking(
      Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
      "byte-fallback",
    );
  }
  if (!Array.isArray(merges)) throw new TypeError(`${path}: model.merges must be a list`);
  for (let i = 0; i < merges.length; i++) {
    const merge = merges[i];
    let a: unknown, b: unknown;
    if (typeof merge === "string") {
      const space = merge.indexOf(" ");
      if (space > 0 && merge.indexOf(" ", space + 1) < 0) a = merge.slice(0, space), b = merge.slice(space + 1);
    } else if (Array.isArray(merge) && merge.length === 2) [a, b] = merge;
    const ok = typeof a === "string" && typeof b === "string" && a !== "" && b !== "" && has(a) && has(b) && has(a + b);
    if (!ok) {
      throw new TypeError(
        `${path}: merge ${i + 1} (${
          JSON.stringify(merge).slice(0, 80)
        }) is not two vocabulary tokens whose join is one: the merges are damaged or another tokenizer's`,
      );
    }
  }
  if (merges.length === 0) {
    const long = Object.keys(vocab).filter((t) => [...t].length > 1 && !/^<.*>$/.test(t)).length;
    if (long > 0) {
      throw new TypeError(
        `${path}: there are no merges but ${long} multi-character tokens: they could never be formed`,
      );
    }
  }
}
