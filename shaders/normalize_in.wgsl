// SAE input: x' = normalize(x) - b_dec (b_dec only when apply_b_dec_to_input). One invocation
// handles one row and records how to undo the normalization on the output: y · out_scale + shift.
// MODE 0 none, 1 expected_average_only_in (x · s), 2 constant_norm_rescale (x · √d_in / ‖x‖),
// 3 layer_norm ((x - mean) / (std + 1e-5), std unbiased as torch's default).

struct NormalizeParams {
  rows: u32,
  n: u32,
  scale: f32, // s for expected_average_only_in
  subtract_b_dec: u32,
}

@group(0) @binding(0) var<uniform> p: NormalizeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> b_dec: array<f32>;
@group(0) @binding(3) var<storage, read_write> x_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> undo: array<vec2<f32>>; // (shift, out_scale) per row

override MODE: u32 = 0;
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.n;
  var shift = 0.0;
  var in_scale = 1.0;
  var out_scale = 1.0;
  if (MODE == 1u) {
    in_scale = p.scale;
    out_scale = 1.0 / p.scale;
  } else if (MODE == 2u) {
    var sq = 0.0;
    for (var i = 0u; i < p.n; i++) {
      sq += x[base + i] * x[base + i];
    }
    in_scale = sqrt(f32(p.n)) / sqrt(sq);
    out_scale = 1.0 / in_scale;
  } else if (MODE == 3u) {
    var sum = 0.0;
    for (var i = 0u; i < p.n; i++) {
      sum += x[base + i];
    }
    shift = sum / f32(p.n);
    var sq = 0.0;
    for (var i = 0u; i < p.n; i++) {
      let d = x[base + i] - shift;
      sq += d * d;
    }
    let sd = sqrt(sq / f32(p.n - 1u));
    in_scale = 1.0 / (sd + 1e-5);
    out_scale = sd;
  }
  for (var i = 0u; i < p.n; i++) {
    let bias = select(0.0, b_dec[i], p.subtract_b_dec != 0u);
    x_in[base + i] = (x[base + i] - shift) * in_scale - bias;
  }
  undo[row] = vec2<f32>(shift, out_scale);
}
