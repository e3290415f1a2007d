// Splice with the error term: out = recon + (x - recon_clean), so an edit of the features moves
// the output by exactly the edit's own effect. Elementwise.

struct SpliceParams {
  count: u32,
}

@group(0) @binding(0) var<uniform> p: SpliceParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> recon_clean: array<f32>;
@group(0) @binding(3) var<storage, read> recon: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  out[i] = recon[i] + (x[i] - recon_clean[i]);
}
