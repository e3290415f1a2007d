// Per-column sums over the rows of [rows, cols], one invocation per column, summed in row order
// (bit-reproducible). mode 0: values; 1: count of values > 0; 2: sum of ReLU(values). Also the
// column sums of an elementwise product, and a matrix-vector product, summed the same way.

struct Params {
  rows: u32,
  cols: u32,
  mode: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= p.cols) {
    return;
  }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let x = v[r * p.cols + j];
    if (p.mode == 0u) {
      s += x;
    } else if (p.mode == 1u) {
      s += select(0.0, 1.0, x > 0.0);
    } else {
      s += max(x, 0.0);
    }
  }
  if (p.accumulate != 0u) {
    sums[j] += s;
  } else {
    sums[j] = s;
  }
}

// y[i] −= Σ_j M[i, j] · v[j] (M = [rows, cols], one invocation per row): with the input x − b_dec,
// b_dec's gradient loses W_enc · (the encoder bias gradient).
@group(0) @binding(3) var<storage, read> matrix: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn matvec(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.rows) {
    return;
  }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    s += matrix[i * p.cols + j] * v[j];
  }
  y[i] -= s;
}

// sums[j] += Σ_r v[r, j] · factors[r, j]: the standard SAE's per-latent sums with lp_norm ≠ 1
// (f times the sparsity term's factor).
@group(0) @binding(5) var<storage, read> factors: array<f32>;

@compute @workgroup_size(64)
fn products(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= p.cols) {
    return;
  }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    s += v[r * p.cols + j] * factors[r * p.cols + j];
  }
  sums[j] += s;
}
