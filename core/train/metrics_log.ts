/**
 * The run's metrics log, `checkpoint_path/metrics.jsonl`: one JSON line per logged step in SAELens's W&B
 * names, appended as the run goes and cut back to a checkpoint's step on resume.
 *
 * @module
 */

/** One metrics line (SAELens's W&B names), also kept for the report. */
export type MetricsLine = Record<string, number>;

/** The metrics file inside `checkpoint_path`. */
export const METRICS_FILE = "metrics.jsonl";

/**
 * The metrics lines a checkpoint at `step` had written (later lines belong to the lost part of the run). A last
 * line without its newline is a write cut short by the kill and is dropped; any other bad line is an error.
 */
export async function readMetrics(path: string, step: number): Promise<MetricsLine[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  // Every line is written with its newline: what follows the last one is empty or a cut-off line.
  const complete = text.split("\n").slice(0, -1);
  const out: MetricsLine[] = [];
  complete.forEach((line, i) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || !Number.isInteger((parsed as MetricsLine).step)) {
      throw new SyntaxError(`${path} line ${i + 1} is not a metrics line with a step: ${line.slice(0, 80)}`);
    }
    out.push(parsed as MetricsLine);
  });
  return out.filter((m) => m.step <= step);
}
