/**
 * The examples' command line: `--device auto|webgpu|cpu` (auto by default: WebGPU on a hardware GPU, else the
 * CPU), and the other arguments as given.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Device, DEVICES } from "../core/sae/device.ts";

/** What an example was asked for. */
export interface ExampleArgs {
  /** Where the SAE (and a trainer) runs. */
  device: Device;
  /** The arguments that are not flags. */
  positionals: string[];
  /** The other flags, by name: the declared ones with their values, undeclared ones as `true`. */
  flags: Record<string, string | boolean | undefined>;
}

/**
 * Reads an example's arguments: `--device`, checked, and the rest.
 *
 * @example
 * ```ts
 * import { exampleArgs } from "./_device.ts";
 * console.log(exampleArgs(["--device", "cpu", "gpt2-small-res-jb/blocks.8.hook_resid_pre"]).device); // cpu
 * console.log(exampleArgs(["--steps", "20"], { steps: "3000" }).flags.steps); // 20
 * ```
 *
 * @param args The command line.
 * @param options The example's own flags that take a value, with their defaults.
 * @returns The device, the positionals and the other flags.
 * Exits with status 2, saying why, when `--device` is not one of auto, webgpu, cpu.
 */
export function exampleArgs(args: string[] = Deno.args, options: Record<string, string> = {}): ExampleArgs {
  const declared = Object.fromEntries(
    Object.entries({ ...options, device: "auto" }).map((
      [name, value],
    ) => [name, { type: "string" as const, default: value }]),
  );
  const { values, positionals } = parseArgs({
    args,
    options: declared,
    strict: false,
    allowPositionals: true,
  });
  const { device, ...flags } = values;
  if (!(DEVICES as readonly unknown[]).includes(device)) {
    console.error(`error: --device is ${JSON.stringify(device)}: expected one of ${DEVICES.join(", ")}`);
    Deno.exit(2);
  }
  return { device: device as Device, positionals, flags };
}
