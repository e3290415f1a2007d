/**
 * A model's tokenizer, offline: any Hugging Face `tokenizer.json` (GPT-2's byte-level BPE, the SentencePiece-style BPE
 * of Llama 3, Gemma and Qwen), or GPT-2's `vocab.json` + `merges.txt` / OpenAI's `encoder.json` + `vocab.bpe`, with
 * TransformerLens's `to_tokens` family of methods and each family's BOS rule.
 *
 * @module
 */

import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { readRegularTextFile } from "../io/read_regular_file.ts";
import { checkBpeTokenizer } from "./bpe_check.ts";

/** Bytes a tokenizer file may have (GPT-2's tokenizer.json is 1.4 MB; large vocabularies reach tens of MB). */
const MAX_TOKENIZER_BYTES = 256 * 1024 * 1024;

/** `<|endoftext|>`: GPT-2's BOS, EOS and padding token. */
export const END_OF_TEXT = "<|endoftext|>";

/** Options of {@linkcode ModelTokenizer.toTokens}. */
export interface ToTokensOptions {
  /** Put BOS first. @default {the model's rule: TransformerLens's default_prepend_bos for its family} */
  prependBos?: boolean;
}

/** The BOS rule of a model. */
export interface BosRule {
  /** The BOS token id (config.json's `bos_token_id`), or null: then the tokenizer's, or `<|endoftext|>`. */
  bosTokenId?: number | null;
  /**
   * Whether text gets BOS by default: `"tokenizer"` does what the tokenizer's post-processor does (Hugging Face's
   * `add_special_tokens`). @default {true}
   */
  prependBos?: boolean | "tokenizer";
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
  // CRLF line ends are line ends
  return text.split(/\r?\n/).filter((line) => line.length > 0 && !line.startsWith("#version"));
}

/** A model's tokenizer. */
export class ModelTokenizer {
  readonly #tokenizer: Tokenizer;
  /** The BOS token id, or null when the model has none. */
  readonly bosTokenId: number | null;
  /** Whether text gets BOS unless told otherwise. */
  readonly prependBosByDefault: boolean;
  /**
   * One past the largest id of the tokenizer's own vocabulary, added special tokens aside (Gemma 3's tokenizer adds
   * `<image_soft_token>` past the text model's vocabulary; a run refuses ids past the model's).
   */
  readonly vocabSize: number;

  private constructor(tokenizer: Tokenizer, rule: BosRule, files: string) {
    this.#tokenizer = tokenizer;
    // what the post-processor puts before a text (Llama 3's <|begin_of_text|>, Gemma's <bos>), if anything
    const plain = tokenizer.encode("a", { add_special_tokens: false }).ids;
    const special = tokenizer.encode("a", { add_special_tokens: true }).ids;
    const added = special.length > plain.length ? special[0] : undefined;
    this.bosTokenId = rule.bosTokenId ?? added ?? tokenizer.token_to_id(END_OF_TEXT) ?? null;
    const { prependBos = true } = rule;
    this.prependBosByDefault = prependBos === "tokenizer" ? added !== undefined : prependBos;
    if (this.prependBosByDefault && this.bosTokenId === null) {
      throw new TypeError(`${files}: the model puts BOS before text but neither it nor its config has a BOS token`);
    }
    let top = -1;
    for (const id of tokenizer.get_vocab(false).values()) top = Math.max(top, id);
    this.vocabSize = top + 1;
  }

  /** Builds the tokenizer, naming the files when the library refuses them (its errors name neither). */
  static #build(make: () => Tokenizer, files: string, rule: BosRule): ModelTokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = make();
    } catch (cause) {
      throw new TypeError(`${files} is not a usable tokenizer: ${(cause as Error).message}`, { cause });
    }
    return new ModelTokenizer(tokenizer, rule, files);
  }

  /**
   * Reads a tokenizer from a folder holding `tokenizer.json` (with `tokenizer_config.json` when present),
   * `vocab.json` + `merges.txt`, or `encoder.json` + `vocab.bpe` (checked in that order).
   *
   * @example Load the fixture model's tokenizer
   * ```ts ignore
   * import { ModelTokenizer } from "./model_tokenizer.ts";
   * const tok = await ModelTokenizer.load("../shared/fixtures/gpt2-sotu-tiny");
   * console.log(tok.toTokens("The capital of France is Paris", { prependBos: false })); // [464, 3139, 286, 4881, 318, 6342]
   * ```
   *
   * @param dir The folder.
   * @param rule The model's BOS rule.
   * @returns The tokenizer.
   * @throws {Deno.errors.NotFound} When none of the file sets is there.
   * @throws {TypeError} When a file is not a regular file or not a tokenizer (the message names it).
   * @throws {SyntaxError} When a file is not valid JSON or UTF-8.
   */
  static async load(dir: string, rule: BosRule = {}): Promise<ModelTokenizer> {
    const tokenizerJson = join(dir, "tokenizer.json");
    if (await exists(tokenizerJson)) {
      const json = await readJson(tokenizerJson, MAX_TOKENIZER_BYTES);
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new TypeError(`${tokenizerJson}: expected a JSON object, found ${JSON.stringify(json)}`);
      }
      const configPath = join(dir, "tokenizer_config.json");
      const config = await exists(configPath) ? await readJson(configPath, MAX_TOKENIZER_BYTES) : {};
      if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new TypeError(`${configPath}: expected a JSON object, found ${JSON.stringify(config)}`);
      }
      checkBpeTokenizer(json, tokenizerJson);
      return ModelTokenizer.#build(() => new Tokenizer(json, config), tokenizerJson, rule);
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
        const json = gpt2TokenizerJson(vocab as Record<string, number>, merges);
        checkBpeTokenizer(json, `${vocabPath} with ${mergesPath}`);
        return ModelTokenizer.#build(() => new Tokenizer(json, {}), `${vocabPath} with ${mergesPath}`, rule);
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
   * import { ModelTokenizer } from "./model_tokenizer.ts";
   * const tok = ModelTokenizer.fromVocab({ "a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3 }, ["a b"]);
   * console.log(tok.toTokens("ab")); // [3, 2]
   * ```
   *
   * @param vocab Token strings (byte-level alphabet) to ids.
   * @param merges Merge rules in priority order.
   * @returns The tokenizer (BOS `<|endoftext|>` first by default, as GPT-2's).
   */
  static fromVocab(vocab: Record<string, number>, merges: string[]): ModelTokenizer {
    return ModelTokenizer.#build(() => new Tokenizer(gpt2TokenizerJson(vocab, merges), {}), "the vocabulary", {});
  }

  /**
   * Token ids of a text (TransformerLens `to_tokens` for one string).
   *
   * @param text The text; special tokens written in it (`<|endoftext|>`, `<bos>`) become those tokens.
   * @param options `prependBos` (default: the model's rule).
   * @returns The ids.
   * @throws {TypeError} When the text is not a string.
   * @throws {RangeError} When BOS is asked for and the model has none.
   */
  toTokens(text: string, options: ToTokensOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`Cannot tokenize ${typeof text}: expected a string`);
    const { prependBos = this.prependBosByDefault } = options;
    const ids = this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (!prependBos) return ids;
    if (this.bosTokenId === null) throw new RangeError("Cannot prepend BOS as the model has no BOS token");
    return [this.bosTokenId, ...ids];
  }

  /**
   * Each token of a text as a string (TransformerLens `to_str_tokens`).
   *
   * @param input A text (tokenized with `options`) or token ids.
   * @param options `prependBos` (default: the model's rule) when `input` is a text.
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
