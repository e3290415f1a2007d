// Adam with the gradient clipped to a total norm (torch.nn.utils.clip_grad_norm_ then torch.optim.Adam).
// sum_squares: one workgroup sums one tensor's squared gradients into norms[slot]; adam: one
// invocation per element reads every tensor's sum for the clip factor and updates p, m and v.

struct Params {
  n: u32,
  slot: u32,
  slots: u32,
  step_size: f32, // lr / (1 − β1^t)
  bias2_sqrt: f32, // sqrt(1 − β2^t)
  beta1: f32,
  beta2: f32,
  eps: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> norms: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn sum_squares(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.n; i += 256u) {
    s += grad[i] * grad[i];
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    norms[p.slot] = partial[0];
  }
}

@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  var total = 0.0;
  for (var s = 0u; s < p.slots; s++) {
    total += norms[s];
  }
  let clip = min(1.0, p.max_norm / (sqrt(total) + 1e-6));
  let g = grad[i] * clip;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] -= p.step_size * mi / (sqrt(vi) / p.bias2_sqrt + p.eps);
}
