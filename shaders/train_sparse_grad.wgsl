// Weight gradients from the column-compressed TopK list (train_sparse_select.wgsl), without
// scatter: one invocation owns 4 entries of one latent's gradient and sums that latent's entries
// in row order (train_matmul.wgsl meets the same non-zero terms in the same order), then adds the
// sum to the gradient. No atomics: the same bits every run. Entries whose col_entry is capacity
// (an overflowing list) are left out.

struct Params {
  d4: u32, // d_in / 4
  cols: u32, // d_sae
  capacity: u32,
  start: u32, // latents [start, end)
  end: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> col_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_row: array<u32>;
@group(0) @binding(3) var<storage, read> col_entry: array<u32>;
@group(0) @binding(4) var<storage, read> kept_value: array<f32>;
@group(0) @binding(5) var<storage, read> value_grad: array<f32>;
@group(0) @binding(6) var<storage, read> rows_in: array<vec4<f32>>; // dx̂ or x_in, [rows, d_in]
@group(0) @binding(7) var<storage, read_write> w_dec_grad: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> w_enc_grad: array<f32>;
@group(0) @binding(9) var<storage, read_write> b_enc_grad: array<f32>;

fn flat(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * 65535u * 64u;
}

// W_dec.grad[j] += Σ_(r, j) value · dx̂[r] for j in [start, end) (rows_in = dx̂).
@compute @workgroup_size(64)
fn decoder_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = flat(gid);
  if (i >= (p.end - p.start) * p.d4) {
    return;
  }
  let j = p.start + i / p.d4;
  let q = i % p.d4;
  let e1 = min(col_ptr[j + 1u], p.capacity);
  var acc = vec4<f32>(0.0);
  for (var e = min(col_ptr[j], p.capacity); e < e1; e++) {
    let s = col_entry[e];
    if (s < p.capacity) {
      acc += kept_value[s] * rows_in[col_row[e] * p.d4 + q];
    }
  }
  w_dec_grad[j * p.d4 + q] += acc;
}

// W_enc.grad[:, j] += Σ_(r, j) x_in[r] · ∂pre and b_enc.grad[j] += Σ_(r, j) ∂pre (∂pre =
// value_grad, rows_in = x_in; W_enc is [d_in, cols]).
@compute @workgroup_size(64)
fn encoder_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = flat(gid);
  if (i >= (p.end - p.start) * p.d4) {
    return;
  }
  let j = p.start + i / p.d4;
  let q = i % p.d4;
  let e1 = min(col_ptr[j + 1u], p.capacity);
  var acc = vec4<f32>(0.0);
  var bias = 0.0;
  for (var e = min(col_ptr[j], p.capacity); e < e1; e++) {
    let s = col_entry[e];
    if (s < p.capacity) {
      let g = value_grad[s];
      acc += g * rows_in[col_row[e] * p.d4 + q];
      bias += g;
    }
  }
  let base = q * 4u * p.cols + j;
  w_enc_grad[base] += acc.x;
  w_enc_grad[base + p.cols] += acc.y;
  w_enc_grad[base + 2u * p.cols] += acc.z;
  w_enc_grad[base + 3u * p.cols] += acc.w;
  if (q == 0u) {
    b_enc_grad[j] += bias;
  }
}
