// HookedTransformer called with what it cannot run: each refused with a message of ours, not a runtime's.
import { assertRejects } from "../_assert.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { FIXTURES } from "../_fixtures.ts";

Deno.test({
  name: "HookedTransformer refuses inputs that are not token rows and hooks that return no tensor",
  sanitizeResources: false,
  async fn() {
    const model = await HookedTransformer.load(`${FIXTURES}gpt2-sotu-tiny`, { backend: "node" });
    try {
      await assertRejects(() => model.run(null as never), TypeError, "Cannot run the model on null: expected a text");
      await assertRejects(() => model.run([[3, 1.5]]), RangeError, "Row 0 holds 1.5 at position 1: expected token ids");
      await assertRejects(() => model.run([[3], [NaN]]), RangeError, "Row 1 holds NaN at position 0");
      await assertRejects(() => model.run([[3], 4] as never), RangeError, "Every row must have 1 tokens: got 4");
      await assertRejects(
        () => model.runWithHooks([[3, 4]], { fwdHooks: [["blocks.1.hook_resid_pre", () => 5 as never]] }),
        TypeError,
        "The hook on blocks.1.hook_resid_pre returned 5: expected nothing or a tensor",
      );
    } finally {
      await model.dispose();
    }
  },
});

Deno.test("HookedTransformer.load() refuses a BOS id past the vocabulary, naming config.json's field", async () => {
  const dir = await Deno.makeTempDir();
  for await (const e of Deno.readDir(`${FIXTURES}gpt2-sotu-tiny`)) {
    if (e.name !== "config.json") await Deno.symlink(`${FIXTURES}gpt2-sotu-tiny/${e.name}`, `${dir}/${e.name}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${FIXTURES}gpt2-sotu-tiny/config.json`));
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...config, bos_token_id: 50257 }));
  await assertRejects(
    () => HookedTransformer.load(dir, { backend: "node" }),
    TypeError,
    "the BOS token id 50257 (config.json bos_token_id, or the tokenizer's) is past the model's vocab_size of 50257",
  );
  await Deno.remove(dir, { recursive: true });
});
