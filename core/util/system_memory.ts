/**
 * The machine's memory, where the process may ask for it.
 *
 * @module
 */

/**
 * Total memory in bytes, when the process may ask (`--allow-sys`, or /proc/meminfo on Linux).
 *
 * @example
 * ```ts
 * import { systemMemoryBytes } from "./system_memory.ts";
 * const total = systemMemoryBytes();
 * console.log(total === undefined || total > 0); // true
 * ```
 *
 * @returns The bytes, or undefined when neither source can be read (callers then do not refuse work on a guess).
 */
export function systemMemoryBytes(): number | undefined {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted") {
      return Deno.systemMemoryInfo().total;
    }
    const kib = /^MemTotal:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
