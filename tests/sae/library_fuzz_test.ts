// The library's entry points called as a careless or hostile program would: parseSaeLensConfig on arbitrary objects,
// SAE.fromWeights on damaged weights, every SAE op on inputs of wrong shapes and types, a destroyed SAE, SAE.save to
// odd places, and HookedTransformer's tokenizer, runs, hooks and generation on bad tokens, names and options. Each
// call returns what its arguments mean (checked against a plain computation) or throws one clean line; never a raw
// TypeError from deep inside, ONNX Runtime's own message, a hang, unbounded memory or a file written elsewhere.
// SAE_FUZZ_LIBRARY sets the number of calls (default 300), SAE_FUZZ_SEED the seed.
import { join } from "node:path";
import { parseSaeLensConfig, type SaeConfig } from "../../core/sae/config.ts";
import { SAE } from "../../core/sae/sae.ts";
import type { SaeWeights } from "../../core/sae/architecture.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import type { Tensor } from "../../core/util/tensor.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { type FuzzCase, FuzzRandom, FuzzRun } from "../_fuzz.ts";

const CALLS = Number(Deno.env.get("SAE_FUZZ_LIBRARY") ?? 300);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? 23);
const random = new FuzzRandom(SEED);
const D_IN = 16, D_SAE = 32, K = 4;

/** Values a careless caller passes where a number, string or array belongs. */
const ODD: unknown[] = [0, -1, 1.5, NaN, Infinity, 2 ** 53, "4", "", null, undefined, true, [], {}, [1, 2], () => 1];

function weights(dIn = D_IN, dSae = D_SAE): SaeWeights {
  const r = () => random.next() * 2 - 1;
  const t = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, r) });
  return { W_enc: t([dIn, dSae]), W_dec: t([dSae, dIn]), b_enc: t([dSae]), b_dec: t([dIn]) };
}

/** relu((x - b_dec) W_enc + b_enc) for every row: what a standard SAE's encode must give. */
function standardEncode(w: SaeWeights, x: Float32Array): Float32Array {
  const rows = x.length / D_IN, out = new Float32Array(rows * D_SAE);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < D_SAE; j++) {
      let s = w.b_enc!.data[j];
      for (let i = 0; i < D_IN; i++) s += (x[r * D_IN + i] - w.b_dec.data[i]) * w.W_enc.data[i * D_SAE + j];
      out[r * D_SAE + j] = Math.max(s, 0);
    }
  }
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= 1e-4 * (1 + Math.abs(b[i])));

/** parseSaeLensConfig on an object with one field odd, or an odd architecture. */
function configCall(): FuzzCase {
  const base: Record<string, unknown> = { architecture: "standard", d_in: D_IN, d_sae: D_SAE, metadata: {} };
  const field = random.pick(["architecture", "d_in", "d_sae", "k", "metadata", "normalize_activations", "dtype"]);
  const value = field === "architecture"
    ? random.pick(["constructor", "__proto__", "toString", "topk", "jumprelu", "gated", "nope", ...ODD])
    : random.pick(ODD);
  const cfg = { ...base, [field]: value, ...(field === "architecture" && value === "topk" ? { k: K } : {}) };
  return {
    label: `parseSaeLensConfig with ${field} = ${String(value)}`,
    mustName: undefined,
    run: () => {
      const parsed = parseSaeLensConfig(cfg, "cfg.json");
      const ok = Number.isInteger(parsed.d_in) && parsed.d_in > 0 && Number.isInteger(parsed.d_sae) &&
        parsed.d_sae > 0 && (parsed.k === undefined || (Number.isInteger(parsed.k) && parsed.k <= parsed.d_sae));
      return Promise.resolve(ok ? undefined : `accepted ${JSON.stringify(parsed)}`);
    },
  };
}

/** SAE.fromWeights with one weight damaged: a shape, a NaN, a missing or extra tensor. */
function fromWeightsCall(cfg: SaeConfig): FuzzCase {
  const w = weights() as unknown as Record<string, { shape: number[]; data: Float32Array } | undefined>;
  const name = random.pick(["W_enc", "W_dec", "b_enc", "b_dec"]);
  const how = random.pick(["reshaped", "NaN", "Inf", "missing", "extra", "data too short", "data not an array"]);
  const t = w[name]!;
  if (how === "reshaped") w[name] = { ...t, shape: [...t.shape].reverse().concat(t.shape.length === 1 ? [1] : []) };
  else if (how === "NaN" || how === "Inf") t.data[random.int(t.data.length)] = how === "NaN" ? NaN : Infinity;
  else if (how === "missing") delete w[name];
  else if (how === "extra") w.W_extra = t;
  else if (how === "data too short") w[name] = { ...t, data: t.data.subarray(1) };
  else w[name] = { ...t, data: [1, 2, 3] as unknown as Float32Array };
  return {
    label: `SAE.fromWeights with ${name} ${how}`,
    run: async () => {
      const sae = await SAE.fromWeights(cfg, w as unknown as SaeWeights, { device: "cpu" });
      sae.destroy();
      return `accepted weights with ${name} ${how}`;
    },
  };
}

