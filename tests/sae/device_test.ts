import { deviceForAdapter, isFallbackAdapter, resolveDevice } from "../../core/sae/device.ts";
import { describeAdapter } from "../../core/gpu/device.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

Deno.test("isFallbackAdapter() tells software adapters from GPUs by flag or name", () => {
  const cases: [Parameters<typeof isFallbackAdapter>[0], boolean][] = [
    [{ isFallbackAdapter: true, device: "whatever" }, true],
    [{ device: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: "mesa" }, true],
    [{ description: "lavapipe", device: "" }, true],
    [{ vendor: "google", device: "SwiftShader Device (Subzero)" }, true],
    [{ description: "Microsoft Basic Render Driver" }, true],
    [{ isFallbackAdapter: false, vendor: "nvidia", device: "NVIDIA GeForce RTX 4090" }, false],
    [{ vendor: "apple", device: "", description: "" }, false],
    [{ vendor: "amd", description: "AMD Radeon RX 7900 XTX (RADV NAVI31)" }, false],
  ];
  for (const [info, fallback] of cases) assertEquals(isFallbackAdapter(info), fallback, JSON.stringify(info));
});

Deno.test("deviceForAdapter() picks cpu for a fallback adapter or none, webgpu for a GPU", () => {
  assertEquals(deviceForAdapter(undefined), "cpu");
  assertEquals(deviceForAdapter({ isFallbackAdapter: true }), "cpu");
  assertEquals(deviceForAdapter({ device: "llvmpipe (LLVM 15.0.6, 256 bits)" }), "cpu");
  assertEquals(deviceForAdapter({ vendor: "nvidia", device: "NVIDIA H200" }), "webgpu");
});

Deno.test("resolveDevice() keeps explicit choices and resolves auto from this machine's adapter", async () => {
  assertEquals(await resolveDevice("cpu"), "cpu");
  assertEquals(await resolveDevice("webgpu"), "webgpu");
  // On the CI machines the only adapter is lavapipe, so auto is cpu; on a GPU machine, webgpu.
  assertEquals(await resolveDevice("auto"), deviceForAdapter(await describeAdapter()));
  assertThrows(
    () => resolveDevice("cuda" as "cpu"),
    RangeError,
    "must be one of auto, webgpu, cpu: current value is cuda",
  );
});
