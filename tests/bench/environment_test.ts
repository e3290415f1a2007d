import { assertEquals } from "../_assert.ts";
import { type Baseline, startProblems } from "../../bench/_environment.ts";

const OPENBLAS: Baseline = {
  torch: "1.13.0",
  blas_built: "generic",
  blas_library: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
  blas: "OpenBLAS",
  blas_threads: 2,
  torch_threads: 2,
  matmul_gflops: 150,
};

Deno.test("benchmark ratios stand on a quiet machine with an OpenBLAS baseline near the peak", () => {
  assertEquals(startProblems(OPENBLAS, 470, 0.4, 2), []);
  assertEquals(startProblems("no torch", "n/a (no C compiler)", 0.4, 2), []);
});

Deno.test("benchmark ratios are withheld against the reference BLAS, a broken baseline or a busy machine", () => {
  const reference = { ...OPENBLAS, blas: "reference", blas_library: "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3" };
  const [why] = startProblems(reference, 470, 0.1, 2);
  assertEquals(
    /reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\): install libopenblas0-pthread/.test(why),
    true,
    why,
  );
  assertEquals(
    /3\.0 GFLOP\/s, under 5% of the peak/.test(startProblems({ ...OPENBLAS, matmul_gflops: 3 }, 470, 0.1, 2)[0]),
    true,
    startProblems({ ...OPENBLAS, matmul_gflops: 3 }, 470, 0.1, 2)[0],
  );
  assertEquals(
    /load average was 2\.50 at the start, over the 2 cores/.test(startProblems(OPENBLAS, 470, 2.5, 2)[0]),
    true,
    startProblems(OPENBLAS, 470, 2.5, 2)[0],
  );
  assertEquals(startProblems(reference, 470, 3, 2).length, 2);
});
