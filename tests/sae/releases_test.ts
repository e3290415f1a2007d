import { parseYaml, readYaml } from "../../core/io/read_yaml.ts";
import { decodeRelease, encodeRelease, registryText } from "../../core/sae/_release_codec.ts";
import { importReleases } from "../../core/sae/import_releases.ts";
import { PRETRAINED_LOADERS } from "../../core/sae/pretrained_loaders.ts";
import {
  lookupRelease,
  releaseOverrides,
  RELEASES,
  RELEASES_LEFT_OUT,
  RELEASES_SOURCE,
} from "../../core/sae/releases.ts";
import { releaseSaeHook } from "../../core/sae/release_hooks.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

const YAML = new URL("../../../shared/docs/saelens_6.18_pretrained_saes.yaml", import.meta.url).pathname;
type Raw = Record<string, unknown>;

Deno.test("the registry equals SAELens 6.18's pretrained_saes.yaml field by field, each release kept or left out with its reason", async () => {
  const yaml = await readYaml(YAML, 2 ** 26) as Record<string, Raw>;
  assertEquals(RELEASES_SOURCE, "SAELens 6.18.0 sae_lens/pretrained_saes.yaml");
  assertEquals([...Object.keys(RELEASES), ...Object.keys(RELEASES_LEFT_OUT)].sort(), Object.keys(yaml).sort());
  assertEquals(Object.keys(RELEASES), Object.keys(yaml).filter((n) => n in RELEASES)); // the yaml's order
  for (const [name, raw] of Object.entries(yaml)) {
    const loader = (raw.conversion_func as string | null) ?? "sae_lens";
    if (!(name in RELEASES)) {
      assertEquals(PRETRAINED_LOADERS.includes(loader), false, name);
      assertEquals(RELEASES_LEFT_OUT[name], `its loader ${loader} is not implemented here`);
      continue;
    }
    const r = RELEASES[name];
    assertEquals(r.repo_id, raw.repo_id, name);
    assertEquals(r.model, raw.model, name);
    assertEquals(r.conversion_func, raw.conversion_func ?? null, name);
    assertEquals(r.config_overrides, raw.config_overrides ?? {}, name);
    assertEquals(r.links, raw.links ?? {}, name);
    const saes = raw.saes as Raw[];
    assertEquals(r.saes.length, saes.length, name);
    saes.forEach((s, i) => {
      const ours = r.saes[i];
      const at = `${name}/${s.id}`;
      assertEquals(ours.id, s.id, at);
      assertEquals(ours.path, String(s.path), at); // the CLT release's integer paths are file-name parts
      assertEquals(ours.l0, s.l0 ?? null, at);
      assertEquals(ours.variance_explained, s.variance_explained ?? null, at);
      assertEquals(ours.neuronpedia, s.neuronpedia ?? null, at);
      assertEquals(ours.norm_scaling_factor, s.norm_scaling_factor, at);
    });
  }
});

Deno.test("the shipped releases.json is what registry:import writes from the yaml (no hand edits)", async () => {
  const source = "SAELens 6.18.0 sae_lens/pretrained_saes.yaml";
  const { file, ignored } = importReleases(await readYaml(YAML, 2 ** 26), source, PRETRAINED_LOADERS);
  const shipped = await Deno.readTextFile(new URL("../../core/sae/releases.json", import.meta.url));
  assertEquals(shipped, registryText(file));
  // the one damaged entry of 6.18: a copy of its release pasted into the third SAE of gpt2-small-res_scefr-ajt
  assertEquals(ignored.map((k) => k.split(": ")[1]), ["conversion_func", "links", "model", "repo_id", "saes"]);
  assertEquals(new Set(ignored.map((k) => k.split(": ")[0])).size, 1);
});

Deno.test("the compact encoding decodes to what it encoded, and the file stays small", async () => {
  for (const [name, r] of Object.entries(RELEASES)) assertEquals(decodeRelease(encodeRelease(r), name), r, name);
  const size = (await Deno.stat(new URL("../../core/sae/releases.json", import.meta.url))).size;
  assertEquals(size < 260_000, true, `${size} bytes`);
});

Deno.test("importReleases() refuses entries SAELens could not read, naming the release and field", () => {
  const base = { repo_id: "a/b", model: "m", saes: [{ id: "x", path: "p" }] };
  const refuse = (yaml: unknown, text: string) =>
    assertThrows(() => importReleases(parseYaml(JSON.stringify(yaml), "y"), "y", ["sae_lens"]), TypeError, text);
  refuse({ r: { ...base, repo_id: "nope" } }, 'y: release r: field repo_id is "nope": expected org/name');
  refuse({ r: { ...base, saes: [{ id: "x" }] } }, "release r SAE 0 (x): field path is undefined");
  refuse({ r: { ...base, saes: [{ id: "x", path: "p", l0: "12" }] } }, 'field l0 is "12": expected a number');
  refuse({ r: { ...base, saes: [{ id: "x", path: "p" }, { id: "x", path: "q" }] } }, "SAE id x appears twice");
  refuse({ r: { ...base, links: { model: 3 } } }, "link model is 3: expected a URL");
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

Deno.test("releaseSaeHook() derives every SAELens-folder SAE's hook from its id", () => {
  for (const [name, r] of Object.entries(RELEASES)) {
    if (r.conversion_func !== null) continue;
    for (const s of r.saes) {
      const hook = releaseSaeHook(r, s);
      assertEquals(hook !== null && /^(blocks\.\d+\.)?hook_[a-z_]+[a-z]$/.test(hook), true, `${name}/${s.id}: ${hook}`);
    }
  }
});
