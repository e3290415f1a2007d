// `deno task test`: the whole suite as two `deno test` processes side by side, then one summary line in `deno test`'s
// own form ("ok | N passed | N failed (…)"), which .ci/run reads.
//
// Why two processes: most of the suite's time goes to spawned `sae` runs and ONNX Runtime sessions that leave a core
// idle. The first group, the CLI's training (about a third of the suite's time) and three files of model runs, is
// about half of it. Not `deno test --parallel`: its modules share one process, and tests that set HF_ENDPOINT/HF_HOME
// or the working directory for a Hub-like server would change them under tests running beside them.
//
// Each group's output is printed whole, the first group's as it comes and the other's once it ends, so no test's
// lines are interleaved with another file's.
/** The first group's files; the rest (with the doc examples of core/) run in the other. */
const FIRST = [
  "tests/cli/train_test.ts",
  "tests/cli/reference_test.ts",
  "tests/eval/evaluate_sae_test.ts",
  "tests/lm/model_loading_test.ts",
];
const COMMON = ["test", "--allow-all"];
const groups = [
  [...COMMON, ...FIRST],
  [...COMMON, "--doc", `--ignore=${FIRST.join(",")}`, "tests/", "core/"],
];

// deno test's summary line, e.g. "ok | 790 passed | 0 failed (14m54s)" (colours stripped)
const SUMMARY = /^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/;
// deno-lint-ignore no-control-regex
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, "");

const start = performance.now();
const encoder = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

async function run(args: string[], live: boolean): Promise<{ code: number; lines: string[] }> {
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).spawn();
  const lines: string[] = [];
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    const take = (line: string) => {
      lines.push(line);
      if (live) write(`${line}\n`);
    };
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      parts.forEach(take);
    }
    if (rest) take(rest);
  };
  await Promise.all([read(child.stdout), read(child.stderr)]);
  return { code: (await child.status).code, lines };
}

const [first, second] = [run(groups[0], true), run(groups[1], false)];
const results = [await first];
// the first group's output is already printed; the other's follows whole once it ends
const other = await second;
for (const line of other.lines) write(`${line}\n`);
results.push(other);

let passed = 0, failed = 0, complete = true;
for (const { code, lines } of results) {
  const summary = lines.map(plain).map((l) => l.match(SUMMARY)).findLast((m) => m !== null);
  if (!summary || code !== 0 && summary[1] === "ok") complete = false;
  passed += Number(summary?.[2] ?? 0);
  failed += Number(summary?.[3] ?? 0);
}
const ok = complete && failed === 0 && results.every((r) => r.code === 0);
const seconds = Math.round((performance.now() - start) / 1000);
write(
  `\n${ok ? "ok" : "FAILED"} | ${passed} passed | ${failed} failed (${Math.floor(seconds / 60)}m${seconds % 60}s)\n`,
);
if (!complete) write("a test group ended without its summary line: see its output above\n");
Deno.exit(ok ? 0 : 1);
