// The standard SAE's sparsity term with SAELens's lp_norm p ≠ 1: per token, the p-norm of the weighted
// features w_j = f_j · c_j (c = decoder row norms, or 1). One workgroup handles one row: it finds the
// row's largest w (so w^p cannot overflow), then ‖w‖_p = top · (Σ_j (w_j / top)^p)^(1/p), and writes
// each element's factor (w_j / ‖w‖_p)^(p−1), the term's ∂/∂w_j (0 where the row's norm is 0).

struct Params {
  rows: u32,
  cols: u32,
  p: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> acts: array<f32>; // f [rows, cols]
@group(0) @binding(2) var<storage, read> col: array<f32>; // c [cols]
@group(0) @binding(3) var<storage, read_write> factors: array<f32>; // [rows, cols]

var<workgroup> part: array<f32, 64>;

// x^y for x >= 0 and y > 0, 0 at x = 0 (where WGSL's pow is undefined).
fn power(x: f32, y: f32) -> f32 {
  return select(0.0, pow(x, y), x > 0.0);
}

// Sums (or takes the largest of, with `largest`) the 64 partial values of the workgroup.
fn combine(lid: u32, v: f32, largest: bool) -> f32 {
  workgroupBarrier();
  part[lid] = v;
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      part[lid] = select(part[lid] + part[lid + stride], max(part[lid], part[lid + stride]), largest);
    }
  }
  return workgroupUniformLoad(&part[0]);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * p.cols;
  var top = 0.0;
  for (var j = lid; j < p.cols; j += 64u) {
    top = max(top, acts[base + j] * col[j]);
  }
  top = combine(lid, top, true);
  let safe_top = max(top, 1e-30);
  var s = 0.0;
  for (var j = lid; j < p.cols; j += 64u) {
    s += power(acts[base + j] * col[j] / safe_top, p.p);
  }
  let norm = max(top * power(combine(lid, s, false), 1.0 / p.p), 1e-30);
  for (var j = lid; j < p.cols; j += 64u) {
    factors[base + j] = power(acts[base + j] * col[j] / norm, p.p - 1.0);
  }
}
