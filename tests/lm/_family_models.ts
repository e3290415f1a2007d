// The family fixtures' model folders, and copies of them rewritten in other dtypes and shard layouts.
import { join } from "node:path";
import { encodeSafetensors, readSafetensors, type TensorToWrite, toFloat32 } from "../../core/io/safetensors.ts";
import { FIXTURES } from "../_fixtures.ts";
import { familyFixture } from "../fixtures/families/model_folder.ts";

/** The shared fixtures' families (../shared/fixtures/families). */
export const SHARED_FAMILY_FIXTURES = ["llama", "gemma2", "pythia"] as const;
/** Every family fixture: the shared ones and this repository's (tests/fixtures/families). */
export const FAMILY_FIXTURES = [...SHARED_FAMILY_FIXTURES, "qwen3", "gemma3", "qwen2", "mistral"] as const;

/** A shared family fixture's model folder. */
export function familyModelDir(family: (typeof SHARED_FAMILY_FIXTURES)[number]): string {
  return `${FIXTURES}families/${family}/model`;
}

/** A family fixture's folder (reference-dev.*, sae/) and its loadable model folder. */
export async function familyFixtureDirs(
  family: (typeof FAMILY_FIXTURES)[number],
): Promise<{ dir: string; modelDir: string }> {
  if (family === "llama" || family === "gemma2" || family === "pythia") {
    return { dir: `${FIXTURES}families/${family}`, modelDir: familyModelDir(family) };
  }
  return await familyFixture(family);
}

/** float32 → bfloat16 words, rounded to nearest even as PyTorch's `.to(torch.bfloat16)` does. */
export function toBfloat16(x: Float32Array): Uint16Array {
  const words = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  return Uint16Array.from(words, (w) => (w + 0x7fff + ((w >>> 16) & 1)) >>> 16);
}

/**
 * Copies a model folder with its weights as `dtype`, split over `shards` files with a model.safetensors.index.json
 * when more than one (Hugging Face's sharded layout), into a new temporary folder.
 */
export async function rewriteModel(
  src: string,
  options: { dtype: "F32" | "F16" | "BF16"; shards: number },
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sae-model-" });
  for await (const entry of Deno.readDir(src)) {
    if (!entry.name.endsWith(".safetensors")) await Deno.copyFile(join(src, entry.name), join(dir, entry.name));
  }
  const { tensors } = await readSafetensors(join(src, "model.safetensors"));
  const names = [...tensors.keys()];
  const per = Math.ceil(names.length / options.shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < options.shards; s++) {
    const file = options.shards === 1
      ? "model.safetensors"
      : `model-${String(s + 1).padStart(5, "0")}-of-${String(options.shards).padStart(5, "0")}.safetensors`;
    const part: Record<string, TensorToWrite> = {};
    for (const name of names.slice(s * per, (s + 1) * per)) {
      const entry = tensors.get(name)!;
      const f32 = toFloat32(entry, name);
      const data = options.dtype === "F32" ? f32 : options.dtype === "F16" ? Float16Array.from(f32) : toBfloat16(f32);
      part[name] = { shape: entry.shape, data };
      weightMap[name] = file;
    }
    await Deno.writeFile(join(dir, file), encodeSafetensors(part));
  }
  if (options.shards > 1) {
    await Deno.writeTextFile(
      join(dir, "model.safetensors.index.json"),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );
  }
  return dir;
}
