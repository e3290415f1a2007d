// The PyTorch CPU baseline every benchmark runs in the same run: a Python script beside this file, run with Debian's
// python3 (python3-torch, libopenblas0-pthread), printing its figures as one JSON object.

/** The Python the baselines run with (`SAE_BENCH_PYTHON`, else Debian's). */
export const PYTHON = Deno.env.get("SAE_BENCH_PYTHON") ?? "/usr/bin/python3";

/** Runs `bench/<script>` with `args`; its JSON output, or why there is none. */
export async function torchBaseline<T>(script: string, args: (string | number)[]): Promise<T | string> {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  try {
    const out = await new Deno.Command(PYTHON, {
      args: [path, ...args.map(String)],
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1" }, // the scripts import bench/_*.py: leave no __pycache__ in bench/
    }).output();
    if (!out.success) return new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "failed";
    return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
  } catch (error) {
    return (error as Error).message;
  }
}
