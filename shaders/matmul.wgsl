// C (+)= epilogue(A · B), for inference (A · W with a fused bias or activation) and training (the
// products of a step, A often transposed). One invocation computes ROWS (<= 16) rows × 4 columns of C
// in registers; the WG invocations of a workgroup take consecutive column quads, so their B loads are
// one contiguous vector and their A loads one shared value (on CPU drivers SIMD lanes are invocations).
// A is read through strides, so Aᵀ costs nothing: A[i, k] = a[a_off + i·as0 + k·as1]. B [k, n] is
// stored as vec4 columns (WeightVec: f32 or f16): B[k, 4q..4q+3] = b[b_off4 + k·ldb4 + q].
// C[i, j] = c[c_off + i·ldc + j]; n need not be a multiple of 4.
// No workgroup memory: on CPU drivers (lavapipe) register blocking beat shared-memory tiling (16 rows
// measured 8-10 GFLOP/s, 4 rows 3.6, with k unrolled by 4). The rows are written out because arrays
// indexed in loops were not kept in registers; rows >= ROWS compile away. This strided loop ran
// within the noise of a contiguous one unrolled by 4 on inference's products (0.96-1.08× its time on
// lavapipe) and of that unrolled by 4 through strides on training's (0.87-1.18×); it adds one product
// at a time, so sums run over k in order and match a sequential sum bit for bit (the sparse training
// ops').
// Prepended by the kernel runner: `alias WeightVec` and `const ROWS`. Appended: `fn epilogue`
// (shaders/epilogue_none.wgsl where there is none).

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  a_off: u32,
  as0: u32, // A's stride between rows of C
  as1: u32, // A's stride along k
  b_off4: u32,
  ldb4: u32,
  c_off: u32,
  ldc: u32,
  accumulate: u32, // 1: add to C (gradients, sums over a row-split weight matrix)
  row_start: u32, // first row of this dispatch, past 65535 workgroups
}

@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<WeightVec>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG: u32 = 64;

fn store(row: u32, col4: u32, acc: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let v = epilogue(col4, acc);
  let base = p.c_off + row * p.ldc + col4 * 4u;
  let cols = min(4u, p.n - col4 * 4u);
  for (var j = 0u; j < cols; j++) {
    if (p.accumulate != 0u) {
      c[base + j] += v[j];
    } else {
      c[base + j] = v[j];
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col4 = wid.x * WG + lid;
  let row0 = p.row_start + wid.y * ROWS;
  if (col4 * 4u >= p.n || row0 >= p.m) {
    return;
  }
  // Rows past m read the last row (in bounds) and are not stored.
  let last = p.m - 1u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var acc8 = vec4<f32>(0.0);
  var acc9 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc12 = vec4<f32>(0.0);
  var acc13 = vec4<f32>(0.0);
  var acc14 = vec4<f32>(0.0);
  var acc15 = vec4<f32>(0.0);
  let a0 = p.a_off + min(row0 + 0u, last) * p.as0;
  let a1 = p.a_off + min(row0 + 1u, last) * p.as0;
  let a2 = p.a_off + min(row0 + 2u, last) * p.as0;
  let a3 = p.a_off + min(row0 + 3u, last) * p.as0;
  let a4 = p.a_off + min(row0 + 4u, last) * p.as0;
  let a5 = p.a_off + min(row0 + 5u, last) * p.as0;
  let a6 = p.a_off + min(row0 + 6u, last) * p.as0;
  let a7 = p.a_off + min(row0 + 7u, last) * p.as0;
  let a8 = p.a_off + min(row0 + 8u, last) * p.as0;
  let a9 = p.a_off + min(row0 + 9u, last) * p.as0;
  let a10 = p.a_off + min(row0 + 10u, last) * p.as0;
  let a11 = p.a_off + min(row0 + 11u, last) * p.as0;
  let a12 = p.a_off + min(row0 + 12u, last) * p.as0;
  let a13 = p.a_off + min(row0 + 13u, last) * p.as0;
  let a14 = p.a_off + min(row0 + 14u, last) * p.as0;
  let a15 = p.a_off + min(row0 + 15u, last) * p.as0;
  var bi = p.b_off4 + col4;
  var ka = 0u;
  for (var kk = 0u; kk < p.k; kk++) {
    let bv = vec4<f32>(b[bi]);
    acc0 += a[a0 + ka] * bv;
    if (ROWS > 1u) { acc1 += a[a1 + ka] * bv; }
    if (ROWS > 2u) { acc2 += a[a2 + ka] * bv; }
    if (ROWS > 3u) { acc3 += a[a3 + ka] * bv; }
    if (ROWS > 4u) { acc4 += a[a4 + ka] * bv; }
    if (ROWS > 5u) { acc5 += a[a5 + ka] * bv; }
    if (ROWS > 6u) { acc6 += a[a6 + ka] * bv; }
    if (ROWS > 7u) { acc7 += a[a7 + ka] * bv; }
    if (ROWS > 8u) { acc8 += a[a8 + ka] * bv; }
    if (ROWS > 9u) { acc9 += a[a9 + ka] * bv; }
    if (ROWS > 10u) { acc10 += a[a10 + ka] * bv; }
    if (ROWS > 11u) { acc11 += a[a11 + ka] * bv; }
    if (ROWS > 12u) { acc12 += a[a12 + ka] * bv; }
    if (ROWS > 13u) { acc13 += a[a13 + ka] * bv; }
    if (ROWS > 14u) { acc14 += a[a14 + ka] * bv; }
    if (ROWS > 15u) { acc15 += a[a15 + ka] * bv; }
    bi += p.ldb4;
    ka += p.as1;
  }
  store(row0 + 0u, col4, acc0);
  if (ROWS > 1u) { store(row0 + 1u, col4, acc1); }
  if (ROWS > 2u) { store(row0 + 2u, col4, acc2); }
  if (ROWS > 3u) { store(row0 + 3u, col4, acc3); }
  if (ROWS > 4u) { store(row0 + 4u, col4, acc4); }
  if (ROWS > 5u) { store(row0 + 5u, col4, acc5); }
  if (ROWS > 6u) { store(row0 + 6u, col4, acc6); }
  if (ROWS > 7u) { store(row0 + 7u, col4, acc7); }
  if (ROWS > 8u) { store(row0 + 8u, col4, acc8); }
  if (ROWS > 9u) { store(row0 + 9u, col4, acc9); }
  if (ROWS > 10u) { store(row0 + 10u, col4, acc10); }
  if (ROWS > 11u) { store(row0 + 11u, col4, acc11); }
  if (ROWS > 12u) { store(row0 + 12u, col4, acc12); }
  if (ROWS > 13u) { store(row0 + 13u, col4, acc13); }
  if (ROWS > 14u) { store(row0 + 14u, col4, acc14); }
  if (ROWS > 15u) { store(row0 + 15u, col4, acc15); }
}
