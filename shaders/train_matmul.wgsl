// C = A · B (+ C when accumulating). A is read through strides, so Aᵀ costs nothing:
// A[i, k] = a[a_off + i·as0 + k·as1]. B is row-major and read as vec4: B[k, 4q..4q+3] =
// b[b_off4 + k·ldb4 + q]. C[i, j] = c[c_off + i·ldc + j]. One invocation computes ROWS (16) rows × 4
// columns in registers; the WG invocations of a workgroup take consecutive column quads, so their
// B loads are one contiguous vector and their A loads one shared value (on CPU drivers SIMD lanes
// are invocations). Measured on lavapipe at d_in 128, d_sae 1024, batch 4096: 16 rows and WG 32
// gave 4.4-6.8 GFLOP/s across the five products of a step, 8 rows 2.8-6.0, 4 × 4 blocks 2.1-4.0.
// Sums run over k in order: results are bit-reproducible. Prepended: `const ROWS`.

override WG: u32 = 64;

struct Params {
  m: u32,
  n4: u32, // columns / 4
  k: u32,
  a_off: u32,
  as0: u32,
  as1: u32,
  b_off4: u32,
  ldb4: u32,
  c_off: u32,
  ldc: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn store(row: u32, q: u32, acc: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let base = p.c_off + row * p.ldc + q * 4u;
  let v = acc;
  if (p.accumulate != 0u) {
    c[base] += v.x;
    c[base + 1u] += v.y;
    c[base + 2u] += v.z;
    c[base + 3u] += v.w;
  } else {
    c[base] = v.x;
    c[base + 1u] = v.y;
    c[base + 2u] = v.z;
    c[base + 3u] = v.w;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = wid.x * WG + lid;
  let i0 = wid.y * ROWS;
  if (q >= p.n4) {
    return;
  }
  let last = p.m - 1u;
  let a0 = p.a_off + min(i0 + 0u, last) * p.as0;
  let a1 = p.a_off + min(i0 + 1u, last) * p.as0;
  let a2 = p.a_off + min(i0 + 2u, last) * p.as0;
  let a3 = p.a_off + min(i0 + 3u, last) * p.as0;
  let a4 = p.a_off + min(i0 + 4u, last) * p.as0;
  let a5 = p.a_off + min(i0 + 5u, last) * p.as0;
  let a6 = p.a_off + min(i0 + 6u, last) * p.as0;
  let a7 = p.a_off + min(i0 + 7u, last) * p.as0;
  let a8 = p.a_off + min(i0 + 8u, last) * p.as0;
  let a9 = p.a_off + min(i0 + 9u, last) * p.as0;
  let a10 = p.a_off + min(i0 + 10u, last) * p.as0;
  let a11 = p.a_off + min(i0 + 11u, last) * p.as0;
  let a12 = p.a_off + min(i0 + 12u, last) * p.as0;
  let a13 = p.a_off + min(i0 + 13u, last) * p.as0;
  let a14 = p.a_off + min(i0 + 14u, last) * p.as0;
  let a15 = p.a_off + min(i0 + 15u, last) * p.as0;
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
  var bi = p.b_off4 + q;
  var ka = 0u;
  for (var kk = 0u; kk < p.k; kk++) {
    let bv = b[bi];
    acc0 += a[a0 + ka] * bv;
    acc1 += a[a1 + ka] * bv;
    acc2 += a[a2 + ka] * bv;
    acc3 += a[a3 + ka] * bv;
    acc4 += a[a4 + ka] * bv;
    acc5 += a[a5 + ka] * bv;
    acc6 += a[a6 + ka] * bv;
    acc7 += a[a7 + ka] * bv;
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
  store(i0 + 0u, q, acc0);
  store(i0 + 1u, q, acc1);
  store(i0 + 2u, q, acc2);
  store(i0 + 3u, q, acc3);
  store(i0 + 4u, q, acc4);
  store(i0 + 5u, q, acc5);
  store(i0 + 6u, q, acc6);
  store(i0 + 7u, q, acc7);
  if (ROWS > 8u) { store(i0 + 8u, q, acc8); }
  if (ROWS > 9u) { store(i0 + 9u, q, acc9); }
  if (ROWS > 10u) { store(i0 + 10u, q, acc10); }
  if (ROWS > 11u) { store(i0 + 11u, q, acc11); }
  if (ROWS > 12u) { store(i0 + 12u, q, acc12); }
  if (ROWS > 13u) { store(i0 + 13u, q, acc13); }
  if (ROWS > 14u) { store(i0 + 14u, q, acc14); }
  if (ROWS > 15u) { store(i0 + 15u, q, acc15); }
}
