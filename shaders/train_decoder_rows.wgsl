// Per-latent operations on the decoder W_dec [latents, d_in], one invocation per latent row.

struct Params {
  rows: u32,
  d_in: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<f32>;
@group(0) @binding(4) var<storage, read_write> norms: array<f32>;

fn row_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

fn norm_of(j: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let x = w[j * p.d_in + d];
    s += x * x;
  }
  return sqrt(s);
}

@compute @workgroup_size(64)
fn row_norms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = row_of(gid, nwg);
  if (j < p.rows) {
    norms[j] = norm_of(j);
  }
}

// The L1 term λ/batch · Σ f_j ‖W_dec,j‖ also pulls on the norms: grad_j += scale · coef_j · W_j / ‖W_j‖
// with coef = Σ_batch f_j and scale = λ / batch.
@compute @workgroup_size(64)
fn norm_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = row_of(gid, nwg);
  if (j >= p.rows) {
    return;
  }
  let c = p.scale * coef[j] / max(norm_of(j), 1e-30);
  for (var d = 0u; d < p.d_in; d++) {
    grad[j * p.d_in + d] += c * w[j * p.d_in + d];
  }
}

// Unit-norm decoders: drop the gradient component that would only change a row's norm.
@compute @workgroup_size(64)
fn remove_parallel(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = row_of(gid, nwg);
  if (j >= p.rows) {
    return;
  }
  var dot = 0.0;
  var ww = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let i = j * p.d_in + d;
    dot += grad[i] * w[i];
    ww += w[i] * w[i];
  }
  let c = dot / max(ww, 1e-30);
  for (var d = 0u; d < p.d_in; d++) {
    grad[j * p.d_in + d] -= c * w[j * p.d_in + d];
  }
}

@compute @workgroup_size(64)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = row_of(gid, nwg);
  if (j >= p.rows) {
    return;
  }
  let n = max(norm_of(j), 1e-30);
  for (var d = 0u; d < p.d_in; d++) {
    w[j * p.d_in + d] /= n;
  }
}
