import { assertEquals } from "../_assert.ts";
import { readSafetensors, toFloat32, toIntegers } from "../../core/io/safetensors.ts";
import { MODEL_DIR, PROMPT_TOKENS, REFERENCE } from "../lm/_models.ts";
import { runCli, spawn } from "./_run.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "sae run writes tokens, logits and cached hooks under their hook names",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/run.safetensors`;
      const { code, stdout } = await runCli([
        "run",
        "--model",
        MODEL_DIR,
        "--cache",
        "blocks.2.hook_resid_pre",
        "--cache",
        "blocks.0.attn.hook_pattern",
        "--out",
        out,
        "--json",
        REFERENCE.prompt.text,
      ]);
      assertEquals(code, 0);
      const json = JSON.parse(stdout);
      assertEquals(json.tokens, PROMPT_TOKENS);
      assertEquals(json.cache["blocks.0.attn.hook_pattern"], [1, 4, 15, 15]);
      const file = await readSafetensors(out);
      assertEquals(toIntegers(file.tensors.get("tokens")!, "tokens"), PROMPT_TOKENS);
      assertEquals(file.tensors.get("logits")!.shape, [1, 15, 50257]);
      assertEquals(toFloat32(file.tensors.get("blocks.2.hook_resid_pre")!, "r").length, 15 * 128);
      // the JSON's top next token is the argmax of the saved logits
      const logits = toFloat32(file.tensors.get("logits")!, "logits").subarray(14 * 50257);
      assertEquals(json.next_tokens[0].token, logits.indexOf(Math.max(...logits)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sae run and sae generate report bad input as one-line errors",
  ...opts,
  async fn() {
    const unknown = await runCli(["run", "--model", MODEL_DIR, "--cache", "blocks.2.resid_pre", "x"]);
    assertEquals(unknown.code, 1);
    // the error is the last line: in a log, start lines come before it
    const error = unknown.stderr.split("\n").at(-1)!;
    assertEquals(error.startsWith('error: Unknown hook name "blocks.2.resid_pre": closest are'), true, unknown.stderr);
    const long = await runCli(["run", "--model", MODEL_DIR, "word ".repeat(200)]);
    assertEquals(long.code, 1);
    assertEquals(long.stderr.includes("the model's n_ctx is 128"), true);
    const missing = await runCli(["run", "--model", "./no/such/model", "x"]);
    assertEquals(missing.code, 1);
    assertEquals(missing.stderr.includes("./no/such/model does not exist"), true);
    const usage = await runCli(["generate", "--model", MODEL_DIR, "--temperature", "-1", "x"]);
    assertEquals(usage.code, 2);
  },
});

Deno.test({
  name: "sae generate continues a text greedily and reproducibly with a seed",
  ...opts,
  async fn() {
    const greedy = await runCli([
      "generate",
      "--model",
      MODEL_DIR,
      "--greedy",
      "--max-new-tokens",
      "8",
      "--json",
      "The nation",
    ]);
    assertEquals(greedy.code, 0);
    const json = JSON.parse(greedy.stdout);
    assertEquals(json.tokens.length, 3 + 8);
    assertEquals(json.text.startsWith("<|endoftext|>The nation"), true);
    const a = await runCli(["generate", "--model", MODEL_DIR, "--seed", "3", "--json", "The nation"]);
    const b = await runCli(["generate", "--model", MODEL_DIR, "--seed", "3", "--json", "The nation"]);
    assertEquals(a.stdout, b.stdout);
  },
});

Deno.test({
  name: "sae run falls back to onnxruntime-web without --allow-ffi and gives the same numbers",
  ...opts,
  async fn() {
    const args = ["run", "--model", MODEL_DIR, "--json", "The nation"];
    const web = await spawn(["run", "--allow-read", "--allow-env", "cli/main.ts", ...args]);
    assertEquals(web.code, 0, web.stderr);
    const node = await runCli(args);
    const [a, b] = [JSON.parse(web.stdout), JSON.parse(node.stdout)];
    assertEquals([a.backend, b.backend], ["web", "node"]);
    assertEquals(
      a.next_tokens.map((t: { token: number }) => t.token),
      b.next_tokens.map((t: { token: number }) => t.token),
    );
    assertEquals(Math.abs(a.loss - b.loss) < 1e-4, true);
  },
});
