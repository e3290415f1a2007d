// Gradients with respect to the pre-activations, one invocation per element of [rows, latents].
// t = ∂loss/∂f from the reconstruction (dx̂ · W_decᵀ); t2 = the same from an auxiliary decode (AuxK,
// ghost grads, the gated frozen-decoder term) or unused; col = per-latent values; c1, c2 scalars.

struct Params {
  count: u32,
  cols: u32,
  c1: f32,
  c2: f32,
  flag: u32, // 1: add the auxiliary term t2
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> acts: array<f32>; // f
@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read> t: array<f32>;
@group(0) @binding(4) var<storage, read> t2: array<f32>;
@group(0) @binding(5) var<storage, read> col: array<f32>;
@group(0) @binding(6) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(7) var<storage, read_write> dpre2: array<f32>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

// Standard: f = ReLU(pre), L1 = c1 · Σ f_j ‖W_dec,j‖ (col = decoder norms, c1 = λ / batch).
// Ghost grads (flag): pre = exp(pre) of dead latents here, so ∂/∂pre = t2 · exp(pre).
@compute @workgroup_size(64)
fn standard(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  var g = select(0.0, t[i] + p.c1 * col[i % p.cols], acts[i] > 0.0);
  if (p.flag != 0u) {
    g += t2[i] * pre[i];
  }
  dpre[i] = g;
}

// Standard with lp_norm p ≠ 1: the L1 gradient c1 · col scaled per element by the sparsity term's
// factor (w / ‖w‖_p)^(p−1) (train_lp_norm.wgsl); otherwise as `standard`.
@group(0) @binding(8) var<storage, read> lp_factors: array<f32>;

@compute @workgroup_size(64)
fn standard_lp(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  var g = select(0.0, t[i] + p.c1 * col[i % p.cols] * lp_factors[i], acts[i] > 0.0);
  if (p.flag != 0u) {
    g += t2[i] * pre[i];
  }
  dpre[i] = g;
}

// TopK family: gradient flows to kept latents; AuxK (flag) to the selected dead ones (pre = aux acts).
@compute @workgroup_size(64)
fn topk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  var g = select(0.0, t[i], acts[i] > 0.0);
  if (p.flag != 0u && pre[i] != 0.0) {
    g += t2[i];
  }
  dpre[i] = g;
}

// JumpReLU with the straight-through estimator (col = log θ, c1 = λ / batch, c2 = bandwidth ε):
// ∂f/∂pre = 1[pre > θ]; ∂/∂θ from f: −(θ/ε)·K·t, from the L0 term: −(1/ε)·K·c1, with
// K = 1[|pre − θ| < ε/2]. dpre2 receives each element's ∂/∂log θ = θ · ∂/∂θ, summed per latent later.
@compute @workgroup_size(64)
fn jumprelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  let theta = exp(col[i % p.cols]);
  let h = pre[i];
  dpre[i] = select(0.0, t[i], h > theta);
  let inside = abs(h - theta) < 0.5 * p.c2;
  dpre2[i] = select(0.0, theta * (-(theta / p.c2) * t[i] - p.c1 / p.c2), inside);
}

// Gated (pre = π_gate, col = decoder norms, c1 = λ / batch): dpre = ∂/∂π_mag = 1[f > 0]·t;
// dpre2 = ∂/∂π_gate from the L1 term on ReLU(π_gate) and the frozen-decoder term t2.
@compute @workgroup_size(64)
fn gated(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  dpre[i] = select(0.0, t[i], acts[i] > 0.0);
  dpre2[i] = select(0.0, p.c1 * col[i % p.cols] + t2[i], pre[i] > 0.0);
}