/** One op of a live SAE on an input of a random shape, length or type. */
function opCall(sae: SAE, w: SaeWeights): FuzzCase {
  const op = random.pick(["encode", "decode", "forward", "splice", "encodeWithHiddenPre"] as const);
  const width = op === "decode" ? D_SAE : D_IN;
  const lead = random.pick([[3], [2, 2], [0], [1, 1, 2], []]);
  const wrong = random.next() < 0.5;
  const shape: unknown = wrong
    ? random.pick([[...lead, width + 1], [...lead, -width], [2.5, width], [width], "x", null, [NaN, width]])
    : [...lead, width];
  const n = Math.max(0, Array.isArray(shape) ? shape.reduce((a: number, b: unknown) => a * (Number(b) || 0), 1) : 0);
  const data: unknown = wrong && random.next() < 0.3
    ? random.pick([new Float32Array(Math.max(0, n - 1)), [1, 2, 3], null, new Float64Array(n)])
    : Float32Array.from({ length: n }, () => random.next() * 2 - 1);
  const input = { shape, data } as unknown as { shape: number[]; data: Float32Array };
  return {
    label: `sae.${op} of shape ${JSON.stringify(shape)} (${
      (data as { constructor?: { name: string } })?.constructor?.name
    })`,
    run: async () => {
      let out: Tensor;
      if (op === "encodeWithHiddenPre") out = sae.encodeWithHiddenPre(input).features;
      else out = sae[op](input);
      const values = await out.read();
      const rows = input.data.length / width;
      const expectShape = [
        ...(input.shape as number[]).slice(0, -1),
        op === "encode" || op === "encodeWithHiddenPre" ? D_SAE : D_IN,
      ];
      if (JSON.stringify(out.shape) !== JSON.stringify(expectShape)) {
        return `shape ${out.shape}, expected ${expectShape}`;
      }
      if (!values.every(Number.isFinite)) return "non-finite outputs from finite inputs";
      if (op === "encode" && !close(values, standardEncode(w, input.data))) return "features differ from the formula";
      if (op === "splice" && !close(values, input.data)) return "splice of unedited features changed the input";
      return values.length === rows * expectShape.at(-1)! ? undefined : `${values.length} values for ${rows} rows`;
    },
  };
}

/** A destroyed SAE or a destroyed tensor used again. */
function destroyedCall(cfg: SaeConfig, w: SaeWeights): FuzzCase {
  const what = random.pick(["encode", "decode", "save", "read"] as const);
  return {
    label: `a destroyed SAE's ${what}`,
    run: async () => {
      const sae = await SAE.fromWeights(cfg, w, { device: "cpu" });
      const x = { shape: [1, D_IN], data: new Float32Array(D_IN) };
      if (what === "read") {
        const f = sae.encode(x);
        f.destroy();
        await f.read();
      } else {
        sae.destroy();
        if (what === "encode") await sae.encode(x).read();
        else if (what === "decode") await sae.decode({ shape: [1, D_SAE], data: new Float32Array(D_SAE) }).read();
        else await sae.save(await Deno.makeTempDir({ prefix: "sae-destroyed-" }));
      }
      return `a destroyed SAE's ${what} went through`;
    },
  };
}

/** SAE.save to an empty path, a file, a device, a folder holding other files. */
function saveCall(sae: SAE, root: string, own: string): FuzzCase {
  const dir = join(root, own);
  const target = random.pick(["", ".", "file", "/dev/null", "/dev/full", "fresh", "nested/deeper"]);
  return {
    label: `sae.save(${JSON.stringify(target)})`,
    run: async () => {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "file"), "keep me");
      const path = target.startsWith("/") || target === "" ? target : target === "." ? dir : join(dir, target);
      await sae.save(path);
      if (await Deno.readTextFile(join(dir, "file")) !== "keep me") return "a file beside the save was changed";
      const back = await SAE.load(path, { device: "cpu" });
      back.destroy();
      // a folder, new or holding other files (as SAELens's save_model), takes the save; nothing else does
      return ["fresh", "nested/deeper", "."].includes(target) ? undefined : `saved into ${JSON.stringify(target)}`;
    },
  };
}

