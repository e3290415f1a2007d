import assert from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { trainingReportHtml } from "../../core/report/training_report.ts";

const settings = (extra: Record<string, unknown>) => ({
  d_sae: 100,
  dead_feature_window: 1000,
  feature_sampling_window: 2000,
  train_batch_size_tokens: 4096,
  lr: 3e-4,
  ...extra,
});
const sae = (l1: number, l0: number, ev: number, extra: Record<string, number> = {}) => ({
  label: `standard 100 (l1 ${l1})`,
  settings: settings({ l1_coefficient: l1, output_path: `out/l1_${l1}` }),
  metrics: [{ step: 1, "metrics/l0": 50, "metrics/explained_variance": 0.5 }, {
    step: 2,
    "metrics/l0": l0,
    "metrics/explained_variance": ev,
    "sparsity/dead_features": 10,
    ...extra,
  }],
  logDensity: new Float32Array(100).fill(-3),
});

Deno.test("trainingReportHtml() compares a sweep's SAEs: one labelled point per SAE, a verdict each", () => {
  const ce = (score: number, l0: number) => ({
    "model_performance_preservation/ce_loss_score": score,
    "sparsity/l0": l0,
  });
  const html = trainingReportHtml("sweep", [
    sae(1, 150, 0.97, ce(0.99, 151)),
    sae(3, 40, 0.9, { ...ce(0.97, 41), "sparsity/dead_features": 2 }),
    sae(10, 5, 0.6, ce(0.9, 6)),
  ]);
  assert(html.indexOf('id="sweep"') < html.indexOf("<section><h2>standard 100 (l1 1)"), "the comparison comes first");
  assertEquals(html.match(/<g class="point">/g)?.length, 6);
  // the points are named by what differs between the SAEs (not where they are saved), with their figures
  for (const l1 of [1, 3, 10]) assert(html.includes(`>l1_coefficient ${l1}</text>`), `label ${l1}`);
  assert(html.includes("<title>l1_coefficient 3: L0 40, explained variance 0.9</title>"), "hover text");
  assert(html.includes("<title>l1_coefficient 10: L0 (evaluation) 6, CE loss score 0.9</title>"), "CE point");
  const rows = html.match(/<tr><td>l1_coefficient \d[^]*?<\/tr>/g)!;
  assertEquals(rows.length, 3);
  assert(rows[0].includes('class="bad"') && rows[0].includes("not sparse: L0 150 of 100 is above 100"), rows[0]);
  assert(rows[1].includes('<td class="ok">healthy</td>') && rows[1].includes("0.97"), rows[1]);
  assert(rows[2].includes("10.0%") && rows[2].includes("out/l1_10"), rows[2]);
  assertEquals(html.includes('id="no-ce"'), false);
});

Deno.test("trainingReportHtml() says when a sweep has no CE loss score, and a single SAE gets no comparison", () => {
  const html = trainingReportHtml("sweep", [sae(1, 30, 0.9), sae(3, 20, 0.85)]);
  assertEquals(html.match(/<g class="point">/g)?.length, 2);
  assert(html.includes('id="no-ce"'));
  assertEquals(trainingReportHtml("one", [sae(1, 30, 0.9)]).includes('id="sweep"'), false);
});
