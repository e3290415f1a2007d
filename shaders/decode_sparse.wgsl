// x̂ = Σ_j values[j] · W_dec[indices[j]] + b_dec over the k kept latents of each row: only k rows
// of W_dec are read. One invocation computes 4 output columns of one row. W_dec may be split into
// row blocks; each dispatch adds the latents that fall in its block (block 0 carries b_dec).

struct SparseDecodeParams {
  n: u32,        // d_in
  k: u32,
  ldb4: u32,
  block_row0: u32,
  block_rows: u32,
  accumulate: u32,
  row_start: u32,
}

@group(0) @binding(0) var<uniform> p: SparseDecodeParams;
@group(0) @binding(1) var<storage, read> top_values: array<f32>;
@group(0) @binding(2) var<storage, read> top_indices: array<u32>;
@group(0) @binding(3) var<storage, read> w_dec: array<WeightVec>;
@group(0) @binding(4) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col4 = wid.x * WG + lid;
  let row = p.row_start + wid.y;
  if (col4 * 4u >= p.n) {
    return;
  }
  var acc = bias[col4];
  for (var j = 0u; j < p.k; j++) {
    let latent = top_indices[row * p.k + j] - p.block_row0; // wraps past block_rows when below it
    if (latent < p.block_rows) {
      acc += top_values[row * p.k + j] * vec4<f32>(w_dec[latent * p.ldb4 + col4]);
    }
  }
  let base = row * p.n + col4 * 4u;
  for (var c = 0u; c < min(4u, p.n - col4 * 4u); c++) {
    if (p.accumulate != 0u) {
      out[base + c] += acc[c];
    } else {
      out[base + c] = acc[c];
    }
  }
}
