/**
 * `deno task install [--dir DIR]`: puts `sae` on the PATH as a small launcher that runs this checkout's CLI with
 * the Deno binary that ran the install (the pinned one from npm, `node_modules/deno/deno`, which is not on the PATH
 * and so cannot serve the shim `deno install -g` writes). The launcher passes the permissions of the `sae` task in
 * deno.json, so the two never drift apart.
 *
 * @example Install into ~/.local/bin
 * ```sh
 * node_modules/deno/deno task install
 * sae encode
 * ```
 *
 * @module
 */

import { delimiter, join, resolve } from "node:path";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `deno task install`. */
export const INSTALL_HELP = `Usage: deno task install [--dir DIR]

Write a launcher named sae into DIR that runs this checkout's cli/main.ts with the Deno that runs this
command and the permissions of deno.json's "sae" task.

Options:
  --dir DIR   where to write it (default: $HOME/.local/bin)
  -h, --help  show this help`;

const ROOT = new URL("../", import.meta.url);

/** The permission flags of deno.json's `sae` task (`deno run FLAGS cli/main.ts`). */
async function saeTaskFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const match = /^deno run ((?:--allow-[a-z-]+ ?)+) cli\/main\.ts$/.exec(config.tasks?.sae ?? "");
  if (!match) {
    throw new TypeError(`deno.json's "sae" task is not "deno run --allow-... cli/main.ts": ${config.tasks?.sae}`);
  }
  return match[1].trim().split(" ");
}

const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Writes the launcher (`sae`, and `sae.cmd` on Windows) into `dir` and returns its path.
 *
 * @param dir Folder to write into; created when missing.
 * @returns The launcher's path.
 */
export async function installLauncher(dir: string): Promise<string> {
  const deno = Deno.execPath();
  const root = resolve(ROOT.pathname);
  const args = ["run", ...await saeTaskFlags(), "--config", join(root, "deno.json"), join(root, "cli", "main.ts")];
  await Deno.mkdir(dir, { recursive: true });
  if (Deno.build.os === "windows") {
    const path = join(dir, "sae.cmd");
    await Deno.writeTextFile(path, `@echo off\r\n"${deno}" ${args.map((a) => `"${a}"`).join(" ")} %*\r\n`);
    return path;
  }
  const path = join(dir, "sae");
  const script = `#!/bin/sh\n# Written by \`deno task install\` in ${root}\nexec ${
    [deno, ...args].map(shQuote).join(" ")
  } "$@"\n`;
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, script, { mode: 0o755 });
  await Deno.rename(tmp, path);
  return path;
}

/**
 * Runs `deno task install`.
 *
 * @param args Arguments after the task name.
 * @returns The exit code.
 */
export async function install(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { dir: { type: "string" } });
  if (values.help) {
    console.log(INSTALL_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (values.dir === undefined && !home) throw new UsageError("HOME is not set: name the folder with --dir");
  const dir = resolve(values.dir ?? join(home!, ".local", "bin"));
  const path = await installLauncher(dir);
  console.log(`wrote ${path} (runs ${Deno.execPath()})`);
  const onPath = (Deno.env.get("PATH") ?? "").split(delimiter).some((p) => p !== "" && resolve(p) === dir);
  if (!onPath) console.log(`${dir} is not on your PATH: add it, e.g. export PATH="${dir}:$PATH"`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await install(Deno.args));
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
