// Per-row loss terms over [rows, d_in], one invocation per row: the gradient each writes into `grad`
// and the row's summed squared error into stats[row · stride + slot]. scale = the term's
// coefficient × 2 / batch (the loss is a sum over d_in, a mean over the batch).

struct Params {
  rows: u32,
  d_in: u32,
  scale: f32,
  stride: u32,
  slot: u32,
  residual: u32, // 1: the target is the detached residual x − x̂ (AuxK), else x
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<f32>; // a reconstruction (or decoded auxiliary term)
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> xhat: array<f32>; // the full reconstruction (AuxK, ghost)
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

// ‖out − x‖²: the reconstruction loss (and the matryoshka and gated-auxiliary ones); AuxK's
// ‖out − (x − x̂)‖² with the residual detached.
@compute @workgroup_size(64)
fn mse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) {
    return;
  }
  var s = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let i = r * p.d_in + d;
    let e = out[i] - select(x[i], x[i] - xhat[i], p.residual != 0u);
    s += e * e;
    grad[i] = p.scale * e;
  }
  stats[r * p.stride + p.slot] = s;
}

// Ghost grads (SAELens <= 5): g = out · ‖r‖ / (2‖out‖ + 1e-6) with the scale detached, r = x − x̂;
// e = (g − r)²; loss = mean over elements of (mse / (e + 1e-6)).detach() · e. Writes ∂loss/∂out with
// scale = 1 / (batch · d_in); stats gets the row's summed loss terms.
@compute @workgroup_size(64)
fn ghost(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) {
    return;
  }
  var rr = 0.0;
  var gg = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let i = r * p.d_in + d;
    let res = x[i] - xhat[i];
    rr += res * res;
    gg += out[i] * out[i];
  }
  let s = sqrt(rr) / (2.0 * sqrt(gg) + 1e-6);
  var total = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let i = r * p.d_in + d;
    let res = x[i] - xhat[i];
    let diff = s * out[i] - res;
    let e = diff * diff;
    let ratio = res * res / (e + 1e-6);
    total += ratio * e;
    grad[i] = p.scale * ratio * 2.0 * diff * s;
  }
  stats[r * p.stride + p.slot] = total;
}
