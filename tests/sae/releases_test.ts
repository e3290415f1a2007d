import { lookupRelease, releaseOverrides, RELEASES } from "../../core/sae/releases.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

Deno.test("the release registry: every entry has repo, model, overrides and per-SAE folder, Neuronpedia id, L0, EV", () => {
  assertEquals(Object.keys(RELEASES).length >= 10, true);
  for (const [name, r] of Object.entries(RELEASES)) {
    assertEquals(typeof r.repo_id === "string" && r.repo_id.includes("/"), true, name);
    assertEquals(r.model, "gpt2-small", name);
    assertEquals(typeof r.config_overrides, "object", name);
    for (const s of r.saes) {
      assertEquals(typeof s.id === "string" && typeof s.path === "string", true, `${name}/${s.id}`);
      for (const key of ["neuronpedia", "l0", "variance_explained"] as const) {
        assertEquals(key in s, true, `${name}/${s.id} lacks ${key}`);
      }
    }
  }
  const jb = RELEASES["gpt2-small-res-jb"];
  assertEquals(jb.repo_id, "jbloom/GPT2-Small-SAEs-Reformatted");
  assertEquals(jb.saes.length, 13);
  assertEquals(jb.saes.at(-1)!.id, "blocks.11.hook_resid_post");
  for (
    const name of ["gpt2-small-res-jb-feature-splitting", "gpt2-small-mlp-out-v5-32k", "gpt2-small-attn-out-v5-32k"]
  ) {
    assertEquals(name in RELEASES, true, name);
  }
  assertEquals(RELEASES["gpt2-small-resid-post-v5-32k"].saes.length, 12);
});

Deno.test("lookupRelease names the closest releases and SAE ids; overrides carry the Neuronpedia id", () => {
  assertThrows(
    () => lookupRelease("gpt2-small-res-j", "blocks.8.hook_resid_pre"),
    RangeError,
    "closest are gpt2-small-res-jb",
  );
  assertThrows(
    () => lookupRelease("gpt2-small-res-jb", "blocks.8.hook_resid_mid"),
    RangeError,
    "closest are blocks.8.hook_resid_pre",
  );
  const { release, sae } = lookupRelease("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
  assertEquals(sae.l0, 60);
  assertEquals(releaseOverrides(release, sae), {
    model_from_pretrained_kwargs: { center_writing_weights: true },
    neuronpedia_id: "gpt2-small/8-res-jb",
  });
  const tm = lookupRelease("gpt2-small-mlp-tm", "blocks.0.hook_mlp_out");
  assertEquals(typeof releaseOverrides(tm.release, tm.sae).norm_scaling_factor, "number");
});
