import { assertEquals, assertThrows } from "../_assert.ts";
import { outputFolders } from "../../core/train/output_folders.ts";
import { resolveRunnerConfig } from "../../core/train/runner_config.ts";

const resolve = (raw: Record<string, unknown>) => resolveRunnerConfig(raw, "run.json", () => 128);

Deno.test("outputFolders() keeps each SAE's own output_path and numbers the ones sharing the run's", () => {
  assertEquals(outputFolders(resolve({ checkpoint_path: "ck" }), "run.json"), ["ck/final"]);
  assertEquals(outputFolders(resolve({ output_path: "out" }), "run.json"), ["out"]);
  assertEquals(outputFolders(resolve({ checkpoint_path: "ck", saes: [{}, {}] }), "run.json"), [
    "ck/final/0",
    "ck/final/1",
  ]);
  assertEquals(
    outputFolders(resolve({ output_path: "out", saes: [{ output_path: "l1_1" }, {}, { output_path: "l1_5" }] }), "r"),
    ["l1_1", "out/1", "l1_5"],
  );
});

Deno.test("resolveRunnerConfig() refuses SAEs saving to one folder, or one inside another's", () => {
  assertThrows(
    () => resolve({ saes: [{ output_path: "a" }, { output_path: "./a" }] }),
    RangeError,
    'run.json: saes[1].output_path "./a" is also where saes[0].output_path saves: give each SAE its own output_path',
  );
  assertThrows(
    () => resolve({ output_path: "b", saes: [{}, { output_path: "b/0/deeper" }] }),
    RangeError,
    'run.json: saes[1].output_path "b/0/deeper" lies inside saes[0].output_path "b/0"',
  );
});
