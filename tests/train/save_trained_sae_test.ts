import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { writeSaeFolder } from "../../core/sae/write_sae.ts";
import { SAE } from "../../core/sae/sae.ts";
import { initialParameters } from "../../core/train/initial_parameters.ts";
import { inferenceSae } from "../../core/train/save_trained_sae.ts";
import {
  SAE_TRAINING_DEFAULTS,
  type SaeTrainingConfig,
  TRAIN_ARCHITECTURES,
  type TrainArchitecture,
} from "../../core/train/sae_training_config.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";
import { assertEquals } from "../_assert.ts";
import { gpu } from "../_gpu.ts";
import { assertClose, randomArray } from "../_reference.ts";

const D = 8, S = 16;

function trained(architecture: TrainArchitecture) {
  const cfg: SaeTrainingConfig = { ...SAE_TRAINING_DEFAULTS, architecture, d_in: D, d_sae: S, k: 4 };
  const params = initialParameters(cfg, mulberry32(3));
  // biases away from zero so that every term of the fold shows
  for (const [name, value] of params) {
    if (name !== "W_enc" && name !== "W_dec") value.set(randomArray(value.length, 9, 0.1));
  }
  return { cfg, params, batchThreshold: 0.05, metadata: {} };
}

for (const architecture of TRAIN_ARCHITECTURES) {
  Deno.test(`inferenceSae() folds the expected_average_only_in scale into a ${architecture} SAE`, async () => {
    const scale = 2.5;
    const x = randomArray(5 * D, 4, 3);
    const plain = inferenceSae(trained(architecture));
    const folded = inferenceSae({ ...trained(architecture), scalingFactor: scale });
    assertEquals(folded.cfg.normalize_activations, "none");
    const a = await SAE.fromWeights(plain.cfg, plain.weights, { gpu });
    const b = await SAE.fromWeights(folded.cfg, folded.weights, { gpu });
    try {
      // The folded SAE on raw x is the trained SAE on scaled x, its output unscaled. As in SAELens, the decoder
      // norms are folded after the scale, so the features come out divided by it too.
      const input = { shape: [5, D], data: x };
      const scaled = { shape: [5, D], data: x.map((v) => v * scale) };
      const features = (await a.encode(scaled).read()).map((v) => v / scale);
      assertClose(await b.encode(input).read(), features, 1e-4, "features");
      const out = await a.forward(scaled).read();
      assertClose(await b.forward(input).read(), out.map((v) => v / scale), 1e-4, "reconstruction");
    } finally {
      a.destroy();
      b.destroy();
    }
  });
}

// What SAELens 6.18's SAE.load_from_disk needs of a folder (sae_lens/saes/*.py, loading/pretrained_sae_loaders.py):
// metadata.sae_lens_version >= 6 (else the cfg is read as pre-6.0), the SAEConfig fields with their types, the
// architecture's own config fields, and a state dict whose keys and shapes are exactly the architecture's parameters.
const SAELENS_STATE: Record<string, Record<string, number[]>> = {
  standard: { W_enc: [D, S], W_dec: [S, D], b_enc: [S], b_dec: [D] },
  topk: { W_enc: [D, S], W_dec: [S, D], b_enc: [S], b_dec: [D] },
  jumprelu: { W_enc: [D, S], W_dec: [S, D], b_enc: [S], b_dec: [D], threshold: [S] },
  gated: { W_enc: [D, S], W_dec: [S, D], b_gate: [S], b_mag: [S], r_mag: [S], b_dec: [D] },
};

for (const architecture of TRAIN_ARCHITECTURES) {
  Deno.test(`a trained ${architecture} SAE saves every field SAELens's loader requires`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { cfg, weights } = inferenceSae(trained(architecture));
      await writeSaeFolder(dir, cfg, weights);
      const saved = JSON.parse(await Deno.readTextFile(join(dir, "cfg.json")));
      const type = (v: unknown) => Array.isArray(v) ? "list" : v === null ? "null" : typeof v;
      const fields: [string, string][] = [
        ["d_in", "number"],
        ["d_sae", "number"],
        ["dtype", "string"],
        ["device", "string"],
        ["apply_b_dec_to_input", "boolean"],
        ["normalize_activations", "string"],
        ["reshape_activations", "string"],
        ["architecture", "string"],
        ["metadata", "object"],
      ];
      if (saved.architecture === "topk") fields.push(["k", "number"], ["rescale_acts_by_decoder_norm", "boolean"]);
      for (const [field, t] of fields) assertEquals(type(saved[field]), t, field);
      assertEquals(Number.isInteger(saved.d_in) && Number.isInteger(saved.d_sae), true);
      assertEquals(["float32", "float64", "float16", "bfloat16"].includes(saved.dtype), true, saved.dtype);
      assertEquals(saved.device, "cpu"); // a torch device
      assertEquals(saved.normalize_activations, "none");
      assertEquals(saved.reshape_activations, "none");
      assertEquals(Number(saved.metadata.sae_lens_version.split(".")[0]) >= 6, true);
      assertEquals("sae_lens_training_version" in saved.metadata, false, "SAELens did not train it");
      const state = (await readSafetensors(join(dir, "sae_weights.safetensors"))).tensors;
      const expected = SAELENS_STATE[saved.architecture];
      assertEquals([...state.keys()].sort(), Object.keys(expected).sort());
      for (const [name, shape] of Object.entries(expected)) {
        assertEquals(state.get(name)!.shape, shape, name);
        assertEquals(state.get(name)!.dtype, "F32", name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
