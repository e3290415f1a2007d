// C = alpha · A · B (+ C when accumulating), with A and B read through strides so one kernel covers
// A·B, Aᵀ·B and A·Bᵀ: A[i, k] = a[a_off + i·as0 + k·as1], B[k, j] = b[b_off + k·bs0 + j·bs1],
// C[i, j] = c[c_off + i·ldc + j]. One invocation computes a 4 × 4 block of C in registers; a
// workgroup of 16 × 16 covers 64 × 64. Sums run over k in order, so results are bit-reproducible.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_off: u32,
  as0: u32,
  as1: u32,
  b_off: u32,
  bs0: u32,
  bs1: u32,
  c_off: u32,
  ldc: u32,
  accumulate: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.m || j0 >= p.n) {
    return;
  }
  // Rows and columns past the edge read the last valid one and are not stored.
  var ai: vec4<u32>;
  var bj: vec4<u32>;
  for (var t = 0u; t < 4u; t++) {
    ai[t] = p.a_off + min(i0 + t, p.m - 1u) * p.as0;
    bj[t] = p.b_off + min(j0 + t, p.n - 1u) * p.bs1;
  }
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    let ka = kk * p.as1;
    let kb = kk * p.bs0;
    let bv = vec4<f32>(b[bj.x + kb], b[bj.y + kb], b[bj.z + kb], b[bj.w + kb]);
    acc0 += a[ai.x + ka] * bv;
    acc1 += a[ai.y + ka] * bv;
    acc2 += a[ai.z + ka] * bv;
    acc3 += a[ai.w + ka] * bv;
  }
  let cols = min(4u, p.n - j0);
  for (var t = 0u; t < 4u; t++) {
    if (i0 + t >= p.m) {
      break;
    }
    var acc = acc0;
    if (t == 1u) { acc = acc1; }
    if (t == 2u) { acc = acc2; }
    if (t == 3u) { acc = acc3; }
    let base = p.c_off + (i0 + t) * p.ldc + j0;
    for (var j = 0u; j < cols; j++) {
      if (p.accumulate != 0u) {
        c[base + j] += p.alpha * acc[j];
      } else {
        c[base + j] = p.alpha * acc[j];
      }
    }
  }
}
