// The decoder from the compact TopK list (train_sparse_select.wgsl): only the kept rows of W_dec
// [cols, d_in] are read. Sums run over a row's entries in ascending index order, the order in
// which train_matmul.wgsl meets the same non-zero terms. Entries at positions >= capacity (an
// overflowing list) are left out.

struct Params {
  rows: u32,
  d4: u32, // d_in / 4
  capacity: u32,
  start: u32, // latents [start, end) take part
  end: u32,
  bias: u32, // decode: 1 adds b_dec (AuxK's decode has none)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> kept_index: array<u32>;
@group(0) @binding(3) var<storage, read> kept_value: array<f32>;
@group(0) @binding(4) var<storage, read> row_of: array<u32>;
@group(0) @binding(5) var<storage, read> w_dec: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> b_dec: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> d_out: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> d_value: array<f32>;

fn flat(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * 65535u * 64u;
}

// out[r] = (b_dec +) Σ value · W_dec[index] over row r's entries with index < end; one invocation
// per 4 columns of a row.
@compute @workgroup_size(64)
fn decode(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = flat(gid);
  if (i >= p.rows * p.d4) {
    return;
  }
  let r = i / p.d4;
  let q = i % p.d4;
  let e1 = min(row_ptr[r + 1u], p.capacity);
  var acc = vec4<f32>(0.0);
  for (var e = min(row_ptr[r], p.capacity); e < e1; e++) {
    let j = kept_index[e];
    if (j >= p.end) {
      break;
    }
    acc += kept_value[e] * w_dec[j * p.d4 + q];
  }
  out[i] = select(acc, acc + b_dec[q], p.bias != 0u);
}

// d_value[e] = d_out[row] · W_dec[index] for entries with index in [start, end); others keep
// their value, so one call per matryoshka level fills the list. One invocation per entry; the dot
// product runs over d_in in order, as train_matmul.wgsl's dx̂ · W_decᵀ does.
@compute @workgroup_size(64)
fn value_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = flat(gid);
  if (e >= min(row_ptr[p.rows], p.capacity)) {
    return;
  }
  let j = kept_index[e];
  if (j < p.start || j >= p.end) {
    return;
  }
  let a = row_of[e] * p.d4;
  let b = j * p.d4;
  var s = 0.0;
  for (var q = 0u; q < p.d4; q++) {
    let x = d_out[a + q];
    let w = w_dec[b + q];
    s += x.x * w.x;
    s += x.y * w.y;
    s += x.z * w.z;
    s += x.w * w.w;
  }
  d_value[e] = s;
}
