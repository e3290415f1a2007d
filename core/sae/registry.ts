/**
 * Architectures by name: configs name one, loading dispatches on it.
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import { describeValue } from "../util/describe_value.ts";

const architectures = new Map<string, Architecture>();

/**
 * Registers an architecture under its name.
 *
 * @example Register
 * ```ts ignore
 * registerArchitecture(myArchitecture);
 * ```
 *
 * @throws {Error} When the name is already registered.
 */
export function registerArchitecture(architecture: Architecture): void {
  if (architectures.has(architecture.name)) {
    throw new Error(`Cannot register architecture "${architecture.name}" as it is already registered`);
  }
  architectures.set(architecture.name, architecture);
}

/**
 * Returns the architecture registered under `name`.
 *
 * @example Look one up
 * ```ts
 * import { getArchitecture } from "./registry.ts";
 * import "./architectures.ts";
 * console.log(getArchitecture("topk").name); // topk
 * ```
 *
 * @param name The cfg.json `architecture` value.
 * @param where The file it came from, for the error message.
 * @throws {RangeError} When no architecture has that name (the message lists the known ones).
 */
export function getArchitecture(name: string, where = "cfg.json"): Architecture {
  const found = architectures.get(name);
  if (!found) {
    throw new RangeError(
      `${where}: field architecture is ${describeValue(name)}: expected one of ${[...architectures.keys()].join(", ")}`,
    );
  }
  return found;
}

/** Names of the registered architectures. */
export function architectureNames(): string[] {
  return [...architectures.keys()];
}
