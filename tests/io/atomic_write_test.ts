import { assertEquals, assertRejects } from "../_assert.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { runCli } from "../cli/_run.ts";
import { SAE } from "../../core/sae/sae.ts";
import { FIXTURES } from "../_fixtures.ts";

Deno.test("writeFileAtomic() replaces a regular file, writes through a character device, refuses the rest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/a.json`, "1");
    await writeFileAtomic(`${dir}/a.json`, "2");
    assertEquals(await Deno.readTextFile(`${dir}/a.json`), "2");
    await writeFileAtomic("/dev/null", "gone");
    assertEquals((await Deno.stat("/dev/null")).isCharDevice, true);
    // /dev/full is a device too: the write fails as the device does, and it stays a device
    let failed = false;
    await writeFileAtomic("/dev/full", "x").catch(() => failed = true);
    assertEquals(failed, true);
    assertEquals((await Deno.stat("/dev/full")).isCharDevice, true);
    await assertRejects(() => writeFileAtomic(dir, "x"), TypeError, `Cannot write ${dir} as it is a folder`);
    const { success } = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assertEquals(success, true);
    await assertRejects(() => writeFileAtomic(`${dir}/fifo`, "x"), TypeError, "as it is a FIFO (named pipe)");
    assertEquals((await Deno.lstat(`${dir}/fifo`)).isFifo, true);
    await assertRejects(() => writeFileAtomic("", "x"), TypeError, "Cannot write to an empty path");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "sae encode --out /dev/null writes through the device; SAE.save refuses an empty folder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await runCli(["encode", "--out", "/dev/null", "--json", "The nation"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals((await Deno.stat("/dev/null")).isCharDevice, true);
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      await assertRejects(() => sae.save(""), TypeError, 'Cannot save an SAE to "": give a folder path');
      await assertRejects(() => sae.save("/dev/null"), TypeError, "as it is not a folder");
    } finally {
      sae.destroy();
    }
  },
});
