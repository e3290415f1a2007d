// Bad numbers, lists, paths and inputs are caught before any model or SAE is loaded.
import { encodeSafetensors } from "../../core/io/safetensors.ts";
import { assertEquals } from "../_assert.ts";
import { MODEL_DIR } from "../lm/_models.ts";
import { runCli } from "./_run.ts";

async function usageError(args: string[], text: string): Promise<void> {
  const out = await runCli(args);
  assertEquals(out.code, 2, out.stderr);
  assertEquals(out.stderr.includes(text), true, out.stderr);
}

Deno.test("sae ablate refuses empty and repeated --features items", async () => {
  await usageError(["ablate", "--target", " x", "--features", ",,", "x"], `--features ",,": item 1 is empty`);
  await usageError(["ablate", "--target", " x", "--features", "3,", "x"], "item 2 is empty");
  await usageError(["ablate", "--target", " x", "--features", "3,03", "x"], "--features lists feature 3 twice");
});

Deno.test("sae feature and steer want a whole-number feature index", async () => {
  await usageError(["feature", "", "x"], `The feature index must be a whole number such as 3: current value is ""`);
  await usageError(["feature", "1e3", "x"], `current value is "1e3"`);
  await usageError(["steer", "--feature=-1", "--strength", "2", "x"], `--feature must be a whole number`);
});

Deno.test("empty flag values and paths are refused, not taken as absent", async () => {
  await usageError(["encode", "--out", "", "x"], "--out is empty: give it a value");
  await usageError(["info", ""], "sae info takes one SAE path");
});

Deno.test("counts must be written as plain positive integers, numbers as decimals", async () => {
  await usageError(
    ["steer", "--feature", "3", "--strength", " ", "x"],
    `--strength must be a number: current value is " "`,
  );
  await usageError(["generate", "--temperature", "0x1", "x"], `--temperature must be a number`);
  await usageError(
    ["generate", "--seed", "1.5", "x"],
    `--seed must be a whole number such as 3: current value is "1.5"`,
  );
  await usageError(["run", "--top", "1e3", "x"], "--top must be a positive integer: current value is 1e3");
  await usageError(["encode", "--top", "0x10", "x"], "--top must be a positive integer: current value is 0x10");
});

Deno.test("sae encode --acts refuses non-finite activations instead of printing an infinite MSE", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await Deno.writeFile(
    path,
    encodeSafetensors({ acts: { shape: [2, 2], data: new Float32Array([1, Infinity, NaN, 0]) } }),
  );
  const out = await runCli(["encode", "--sae", "unused", "--acts", path]);
  assertEquals(out.code, 1, out.stderr);
  assertEquals(out.stderr.includes(`${path}: tensor "acts" holds 2 non-finite values`), true, out.stderr);
  await Deno.remove(path);
});

Deno.test("a misspelt flag gets the verb's closest flag, not parseArgs's generic message", async () => {
  await usageError(["steer", "--strenght", "3", "x"], "unknown flag --strenght: did you mean --strength?");
  await usageError(["encode", "--jsn", "x"], "unknown flag --jsn: did you mean --json?");
  // nothing close (another verb's flag): the verb's flags
  await usageError(
    ["run", "--sae", "s", "x"],
    "unknown flag --sae: expected one of --model, --backend, --no-processing, --cache, --top, --no-bos, --out, --json, --help",
  );
  await usageError(["train", "--zzzzzzzz", "1"], "unknown flag --zzzzzzzz: no flag of this command is close to it");
  await usageError(["encode", "--json=yes", "x"], `--json takes no value: current value is "yes"`);
  await usageError(["encode", "--out", "--json", "x"], "--out needs a value: the next argument --json is a flag");
});

Deno.test("negative and non-numeric values name the flag and the range, never 'ambiguous'", async () => {
  for (const top of ["-3", "x"]) {
    const out = await runCli(["encode", "--top", top, "x"]);
    assertEquals(out.code, 2, out.stderr);
    assertEquals(out.stderr.includes(`--top must be a positive integer: current value is ${top}`), true, out.stderr);
    assertEquals(out.stderr.includes("ambiguous"), false, out.stderr);
  }
  await usageError(["generate", "--temperature", "-1", "x"], "--temperature must be >= 0: current value is -1");
});

Deno.test("an empty TEXT is refused, not encoded as BOS alone", async () => {
  await usageError(["encode", ""], "sae encode: TEXT is empty");
  await usageError(["run", ""], "sae run: TEXT is empty");
  await usageError(["feature", "3", "a", ""], "sae feature: TEXT 2 is empty");
  await usageError(["compare", "a", ""], "sae compare: TEXT 2 is empty");
});

Deno.test("a hook past the model's layers says how many layers the model has", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const out = await runCli(["run", "--model", MODEL_DIR, "--cache", "blocks.9.hook_resid_pre", "x"]);
  assertEquals(out.code, 1, out.stderr);
  assertEquals(
    out.stderr.includes(`Unknown hook name "blocks.9.hook_resid_pre" (the model has 4 layers, blocks.0 to blocks.3)`),
    true,
    out.stderr,
  );
});
