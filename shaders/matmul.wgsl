// C = epilogue(A · B): one invocation computes ROWS (<= 16) rows × 4 columns of C in registers.
// A [m, k] f32 with row stride lda, read from column a_col; B [k, n] a weight matrix stored as vec4
// columns (WeightVec: f32 or f16) with row stride ldb4; C with row stride ldc, written from column
// c_col. No workgroup memory: on CPU drivers (lavapipe) register blocking beat shared-memory tiling
// (16 rows with k unrolled by 4 measured 8-10 GFLOP/s, 4 rows 3.6, a rolled loop 3.3). The rows are
// written out because arrays indexed in loops were not kept in registers; rows >= ROWS compile away.
// Prepended by the kernel runner: `alias WeightVec` and `const ROWS`. Appended: `fn epilogue`.

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  lda: u32,
  a_col: u32,
  ldb4: u32,
  ldc: u32,
  c_col: u32,
  accumulate: u32, // 1: add to C (sums over a row-split weight matrix)
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
  let base = row * p.ldc + p.c_col + col4 * 4u;
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
  let a0 = min(row0 + 0u, p.m - 1u) * p.lda + p.a_col;
  let a1 = min(row0 + 1u, p.m - 1u) * p.lda + p.a_col;
  let a2 = min(row0 + 2u, p.m - 1u) * p.lda + p.a_col;
  let a3 = min(row0 + 3u, p.m - 1u) * p.lda + p.a_col;
  let a4 = min(row0 + 4u, p.m - 1u) * p.lda + p.a_col;
  let a5 = min(row0 + 5u, p.m - 1u) * p.lda + p.a_col;
  let a6 = min(row0 + 6u, p.m - 1u) * p.lda + p.a_col;
  let a7 = min(row0 + 7u, p.m - 1u) * p.lda + p.a_col;
  let a8 = min(row0 + 8u, p.m - 1u) * p.lda + p.a_col;
  let a9 = min(row0 + 9u, p.m - 1u) * p.lda + p.a_col;
  let a10 = min(row0 + 10u, p.m - 1u) * p.lda + p.a_col;
  let a11 = min(row0 + 11u, p.m - 1u) * p.lda + p.a_col;
  let a12 = min(row0 + 12u, p.m - 1u) * p.lda + p.a_col;
  let a13 = min(row0 + 13u, p.m - 1u) * p.lda + p.a_col;
  let a14 = min(row0 + 14u, p.m - 1u) * p.lda + p.a_col;
  let a15 = min(row0 + 15u, p.m - 1u) * p.lda + p.a_col;
  let k4 = p.k & ~3u;
  var kk = 0u;
  for (; kk < k4; kk += 4u) {
    let bi = kk * p.ldb4 + col4;
    let b0 = vec4<f32>(b[bi]);
    let b1 = vec4<f32>(b[bi + p.ldb4]);
    let b2 = vec4<f32>(b[bi + 2u * p.ldb4]);
    let b3 = vec4<f32>(b[bi + 3u * p.ldb4]);
    acc0 += a[a0 + kk] * b0 + a[a0 + kk + 1u] * b1 + a[a0 + kk + 2u] * b2 + a[a0 + kk + 3u] * b3;
    if (ROWS > 1u) { acc1 += a[a1 + kk] * b0 + a[a1 + kk + 1u] * b1 + a[a1 + kk + 2u] * b2 + a[a1 + kk + 3u] * b3; }
    if (ROWS > 2u) { acc2 += a[a2 + kk] * b0 + a[a2 + kk + 1u] * b1 + a[a2 + kk + 2u] * b2 + a[a2 + kk + 3u] * b3; }
    if (ROWS > 3u) { acc3 += a[a3 + kk] * b0 + a[a3 + kk + 1u] * b1 + a[a3 + kk + 2u] * b2 + a[a3 + kk + 3u] * b3; }
    if (ROWS > 4u) { acc4 += a[a4 + kk] * b0 + a[a4 + kk + 1u] * b1 + a[a4 + kk + 2u] * b2 + a[a4 + kk + 3u] * b3; }
    if (ROWS > 5u) { acc5 += a[a5 + kk] * b0 + a[a5 + kk + 1u] * b1 + a[a5 + kk + 2u] * b2 + a[a5 + kk + 3u] * b3; }
    if (ROWS > 6u) { acc6 += a[a6 + kk] * b0 + a[a6 + kk + 1u] * b1 + a[a6 + kk + 2u] * b2 + a[a6 + kk + 3u] * b3; }
    if (ROWS > 7u) { acc7 += a[a7 + kk] * b0 + a[a7 + kk + 1u] * b1 + a[a7 + kk + 2u] * b2 + a[a7 + kk + 3u] * b3; }
    if (ROWS > 8u) { acc8 += a[a8 + kk] * b0 + a[a8 + kk + 1u] * b1 + a[a8 + kk + 2u] * b2 + a[a8 + kk + 3u] * b3; }
    if (ROWS > 9u) { acc9 += a[a9 + kk] * b0 + a[a9 + kk + 1u] * b1 + a[a9 + kk + 2u] * b2 + a[a9 + kk + 3u] * b3; }
    if (ROWS > 10u) { acc10 += a[a10 + kk] * b0 + a[a10 + kk + 1u] * b1 + a[a10 + kk + 2u] * b2 + a[a10 + kk + 3u] * b3; }
    if (ROWS > 11u) { acc11 += a[a11 + kk] * b0 + a[a11 + kk + 1u] * b1 + a[a11 + kk + 2u] * b2 + a[a11 + kk + 3u] * b3; }
    if (ROWS > 12u) { acc12 += a[a12 + kk] * b0 + a[a12 + kk + 1u] * b1 + a[a12 + kk + 2u] * b2 + a[a12 + kk + 3u] * b3; }
    if (ROWS > 13u) { acc13 += a[a13 + kk] * b0 + a[a13 + kk + 1u] * b1 + a[a13 + kk + 2u] * b2 + a[a13 + kk + 3u] * b3; }
    if (ROWS > 14u) { acc14 += a[a14 + kk] * b0 + a[a14 + kk + 1u] * b1 + a[a14 + kk + 2u] * b2 + a[a14 + kk + 3u] * b3; }
    if (ROWS > 15u) { acc15 += a[a15 + kk] * b0 + a[a15 + kk + 1u] * b1 + a[a15 + kk + 2u] * b2 + a[a15 + kk + 3u] * b3; }
  }
  for (; kk < p.k; kk++) {
    let bv = vec4<f32>(b[kk * p.ldb4 + col4]);
    acc0 += a[a0 + kk] * bv;
    if (ROWS > 1u) { acc1 += a[a1 + kk] * bv; }
    if (ROWS > 2u) { acc2 += a[a2 + kk] * bv; }
    if (ROWS > 3u) { acc3 += a[a3 + kk] * bv; }
    if (ROWS > 4u) { acc4 += a[a4 + kk] * bv; }
    if (ROWS > 5u) { acc5 += a[a5 + kk] * bv; }
    if (ROWS > 6u) { acc6 += a[a6 + kk] * bv; }
    if (ROWS > 7u) { acc7 += a[a7 + kk] * bv; }
    if (ROWS > 8u) { acc8 += a[a8 + kk] * bv; }
    if (ROWS > 9u) { acc9 += a[a9 + kk] * bv; }
    if (ROWS > 10u) { acc10 += a[a10 + kk] * bv; }
    if (ROWS > 11u) { acc11 += a[a11 + kk] * bv; }
    if (ROWS > 12u) { acc12 += a[a12 + kk] * bv; }
    if (ROWS > 13u) { acc13 += a[a13 + kk] * bv; }
    if (ROWS > 14u) { acc14 += a[a14 + kk] * bv; }
    if (ROWS > 15u) { acc15 += a[a15 + kk] * bv; }
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
