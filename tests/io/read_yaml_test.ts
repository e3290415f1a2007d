import { MAX_YAML_DEPTH, parseYaml, readYaml } from "../../core/io/read_yaml.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";

Deno.test("parseYaml() reads YAML 1.1 as PyYAML's safe_load does", () => {
  const text = "d_model:\n  desc: null\n  value: 2560\nflags: [yes, no, on, Off, y]\nhex: 0x1f\noct: 010\n" +
    "big: 1_000\nwhen: 2024-01-02 03:04:05\nname: 'Qwen/Qwen3-4B'\n1: one\n";
  assertEquals(parseYaml(text, "w.yaml"), {
    d_model: { desc: null, value: 2560 },
    flags: [true, false, true, false, "y"],
    hex: 31,
    oct: 8,
    big: 1000,
    when: "2024-01-02 03:04:05",
    name: "Qwen/Qwen3-4B",
    "1": "one",
  });
});

Deno.test("parseYaml() refuses tags, duplicate keys, collection keys, alias bombs, deep nesting and several documents", () => {
  const refuse = (text: string, message: string) => assertThrows(() => parseYaml(text, "c.yaml"), SyntaxError, message);
  refuse("a: !!python/object/apply:os.system [ls]\n", "c.yaml is not valid YAML: Unresolved tag");
  refuse("a: !!binary aGk=\n", "Unresolved tag");
  refuse("a: 1\na: 2\n", "Map keys must be unique at line 2");
  refuse("? [1]\n: 2\n", "all keys must be strings");
  refuse("a: 1\n---\nb: 2\n", "multiple documents");
  const laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++) laughs.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
  refuse(laughs.join("\n"), "Excessive alias count");
  refuse("[".repeat(MAX_YAML_DEPTH + 2) + "]".repeat(MAX_YAML_DEPTH + 2), `nests deeper than ${MAX_YAML_DEPTH} levels`);
  refuse("a: [1, 2\n", "c.yaml is not valid YAML");
});

Deno.test("readYaml() reads regular files of bounded size only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, "model_name: google/gemma-2-2b\n");
    assertEquals(await readYaml(`${dir}/c.yaml`), { model_name: "google/gemma-2-2b" });
    await assertRejects(() => readYaml(`${dir}/c.yaml`, 4), RangeError, "expected at most 4 for a YAML file");
    await assertRejects(() => readYaml(dir), TypeError, "is a folder: expected a regular file");
    await Deno.writeFile(`${dir}/bad.yaml`, new Uint8Array([0x61, 0x3a, 0x20, 0xff]));
    await assertRejects(() => readYaml(`${dir}/bad.yaml`), SyntaxError, "is not valid UTF-8");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
