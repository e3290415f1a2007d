import { assertEquals, assertThrows } from "../_assert.ts";
import { expandSweep } from "../../core/train/sweep_grid.ts";
import { resolveRunnerConfig } from "../../core/train/runner_config.ts";
import { outputFolders } from "../../core/train/output_folders.ts";

Deno.test("expandSweep() trains one SAE per point of the grid, each in a folder named after its values", () => {
  const raw = { checkpoint_path: "ck", architecture: "topk", sweep: { k: [8, 16], d_sae: [256, 512] } };
  const resolved = resolveRunnerConfig(raw, "sweep.json", () => 128);
  assertEquals(resolved.saes.map((s) => [s.k, s.d_sae]), [[8, 256], [8, 512], [16, 256], [16, 512]]);
  assertEquals(outputFolders(resolved, "sweep.json"), [
    "ck/final/k_8-d_sae_256",
    "ck/final/k_8-d_sae_512",
    "ck/final/k_16-d_sae_256",
    "ck/final/k_16-d_sae_512",
  ]);
  // with a saes list, each entry is swept; entries without their own folder are numbered
  const both = expandSweep(
    {
      output_path: "out",
      saes: [{ hook_name: "blocks.1.hook_resid_pre" }, { output_path: "mine" }],
      sweep: { lr: [1] },
    },
    "s",
  );
  assertEquals(both.saes, [
    { hook_name: "blocks.1.hook_resid_pre", lr: 1, output_path: "out/0/lr_1" },
    { output_path: "mine/lr_1", lr: 1 },
  ]);
  assertEquals(expandSweep({ lr: 1 }, "s"), { lr: 1 });
});

Deno.test("expandSweep() refuses a grid it cannot expand, naming the field", () => {
  assertThrows(
    () => expandSweep({ sweep: [1] }, "s.json"),
    TypeError,
    "s.json: field sweep is [1]: expected an object",
  );
  assertThrows(
    () => expandSweep({ sweep: { l1_coefficient: [] } }, "s.json"),
    TypeError,
    "s.json: sweep.l1_coefficient is []: expected a non-empty list of values",
  );
  assertThrows(
    () => expandSweep({ sweep: { dataset_path: ["a", "b"] } }, "s.json"),
    TypeError,
    "s.json: sweep.dataset_path: the SAEs of a run share dataset_path",
  );
  assertThrows(
    () => resolveRunnerConfig({ sweep: { l1_coeficient: [1, 2] } }, "s.json", () => 128),
    TypeError,
    "l1_coeficient",
  );
});
