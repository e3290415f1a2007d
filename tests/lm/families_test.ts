// Every model family against Hugging Face's numbers: ../shared/fixtures/families (tiny random-weight Llama 3.1, Gemma 2
// and Pythia models with their real tokenizers, numbers from transformers' own code) and tests/fixtures/families (Qwen 3
// in sharded bfloat16, Gemma 3 in float16, Qwen 2 with q/k/v biases and Mistral with a sliding window on every layer,
// numbers from an independent PyTorch transcription of transformers' modeling code), each with a Gemma Scope JumpReLU
// SAE: token ids, every stored hook, log-probs and log-sum-exp, the greedy continuation, and the SAE's features.
import { assertEquals } from "../_assert.ts";
import { readSafetensors, type SafetensorsFile, toFloat32, toIntegers } from "../../core/io/safetensors.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { NO_PROCESSING } from "../../core/lm/process_weights.ts";
import { SAE } from "../../core/sae/sae.ts";
import { FAMILY_FIXTURES, familyFixtureDirs } from "./_family_models.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** The bound for every comparison (absolute). */
const TOLERANCE = 1e-4;

interface Reference {
  file: SafetensorsFile;
  prompts: Record<string, { text: string; input_ids: number[] }>;
}

async function reference(dir: string): Promise<Reference> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/reference-dev.json`));
  return { file: await readSafetensors(`${dir}/reference-dev.safetensors`), prompts: json.prompts };
}

function tensor(ref: Reference, name: string): Float32Array {
  const entry = ref.file.tensors.get(name);
  if (!entry) throw new Error(`reference has no ${name}`);
  return toFloat32(entry, name);
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The stored hooks of a prompt, by our (TransformerLens 2.x) name. */
function storedHooks(ref: Reference, prompt: string): Map<string, Float32Array> {
  const hooks = new Map<string, Float32Array>();
  for (const name of ref.file.tensors.keys()) {
    const hook = name.slice(prompt.length + 1);
    if (!name.startsWith(`${prompt}.`) || !/hook_/.test(hook) || hook.startsWith("sae.")) continue;
    // LayerNorm's hook_normalized is after its weight and bias in TransformerLens 2.x, which SAELens pins
    if (hook === "ln_final.hook_normalized" && ref.file.tensors.has(`${name}__tl2`)) continue;
    hooks.set(hook.replace(/__tl2$/, ""), tensor(ref, name));
  }
  return hooks;
}

for (const family of FAMILY_FIXTURES) {
  const { dir, modelDir } = await familyFixtureDirs(family);
  const ref = await reference(dir);
  // the references are TransformerLens's from_pretrained_no_processing
  const model = await HookedTransformer.load(modelDir, { processing: NO_PROCESSING });
  const prompts = Object.keys(ref.prompts);

  Deno.test({
    name: `HookedTransformer (${family}) tokenizes each prompt as transformers does, BOS by the family's rule`,
    ...opts,
    fn() {
      for (const p of prompts) {
        assertEquals(model.toTokens(ref.prompts[p].text), toIntegers(ref.file.tensors.get(`${p}.input_ids`)!, p));
      }
    },
  });

  Deno.test({
    name: `HookedTransformer (${family}) reproduces every stored hook within ${TOLERANCE}`,
    ...opts,
    async fn() {
      for (const p of prompts) {
        const hooks = storedHooks(ref, p);
        const { cache } = await model.runWithCache(ref.prompts[p].input_ids, { names: [...hooks.keys()] });
        for (const [hook, want] of hooks) {
          const got = cache.get(hook)!;
          const diff = maxAbs(got.data, want);
          if (!(diff <= TOLERANCE)) throw new Error(`${p} ${hook} differs by ${diff}`);
        }
        assertEquals(hooks.size >= 20, true, `${hooks.size} hooks compared`);
      }
    },
  });

  Deno.test({
    name: `HookedTransformer (${family}) gives transformers' log-probs and log-sum-exp within ${TOLERANCE}`,
    ...opts,
    async fn() {
      for (const p of prompts) {
        const ids = ref.prompts[p].input_ids;
        const { logits } = await model.run(ids);
        const V = model.cfg.dVocab;
        const lseRef = new Float64Array(ref.file.tensors.get(`${p}.logsumexp`)!.bytes.slice().buffer);
        const cols = toIntegers(ref.file.tensors.get(`${p}.logit_cols`)!, "logit_cols");
        const atCols = tensor(ref, `${p}.logits_at_cols`);
        for (let t = 0; t < ids.length; t++) {
          const row = logits!.data.subarray(t * V, (t + 1) * V);
          let max = -Infinity;
          for (const v of row) max = Math.max(max, v);
          let sum = 0;
          for (const v of row) sum += Math.exp(v - max);
          const lse = max + Math.log(sum);
          if (!(Math.abs(lse - lseRef[t]) <= TOLERANCE)) {
            throw new Error(`${p} log-sum-exp at ${t}: ${lse} vs ${lseRef[t]}`);
          }
          cols.forEach((c, j) => {
            const diff = Math.abs((row[c] - lse) - (atCols[t * cols.length + j] - lseRef[t]));
            if (!(diff <= TOLERANCE)) throw new Error(`${p} log-prob of ${c} at ${t} differs by ${diff}`);
          });
        }
      }
    },
  });

  Deno.test({
    name: `HookedTransformer (${family}) continues greedily as transformers does, with and without the KV cache`,
    ...opts,
    async fn() {
      for (const p of prompts) {
        const stored = ref.file.tensors.get(`${p}.greedy_continuation`);
        if (!stored) continue;
        const want = toIntegers(stored, "greedy_continuation");
        const ids = ref.prompts[p].input_ids;
        for (const useKvCache of [true, false]) {
          const { tokens } = await model.generate(ids, {
            maxNewTokens: want.length,
            doSample: false,
            stopAtEos: false,
            useKvCache,
          });
          assertEquals(tokens[0].slice(ids.length), want, `${p}, KV cache ${useKvCache}`);
        }
      }
    },
  });

  Deno.test({
    name: `SAE (Gemma Scope JumpReLU) on ${family}'s blocks.1.hook_resid_post gives the stored features`,
    ...opts,
    async fn() {
      const sae = await SAE.load(`${dir}/sae`);
      try {
        for (const p of prompts) {
          const hook = "blocks.1.hook_resid_post";
          const { cache } = await model.runWithCache(ref.prompts[p].input_ids, { names: [hook], stopAtLayer: 2 });
          const x = cache.get(hook)!;
          const rows = x.shape[1];
          const { features, hiddenPre } = sae.encodeWithHiddenPre({ shape: [rows, sae.cfg.d_in], data: x.data });
          const pre = await hiddenPre.read(), f = await features.read();
          const wantPre = tensor(ref, `${p}.sae.hook_sae_acts_pre`), wantF = tensor(ref, `${p}.sae.feature_acts`);
          if (!(maxAbs(pre, wantPre) <= TOLERANCE)) throw new Error(`${p} pre-activations differ`);
          // the same features fire, with the same values
          assertEquals(Array.from(f, (v) => v > 0), Array.from(wantF, (v) => v > 0), `${p} active features`);
          if (!(maxAbs(f, wantF) <= TOLERANCE)) throw new Error(`${p} features differ by ${maxAbs(f, wantF)}`);
          const recon = await sae.decode({ shape: [rows, sae.cfg.d_sae], data: f }).read();
          if (!(maxAbs(recon, tensor(ref, `${p}.sae.reconstruction`)) <= TOLERANCE)) {
            throw new Error(`${p} reconstruction differs`);
          }
        }
      } finally {
        sae.destroy();
      }
    },
  });
}