/** HookedTransformer on bad tokens, hook names, hooks and options. */
function modelCall(model: HookedTransformer): FuzzCase {
  const vocab = model.cfg.dVocab, ctx = model.cfg.nCtx;
  const kind = random.pick(["toTokens", "run", "runWithCache", "runWithHooks", "generate"] as const);
  const goodRow = () => Array.from({ length: 1 + random.int(6) }, () => random.int(vocab));
  const badTokens = random.pick<unknown>([
    [[vocab]],
    [[-1, 5]],
    [[1.5]],
    [[NaN]],
    [[1, 2], [3]],
    [[]],
    [],
    [Array(ctx + 1).fill(1)],
    ["a", 3],
    null,
    5,
  ]);
  const valid = random.next() < 0.3;
  const tokens = valid ? [goodRow()] : badTokens;
  const label = `${kind} on ${JSON.stringify(tokens)?.slice(0, 60)}`;
  if (kind === "toTokens") {
    const input = random.pick<unknown>([5, null, ["a", 3], {}, "", "plain text \u{1F600}"]);
    return {
      label: `toTokens(${JSON.stringify(input)})`,
      run: () => {
        const ids = model.toTokens(input as string);
        return Promise.resolve(
          typeof input === "string" ? undefined : `toTokens(${JSON.stringify(input)}) gave ${ids}`,
        );
      },
    };
  }
  return {
    label,
    run: async () => {
      let logits: { shape: readonly number[]; data: Float32Array } | undefined;
      if (kind === "run") logits = (await model.run(tokens as number[][])).logits;
      else if (kind === "runWithCache") {
        const names = [
          random.pick([
            "blocks.0.hook_resid_pre",
            "blocks.9.hook_resid_pre",
            "blocks.0.hook_resid_prex",
            "",
            "hook_embed",
          ]),
        ];
        logits = (await model.runWithCache(tokens as number[][], { names })).logits;
      } else if (kind === "runWithHooks") {
        const result = random.pick<unknown>(["same", "wider", "NaN", "not a tensor", "throws"]);
        const hook = (a: { shape: readonly number[]; data: Float32Array }) => {
          if (result === "throws") throw new Error("the hook's own failure");
          if (result === "same") return a;
          if (result === "wider") {
            return { shape: [...a.shape.slice(0, -1), a.shape.at(-1)! + 1], data: new Float32Array(a.data.length + 1) };
          }
          if (result === "NaN") return { shape: a.shape, data: a.data.map(() => NaN) };
          return 5 as never;
        };
        logits =
          (await model.runWithHooks(tokens as number[][], { fwdHooks: [["blocks.1.hook_resid_pre", hook]] })).logits;
        if (result !== "same") return `a hook returning ${result} was accepted`;
      } else {
        const option = random.pick<[string, unknown]>([
          ["maxNewTokens", -1],
          ["maxNewTokens", 1e12],
          ["temperature", NaN],
          ["topK", -3],
          ["topP", 2],
          ["maxNewTokens", 2],
        ]);
        const out = await model.generate(tokens as number[][], { [option[0]]: option[1], stopAtEos: false });
        if (option[1] !== 2) return `generate accepted ${option[0]} = ${option[1]}`;
        return out.tokens.every((row) => row.every((t) => Number.isInteger(t) && t >= 0 && t < vocab))
          ? undefined
          : "generated ids outside the vocabulary";
      }
      if (!valid) return `a run accepted ${JSON.stringify(tokens)}`;
      return logits!.data.every(Number.isFinite) ? undefined : "non-finite logits";
    },
  };
}

Deno.test(`the library's entry points answer ${CALLS} careless and hostile calls cleanly`, async () => {
  const root = await Deno.makeTempDir({ prefix: "sae-library-fuzz-" });
  const fuzz = new FuzzRun({ root, hangMs: 20000 });
  const cfg = parseSaeLensConfig({ architecture: "standard", d_in: D_IN, d_sae: D_SAE, metadata: {} }, "cfg.json");
  const w = weights();
  const sae = await SAE.fromWeights(cfg, w, { device: "cpu" });
  const model = await HookedTransformer.load(`${FIXTURES}gpt2-sotu-tiny`, { backend: "node" });
  try {
    for (let i = 0; i < CALLS; i++) {
      const roll = random.next();
      const own = String(i);
      const input = roll < 0.2
        ? configCall()
        : roll < 0.35
        ? fromWeightsCall(cfg)
        : roll < 0.65
        ? opCall(sae, w)
        : roll < 0.72
        ? destroyedCall(cfg, w)
        : roll < 0.8
        ? saveCall(sae, root, own)
        : modelCall(model);
      await fuzz.run(input, own);
      await Deno.remove(join(root, own), { recursive: true }).catch(() => {});
    }
  } finally {
    sae.destroy();
    await model.dispose();
    await Deno.remove(root, { recursive: true });
  }
  console.log(fuzz.summary("library fuzz", SEED));
  assertEquals(fuzz.failures.slice(0, 25), []);
});
