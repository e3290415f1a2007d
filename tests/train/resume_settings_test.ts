import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { writeCheckpoint } from "../../core/train/checkpoint.ts";
import { resolveRunnerConfig } from "../../core/train/runner_config.ts";
import { resumeSettings, settingsChanges, storedConfig } from "../../core/train/resume_settings.ts";

const width = () => 128;

async function checkpointOf(raw: Record<string, unknown>): Promise<string> {
  const folder = await Deno.makeTempDir();
  const resolved = resolveRunnerConfig(raw, "run.json", width);
  await writeCheckpoint(folder, {
    meta: { step: 1, rngState: 0, rowsRead: 0, servable: 0, saes: [], config: storedConfig(resolved) },
    tensors: new Map(),
  });
  return folder;
}

Deno.test("resumeSettings() gives back the run's settings, a sweep's shared fields at the top", async () => {
  const sweep = {
    d_sae: 64,
    lr: 1e-3,
    checkpoint_path: "elsewhere",
    saes: [{ l1_coefficient: 1, output_path: "l1_1" }, { l1_coefficient: 3, output_path: "l1_3" }, {
      l1_coefficient: 5,
    }],
  };
  const folder = await checkpointOf(sweep);
  const settings = await resumeSettings(folder, {});
  const entries = settings.saes as Record<string, unknown>[];
  // what differs stays per SAE; the third SAE keeps its numbered folder under the shared (default) output_path
  assertEquals(entries, [{ l1_coefficient: 1, output_path: "l1_1" }, { l1_coefficient: 3, output_path: "l1_3" }, {
    l1_coefficient: 5,
    output_path: "",
  }]);
  assertEquals([settings.d_sae, settings.lr, settings.checkpoint_path], [64, 1e-3, folder]);
  const resolved = resolveRunnerConfig(settings, "resume", width);
  // the same run (checkpoint_path, now the checkpoint's folder, may change)
  assertEquals(settingsChanges(storedConfig(resolveRunnerConfig(sweep, "run.json", width)), resolved), []);
  // flags on top: what a resume may change passes, anything else is named with both values
  const changed = resolveRunnerConfig(await resumeSettings(folder, { wandb_log_frequency: 5, lr: 0.01 }), "f", width);
  assertEquals(settingsChanges(storedConfig(resolveRunnerConfig(sweep, "run.json", width)), changed), [
    "saes[0].lr was 0.001, now 0.01",
    "saes[1].lr was 0.001, now 0.01",
    "saes[2].lr was 0.001, now 0.01",
  ]);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("settingsChanges() counts a field the checkpoint lacks as its default", () => {
  const resolved = resolveRunnerConfig({ d_sae: 64, k: 8, architecture: "topk" }, "run.json", width);
  const stored = storedConfig(resolved);
  delete stored.saes[0].lr_end; // a field added to the trainer after the checkpoint was written
  assertEquals(settingsChanges(stored, resolved), []);
  stored.saes[0].a_field_since_removed = 1;
  assertEquals(settingsChanges(stored, resolved), []);
  stored.saes[0].k = 16;
  assertEquals(settingsChanges(stored, resolved), ["k was 16, now 8"]);
  const two = resolveRunnerConfig({ saes: [{}, {}] }, "run.json", width);
  assertEquals(settingsChanges(stored, two), ["saes: 1 SAEs then, 2 now"]);
});

Deno.test("resumeSettings() takes a config's own SAE list over the stored one, and the file itself", async () => {
  const folder = await checkpointOf({ saes: [{ l1_coefficient: 1 }, { l1_coefficient: 3 }] });
  const settings = await resumeSettings(join(folder, "checkpoint.safetensors"), { sweep: { l1_coefficient: [1, 3] } });
  assertEquals("saes" in settings, false);
  assertEquals(settings.checkpoint_path, folder);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("resumeSettings() leaves out a stored field this version no longer has", async () => {
  const folder = await Deno.makeTempDir();
  const config = storedConfig(resolveRunnerConfig({ d_sae: 64 }, "run.json", width));
  config.saes[0].a_field_since_removed = 1;
  await writeCheckpoint(folder, {
    meta: { step: 1, rngState: 0, rowsRead: 0, servable: 0, saes: [], config },
    tensors: new Map(),
  });
  const settings = await resumeSettings(folder, {});
  assertEquals(["a_field_since_removed" in settings, settings.d_sae], [false, 64]);
  await Deno.remove(folder, { recursive: true });
});
