// Runs the CLI in-process with console output captured, and as a subprocess.
import { main } from "../../cli/main.ts";
import { assertEquals } from "../_assert.ts";

export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

export async function spawn(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs the CLI as a subprocess, stderr piped (not a terminal, as under nohup or CI), and returns stderr's lines. */
export async function loggedRun(args: string[]): Promise<{ stdout: string; lines: string[] }> {
  const { code, stdout, stderr } = await spawn(["run", "-A", "cli/main.ts", ...args]);
  assertEquals(code, 0, stderr);
  return { stdout, lines: stderr.trim().split("\n") };
}

/** Checks a verb's log: start line first, the device once loaded, a progress line, then the summary. */
export function assertProgressLog(lines: string[], verb: string, progress: RegExp, summary: RegExp): void {
  const log = lines.join("\n");
  assertEquals(new RegExp(`^sae ${verb}: .*; loading$`).test(lines[0]), true, log);
  assertEquals(
    new RegExp(`^sae ${verb}: loaded in [\\d.]+m?s; device: .*ONNX Runtime (node|web)`).test(lines[1]),
    true,
    log,
  );
  assertEquals(lines.some((l) => progress.test(l)), true, `${progress} in\n${log}`);
  assertEquals(summary.test(lines.at(-1)!), true, `${summary} last in\n${log}`);
}
