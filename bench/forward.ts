/**
 * Forward throughput of each model family at a real shape (random weights, Hugging Face layout, in the dtype the real
 * checkpoint is stored in), logits included, against a plain PyTorch CPU forward of the same family on the same
 * checkpoint and token rows, measured in the same run (bench/_family_torch.py). Each side runs as its own process so
 * its peak memory is its own; the two sides' log-probs are compared so the baseline is known to compute the same thing.
 *
 * Run: `deno task bench:forward [--family gpt2,llama,gemma2,gpt_neox,qwen3] [--shapes 1x128,8x128] [--llama-layers N]`
 * (needs Debian's python3-torch with libopenblas0-pthread for the baseline; several GB of disk for the checkpoints).
 * Shapes: gpt2 GPT-2 small, llama a Llama-3.1-8B block stack (4 of its layers, or --llama-layers), gemma2 gemma-2-2b,
 * gpt_neox pythia-70m-deduped, qwen3 Qwen3-0.6B.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { FAMILY_SHAPES, REAL_CONFIGS } from "./_real_configs.ts";
import { writeRandomModel } from "./_random_model.ts";
import { BenchEnvironment } from "./_environment.ts";
import { PYTHON } from "./_torch.ts";
import { forwardFlopPerToken } from "./_flops.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    family: { type: "string", default: Object.keys(FAMILY_SHAPES).join(",") },
    shapes: { type: "string", default: "1x128,8x128" },
    "llama-layers": { type: "string" },
  },
});
const families = values.family!.split(",");
for (const f of families) {
  if (!FAMILY_SHAPES[f]) {
    throw new RangeError(`--family ${f}: expected one of ${Object.keys(FAMILY_SHAPES).join(", ")}`);
  }
}
const shapes = values.shapes!.split(",").map((s) => {
  const [batch, pos] = s.split("x").map(Number);
  if (!(batch > 0 && pos > 0)) throw new RangeError(`--shapes: ${s} is not BATCHxPOS`);
  return { name: s, batch, pos };
});

const shapePos = Object.fromEntries(shapes.map((s) => [s.name, s.pos]));

const peakRss = new URL("./_peak_rss.py", import.meta.url).pathname;
const runner = new URL("./_forward_run.ts", import.meta.url).pathname;
const torchScript = new URL("./forward_torch.py", import.meta.url).pathname;

/** Runs a command under _peak_rss.py: its JSON output and peak resident set in bytes. */
async function measured(cmd: string[]): Promise<{ json: Record<string, unknown>; rss: number }> {
  const rssFile = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command(PYTHON, {
      args: [peakRss, rssFile, ...cmd],
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1" },
    }).output();
    const text = new TextDecoder();
    if (!out.success) {
      throw new Error(
        `${cmd.slice(0, 3).join(" ")} failed: ${text.decode(out.stderr).trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    return {
      json: JSON.parse(text.decode(out.stdout).trim().split("\n").at(-1)!),
      rss: Number(await Deno.readTextFile(rssFile)),
    };
  } finally {
    await Deno.remove(rssFile);
  }
}

const gib = (b: number) => (b / 2 ** 30).toFixed(2);

/**
 * Puts both sides' loads on equal terms: the checkpoint out of the page cache (cold, as a first load from disk) where
 * this process may drop caches, else read once so both find it cached. Says which.
 */
async function levelPageCache(dir: string): Promise<"cold" | "cached"> {
  const dropped = await new Deno.Command("sh", {
    args: ["-c", "sync && echo 3 > /proc/sys/vm/drop_caches"],
    stderr: "null",
  })
    .output();
  if (dropped.success) return "cold";
  for await (const e of Deno.readDir(dir)) await Deno.readFile(join(dir, e.name));
  return "cached";
}
const env = await BenchEnvironment.measure();
for (const line of env.describe("cpu device (onnxruntime-node)")) console.log(line);
const rows: string[] = [];
for (const family of families) {
  const { repo, layers } = FAMILY_SHAPES[family];
  const real = REAL_CONFIGS[repo];
  const config = { ...real.config };
  const layerKey = family === "gpt2" ? "n_layer" : "num_hidden_layers";
  if (layers !== undefined) config[layerKey] = Number(values["llama-layers"] ?? layers);
  const dir = await Deno.makeTempDir({ prefix: `sae-bench-${family}-` });
  try {
    console.error(`${family}: writing a random ${repo} (${config[layerKey]} layers, ${real.dtype}) into ${dir}`);
    const { cfg, bytes } = await writeRandomModel(join(dir, "model"), config, real.dtype);
    const tokens: Record<string, number[][]> = {};
    let s = 12345;
    for (const { name, batch, pos } of shapes) {
      tokens[name] = Array.from({ length: batch }, () =>
        Array.from({ length: pos }, () => {
          s = (s * 1103515245 + 12345) % 2147483648;
          return s % cfg.dVocab;
        }));
    }
    const tokensPath = join(dir, "tokens.json");
    await Deno.writeTextFile(tokensPath, JSON.stringify(tokens));
    const oursDir = join(dir, "ours"), torchDir = join(dir, "torch");
    await Deno.mkdir(oursDir), await Deno.mkdir(torchDir);
    const cache = await levelPageCache(join(dir, "model"));
    const ours = await measured([Deno.execPath(), "run", "-A", runner, join(dir, "model"), tokensPath, oursDir]);
    await levelPageCache(join(dir, "model"));
    const torch = await measured([PYTHON, torchScript, join(dir, "model"), tokensPath, torchDir]);
    const a = new Float32Array((await Deno.readFile(join(oursDir, "logprobs.f32"))).buffer);
    const b = new Float32Array((await Deno.readFile(join(torchDir, "logprobs.f32"))).buffer);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    const ourRates = ours.json.tokens_per_s as Record<string, number>;
    const torchRates = torch.json.tokens_per_s as Record<string, number>;
    for (const { name } of shapes) {
      rows.push(
        [
          family.padEnd(9),
          `${repo}${family === "llama" ? ` (${config[layerKey]} layers)` : ""}`.padEnd(40),
          name.padStart(6),
          ourRates[name].toFixed(0).padStart(9),
          torchRates[name].toFixed(0).padStart(9),
          env.ratio(ourRates[name], torchRates[name]).padStart(6),
          env.achieved(ourRates[name] * forwardFlopPerToken(cfg, shapePos[name]), 1).padStart(18),
          env.achieved(torchRates[name] * forwardFlopPerToken(cfg, shapePos[name]), 1).padStart(18),
        ].join(" "),
      );
    }
    rows.push(
      `${"".padEnd(9)} weights ${gib(bytes)} GiB stored (${String(ours.json.dtype)} in memory); peak RSS ours ${
        gib(ours.rss)
      } GiB, torch ${gib(torch.rss)} GiB; load (${cache}) ${(ours.json.load_s as number).toFixed(1)} s (torch ${
        (torch.json.load_s as number).toFixed(1)
      } s), first logits ${(ours.json.first_logits_s as number).toFixed(1)} s; log-probs agree to ${
        diff.toExponential(1)
      }`,
    );
    console.error(rows.slice(-shapes.length - 1).join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
console.log(
  `family    shape                                     tokens sae tok/s torch tok/s  ratio     sae FLOP/s (peak)   torch FLOP/s (peak)`,
);
for (const r of rows) console.log(r);
console.log(env.end());
