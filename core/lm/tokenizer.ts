/**
 * GPT-2's byte-level BPE tokenizer, offline, from `tokenizer.json`, `vocab.json` + `merges.txt` or
 * OpenAI's `encoder.json` + `vocab.bpe`, with TransformerLens's `to_tokens` family of methods.
 *
 * @module
 */

import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { readRegularTextFile } from "../io/read_regular_file.ts";

/** Bytes a tokenizer file may have (GPT-2's tokenizer.json is 1.4 MB; large vocabularies reach tens of MB). */
const MAX_TOKENIZER_BYTES = 256 * 1024 * 1024;

/** `<|endoftext|>`: GPT-2's BOS, EOS and padding token. */
export const END_OF_TEXT = "<|endoftext|>";

/** Options of {@linkcode Gpt2Tokenizer.toTokens}. */
export interface ToTokensOptions {
  /** Put BOS (`<|endoftext|>`) first, as TransformerLens's `to_tokens` does by default. @default {true} */
  prependBos?: boolean;
}

/** GPT-2's tokenizer.json around a vocabulary and merge list (what `GPT2TokenizerFast` writes). */
function gpt2TokenizerJson(vocab: Record<string, number>, merges: string[]): object {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    added_tokens: [{
      id: vocab[END_OF_TEXT] ?? 50256,
      content: END_OF_TEXT,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

function parseMerges(text: string): string[] {
  return text.split("\n").filter((line) => line.length > 0 && !line.startsWith("#version"));
}

/** GPT-2's tokenizer. */
export class Gpt2Tokenizer {
  readonly #tokenizer: Tokenizer;
  /** BOS/EOS token id (50256 for GPT-2). */
  readonly bosTokenId: number;

  private constructor(tokenizer: Tokenizer) {
    this.#tokenizer = tokenizer;
    const id = tokenizer.token_to_id(END_OF_TEXT);
    if (id === undefined) throw new TypeError(`The tokenizer has no ${END_OF_TEXT} token`);
    this.bosTokenId = id;
  }

  /** Builds the tokenizer, naming the files when the library refuses them (its errors name neither). */
  static #build(make: () => Tokenizer, files: string): Gpt2Tokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = make();
    } catch (cause) {
      throw new TypeError(`${files} is not a usable tokenizer: ${(cause as Error).message}`, { cause });
    }
    const id = tokenizer.token_to_id(END_OF_TEXT);
    if (id === undefined) throw new TypeError(`${files}: the tokenizer has no ${END_OF_TEXT} token`);
    return new Gpt2Tokenizer(tokenizer);
  }

  /**
   * Reads a tokenizer from a folder holding `tokenizer.json`, `vocab.json` + `merges.txt`, or
   * `encoder.json` + `vocab.bpe` (checked in that order).
   *
   * @example Load the fixture model's tokenizer
   * ```ts ignore
   * import { Gpt2Tokenizer } from "./tokenizer.ts";
   * const tok = await Gpt2Tokenizer.load("../shared/fixtures/gpt2-sotu-tiny");
   * console.log(tok.toTokens("The capital of France is Paris", { prependBos: false })); // [464, 3139, 286, 4881, 318, 6342]
   * ```
   *
   * @param dir The folder.
   * @returns The tokenizer.
   * @throws {Deno.errors.NotFound} When none of the file sets is there.
   * @throws {TypeError} When a file is not a regular file or not a tokenizer (the message names it).
   * @throws {SyntaxError} When a file is not valid JSON or UTF-8.
   */
  static async load(dir: string): Promise<Gpt2Tokenizer> {
    const tokenizerJson = join(dir, "tokenizer.json");
    if (await exists(tokenizerJson)) {
      const json = await readJson(tokenizerJson, MAX_TOKENIZER_BYTES);
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new TypeError(`${tokenizerJson}: expected a JSON object, found ${JSON.stringify(json)}`);
      }
      return Gpt2Tokenizer.#build(() => new Tokenizer(json, {}), tokenizerJson);
    }
    for (const [vocabFile, mergesFile] of [["vocab.json", "merges.txt"], ["encoder.json", "vocab.bpe"]]) {
      const vocabPath = join(dir, vocabFile);
      const mergesPath = join(dir, mergesFile);
      if (await exists(vocabPath) && await exists(mergesPath)) {
        const vocab = await readJson(vocabPath, MAX_TOKENIZER_BYTES);
        if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
          throw new TypeError(`${vocabPath}: expected a JSON object of token ids, found ${JSON.stringify(vocab)}`);
        }
        for (const [token, id] of Object.entries(vocab)) {
          if (!Number.isSafeInteger(id) || id < 0) {
            throw new TypeError(
              `${vocabPath}: token ${JSON.stringify(token)} has id ${
                JSON.stringify(id)
              }: expected a non-negative integer`,
            );
          }
        }
        const merges = parseMerges(await readRegularTextFile(mergesPath, MAX_TOKENIZER_BYTES, "a merges file"));
        return Gpt2Tokenizer.#build(
          () => new Tokenizer(gpt2TokenizerJson(vocab as Record<string, number>, merges), {}),
          `${vocabPath} with ${mergesPath}`,
        );
      }
    }
    throw new Deno.errors.NotFound(
      `${dir} has no tokenizer: expected tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe`,
    );
  }

  /**
   * Builds the tokenizer from a vocabulary (token → id) and BPE merges ("a b" per merge, by priority).
   *
   * @example A toy vocabulary
   * ```ts
   * import { Gpt2Tokenizer } from "./tokenizer.ts";
   * const tok = Gpt2Tokenizer.fromVocab({ "a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3 }, ["a b"]);
   * console.log(tok.toTokens("ab")); // [3, 2]
   * ```
   *
   * @param vocab Token strings (byte-level alphabet) to ids.
   * @param merges Merge rules in priority order.
   * @returns The tokenizer.
   */
  static fromVocab(vocab: Record<string, number>, merges: string[]): Gpt2Tokenizer {
    return new Gpt2Tokenizer(new Tokenizer(gpt2TokenizerJson(vocab, merges), {}));
  }

  /**
   * Token ids of a text (TransformerLens `to_tokens` for one string).
   *
   * @param text The text; `<|endoftext|>` in it becomes the special token.
   * @param options `prependBos` (default true).
   * @returns The ids.
   */
  toTokens(text: string, options: ToTokensOptions = {}): number[] {
    const { prependBos = true } = options;
    const ids = this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
    return prependBos ? [this.bosTokenId, ...ids] : ids;
  }

  /**
   * Each token of a text as a string (TransformerLens `to_str_tokens`).
   *
   * @param input A text (tokenized with `options`) or token ids.
   * @param options `prependBos` (default true) when `input` is a text.
   * @returns One string per token.
   */
  toStrTokens(input: string | readonly number[], options: ToTokensOptions = {}): string[] {
    const ids = typeof input === "string" ? this.toTokens(input, options) : input;
    return ids.map((id) => this.toString([id]));
  }

  /**
   * The id of a string that is exactly one token (TransformerLens `to_single_token`).
   *
   * @param text E.g. `" Paris"`.
   * @returns Its id.
   * @throws {RangeError} When the text is not one token.
   */
  toSingleToken(text: string): number {
    const ids = this.toTokens(text, { prependBos: false });
    if (ids.length !== 1) {
      const pieces = ids.map((id) => `${JSON.stringify(this.toString([id]))} ${id}`).join(", ");
      throw new RangeError(`${JSON.stringify(text)} is ${ids.length} tokens (${pieces}): expected exactly one`);
    }
    return ids[0];
  }

  /**
   * Decodes ids to text (TransformerLens `to_string`).
   *
   * @param ids Token ids.
   * @returns The text, special tokens included.
   */
  toString(ids: readonly number[]): string {
    return this.#tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}
