// Hostile and damaged activation caches (`sae train --cached-activations-path`) through openActivationCache and its
// source, as training reads them: every row of an intact cache comes back as written (F32 or F16 shards), and every
// damaged one (fields of the wrong type, shards of another shape, dtype or length, NaN, all zeros, missing or
// truncated shards and tensors) fails with one line naming the file; never a crash, a hang or a silently wrong row.
// SAE_FUZZ_CACHES sets the number of inputs (default 120), SAE_FUZZ_SEED the seed.
import { join } from "node:path";
import { encodeSafetensors, type TensorToWrite } from "../../core/io/safetensors.ts";
import { openActivationCache } from "../../core/train/cached_activations.ts";
import { assertEquals } from "../_assert.ts";
import { type FuzzCase, FuzzRandom, FuzzRun } from "../_fuzz.ts";

const INPUTS = Number(Deno.env.get("SAE_FUZZ_CACHES") ?? 120);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? 29);
const random = new FuzzRandom(SEED);
const HOOKS = ["blocks.0.hook_resid_pre", "blocks.1.hook_mlp_out", "blocks.2.attn.hook_z"];

interface CacheInput {
  label: string;
  files: Record<string, Uint8Array | string>;
  /** Each hook's rows as written, or "refuse". */
  expected: Float32Array[] | "refuse";
  /** The file a refusal must name. */
  names: string;
}

const shardName = (i: number) => `shard_${String(i).padStart(5, "0")}.safetensors`;

/** An intact cache, then at most one damage to it. */
function cacheInput(): CacheInput {
  const hooks = HOOKS.slice(0, 1 + random.int(HOOKS.length));
  const widths = hooks.map(() => 1 + random.int(12));
  const context = 1 + random.int(6), perShard = 1 + random.int(4), rows = 1 + random.int(9);
  const f16 = random.next() < 0.2;
  // values exact in float16 too, never all zero
  const data = widths.map((w) => Float32Array.from({ length: rows * context * w }, (_, i) => (i % 7) - 3 + 0.5));
  const info: Record<string, unknown> = {
    hooks,
    widths,
    context_size: context,
    rows_per_shard: perShard,
    rows,
    model_name: "m",
    dataset_path: "d",
  };
  const shards: Record<string, Record<string, TensorToWrite>>[] = [];
  for (let s = 0; s * perShard < rows; s++) {
    const n = Math.min(perShard, rows - s * perShard);
    shards.push({
      [shardName(s)]: Object.fromEntries(hooks.map((h, i) => {
        const size = context * widths[i];
        const values = data[i].slice(s * perShard * size, (s * perShard + n) * size);
        return [h, { shape: [n * context, widths[i]], data: f16 ? Float16Array.from(values) : values }];
      })),
    });
  }
  const files: Record<string, Uint8Array | string> = {};
  const shardFiles = Object.assign({}, ...shards) as Record<string, Record<string, TensorToWrite>>;
  const damage = random.next() < 0.35 ? "none" : random.pick([
    "field",
    "shape",
    "nan",
    "zeros",
    "missing-shard",
    "missing-tensor",
    "truncated",
    "more-rows",
  ]);
  const victim = random.pick(Object.keys(shardFiles)), hook = random.pick(hooks);
  const t = shardFiles[victim][hook];
  let names = "cache_config.json";
  if (damage === "field") {
    const key = random.pick(["hooks", "widths", "context_size", "rows_per_shard", "rows"]);
    info[key] = random.pick([`${info[key]}`, -1, 0, 1.5, null, [], { n: 1 }, true]);
  } else if (damage === "shape") {
    shardFiles[victim][hook] = { ...t, shape: [t.shape[0] * t.shape[1]] };
    names = victim;
  } else if (damage === "nan") {
    const values = Float32Array.from(t.data as Float32Array | Float16Array);
    values[random.int(values.length)] = random.pick([NaN, Infinity, -Infinity]);
    shardFiles[victim][hook] = { ...t, data: values };
    names = victim;
  } else if (damage === "zeros") {
    shardFiles[victim][hook] = { ...t, data: new Float32Array(t.data.length) };
    names = victim;
  } else if (damage === "missing-tensor") {
    delete shardFiles[victim][hook];
    if (Object.keys(shardFiles[victim]).length === 0) {
      shardFiles[victim].other = { shape: [1], data: Float32Array.of(1) };
    }
    names = victim;
  } else if (damage === "more-rows") {
    // more rows than written: the short last shard or the missing next one is named, a file of the cache either way
    info.rows = rows + perShard;
    names = "";
  }
  for (const [name, tensors] of Object.entries(shardFiles)) {
    if (damage === "missing-shard" && name === victim) continue;
    const bytes = encodeSafetensors(tensors);
    files[name] = damage === "truncated" && name === victim
      ? bytes.subarray(0, 8 + random.int(bytes.length - 8))
      : bytes;
  }
  if (damage === "missing-shard" || damage === "truncated") names = victim;
  files["cache_config.json"] = JSON.stringify(info);
  return {
    label: `${hooks.length} hooks, ${rows} rows of ${context} in shards of ${perShard}${f16 ? ", F16" : ""}: ${damage}`,
    files,
    expected: damage === "none" ? data : "refuse",
    names,
  };
}

Deno.test(`openActivationCache() survives ${INPUTS} generated and damaged activation caches`, async () => {
  const root = await Deno.makeTempDir({ prefix: "sae-cache-fuzz-" });
  const fuzz = new FuzzRun({ root });
  try {
    for (let i = 0; i < INPUTS; i++) {
      const input = cacheInput();
      const name = String(i), dir = join(root, name);
      await Deno.mkdir(dir);
      for (const [file, bytes] of Object.entries(input.files)) {
        if (typeof bytes === "string") await Deno.writeTextFile(join(dir, file), bytes);
        else await Deno.writeFile(join(dir, file), bytes);
      }
      const c: FuzzCase = {
        label: input.label,
        mustName: join(dir, input.names),
        run: async () => {
          const { info, rows, source } = await openActivationCache(dir);
          const read = info.hooks.map(() => [] as number[]);
          for (let it = rows(), r = await it.next(); !r.done; r = await it.next()) {
            (await source([r.value])).forEach((acts, h) => read[h].push(...acts));
          }
          if (input.expected === "refuse") return `read ${read[0].length} values: ${input.label}`;
          const want = input.expected;
          return read.every((got, h) => got.length === want[h].length && got.every((v, j) => v === want[h][j]))
            ? undefined
            : "rows differ from what was written";
        },
      };
      await fuzz.run(c, name);
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  console.log(fuzz.summary("activation cache fuzz", SEED));
  assertEquals(fuzz.failures.slice(0, 25), []);
});
