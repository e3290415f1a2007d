// One device for every GPU test. A missing adapter fails the tests (never skips them).
import { getGpu, type Gpu, requestGpu } from "../core/gpu/device.ts";

export const gpu: Gpu = await getGpu();

/** A second device whose bindings are capped, so small data exercises the splitting paths. */
export function smallBindingGpu(maxBindingBytes: number): Promise<Gpu> {
  return requestGpu({ maxBindingBytes });
}

export { FIXTURES } from "./_fixtures.ts";
