// Gated SAEs: π_mag uses W_mag = W_enc ⊙ exp(r_mag), so with M = ∂loss/∂W_mag [d_in, latents]:
// ∂W_enc += M ⊙ exp(r_mag) and ∂r_mag_j = Σ_d M[d, j] · W_mag[d, j]. One invocation per latent column.

struct Params {
  d_in: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mag_grad: array<f32>; // M
@group(0) @binding(2) var<storage, read> w_enc: array<f32>;
@group(0) @binding(3) var<storage, read> r_mag: array<f32>;
@group(0) @binding(4) var<storage, read_write> w_enc_grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> r_mag_grad: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= p.cols) {
    return;
  }
  let e = exp(r_mag[j]);
  var s = 0.0;
  for (var d = 0u; d < p.d_in; d++) {
    let i = d * p.cols + j;
    w_enc_grad[i] += mag_grad[i] * e;
    s += mag_grad[i] * w_enc[i];
  }
  r_mag_grad[j] += s * e;
}
