import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { spawn } from "./_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };

Deno.test("deno task install writes a launcher that runs sae encode's demo from an empty folder", ORT, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bin = join(dir, "bin");
    const installed = await spawn([
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "cli/install.ts",
      "--dir",
      bin,
    ]);
    assertEquals(installed.code, 0, installed.stderr);
    assertEquals(installed.stdout.includes(`wrote ${join(bin, "sae")}`), true, installed.stdout);
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    // no deno on the PATH: the launcher names the binary itself
    const { code, stdout, stderr } = await new Deno.Command(join(bin, "sae"), {
      args: ["encode"],
      cwd: empty,
      env: { PATH: "/usr/bin:/bin" },
      stdout: "piped",
      stderr: "piped",
    }).output().then((o) => ({
      ...o,
      stdout: new TextDecoder().decode(o.stdout),
      stderr: new TextDecoder().decode(o.stderr),
    }));
    assertEquals(code, 0, stderr);
    assertEquals(
      /mean L0 [\d.]+ of 1024 \(sparsity [\d.]+%\), MSE [\d.]+, explained variance [\d.]+/.test(stdout),
      true,
      stdout,
    );
    assertEquals([...Deno.readDirSync(empty)].length, 0, "the demo leaves the folder it runs in as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task install refuses an empty --dir", async () => {
  const { code, stderr } = await spawn([
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "cli/install.ts",
    "--dir",
    "",
  ]);
  assertEquals(code, 2);
  assertEquals(stderr.trim(), "error: --dir is empty: give it a value");
});
