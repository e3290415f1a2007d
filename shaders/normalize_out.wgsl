// Undo the input normalization on the SAE output: y · out_scale + shift, per row, in place.

struct DenormalizeParams {
  rows: u32,
  n: u32,
}

@group(0) @binding(0) var<uniform> p: DenormalizeParams;
@group(0) @binding(1) var<storage, read> undo: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.n) {
    return;
  }
  let u = undo[i / p.n];
  y[i] = y[i] * u.y + u.x;
}
