/**
 * Checking that a folder can be written before the work whose results go there, so a read-only or full
 * destination is found in the first second, not after hours of training.
 *
 * @module
 */

/**
 * Creates `folder` if missing and writes and removes a probe file in it.
 *
 * @example
 * ```ts
 * import { checkWritableFolder } from "./writable_folder.ts";
 * await checkWritableFolder(await Deno.makeTempDir(), "output_path"); // resolves
 * ```
 *
 * @param folder The folder results will be written to.
 * @param what What names it, for the message (a setting such as `output_path`).
 * @throws {Deno.errors.PermissionDenied} Or the file system's own error class, naming `what`, the folder and why.
 */
export async function checkWritableFolder(folder: string, what: string): Promise<void> {
  try {
    await Deno.mkdir(folder, { recursive: true });
    const probe = await Deno.makeTempFile({ dir: folder, prefix: ".sae-write-check-" });
    await Deno.writeTextFile(probe, "x");
    await Deno.remove(probe);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const reason = error.message.replace(/:? *\(os error \d+\).*$/, "").replace(/,.*$/, "");
    const Class = error.constructor as new (message: string, options?: ErrorOptions) => Error;
    throw new Class(`${what} ${folder} cannot be written (${reason}): choose a writable folder`, { cause: error });
  }
}
