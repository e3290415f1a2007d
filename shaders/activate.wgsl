// Features from pre-activations: out = activation(pre), one invocation per value, over the columns
// col0..col0+cols of one row chunk of pre [rows, ld] (one block of the encoder's columns, whose
// per-latent vectors the appended `fn activation` reads at `col - col0`). `aux` is an optional second
// tensor chunked like `pre` (Gated's gate pre-activation). Appended: `fn activation`.

struct ActivateParams {
  rows: u32,
  cols: u32,
  ld: u32,
  col0: u32,
}

@group(0) @binding(0) var<uniform> p: ActivateParams;
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= p.rows * p.cols) {
    return;
  }
  let col = j % p.cols;
  let i = (j / p.cols) * p.ld + p.col0 + col;
  out[i] = activation(i, col, pre[i]);
}
