// bench/device.sh is run on a lent GPU machine only by chance; its dry run here (toy sizes, lavapipe, PyTorch on
// the CPU where it is installed) keeps every line of it working between leases.
import { assertEquals } from "../_assert.ts";

Deno.test({
  name: "bench/device.sh --dry-run writes every line of the GPU benchmark and says which GPU checks were absent",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "sae-device-dry-" });
    try {
      const root = new URL("../..", import.meta.url).pathname;
      const run = await new Deno.Command("bash", {
        args: ["bench/device.sh", "--dry-run"],
        cwd: root,
        env: { OUT: out, SAE_DEVICE_HOME: `${out}/home` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assertEquals(run.success, true, log);
      const result = JSON.parse(await Deno.readTextFile(`${out}/device.json`));
      assertEquals(result.dry_run, true);
      assertEquals(result.absent.some((a: string) => a.startsWith("an NVIDIA adapter: WebGPU sees ")), true);
      const names = result.lines.map((l: { name: string }) => l.name.split(" (")[0]);
      assertEquals(names, [
        "encode standard",
        "encode topk",
        ...["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka_batchtopk"].map((a) => `step ${a}`),
        "sae eval",
      ]);
      for (const line of result.lines) {
        assertEquals(line.sae > 0, true, `${line.name}: sae ${line.sae} (${line.missing})`);
        // PyTorch is optional here (CI installs none): a line without it says why
        assertEquals(line.torch > 0 || typeof line.missing === "string", true, `${line.name}: torch ${line.torch}`);
      }
      const table = await Deno.readTextFile(`${out}/device.txt`);
      assertEquals(table.includes("DRY RUN"), true, table);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
