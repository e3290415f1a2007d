// Elementwise steps of a training forward over [rows, cols] (cols = latents or d_in), one
// invocation per element, flat index folded into x and y. `col` holds one value per column.

struct Params {
  count: u32,
  cols: u32,
  alpha: f32,
  flag: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> col: array<f32>;
@group(0) @binding(5) var<storage, read_write> min_positive: array<atomic<u32>>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

// dst += alpha · col (a bias broadcast over rows; alpha -1 subtracts b_dec from the input)
@compute @workgroup_size(64)
fn add_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    dst[i] += p.alpha * col[i % p.cols];
  }
}

@compute @workgroup_size(64)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    dst[i] = max(src[i], 0.0);
  }
}

// TopK / BatchTopK: keep positive values at or above the threshold of their row (aux[row]), or of the
// whole batch (aux[0]) when flag is set. BatchTopK also records the smallest kept value, whose bits
// order like the floats as all are positive.
@compute @workgroup_size(64)
fn threshold(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.count) {
    return;
  }
  let v = src[i];
  let t = select(aux[i / p.cols], aux[0], p.flag != 0u);
  let keep = v > 0.0 && v >= t;
  dst[i] = select(0.0, v, keep);
  if (keep && p.flag != 0u) {
    atomicMin(&min_positive[0], bitcast<u32>(v));
  }
}

// JumpReLU with col = log θ.
@compute @workgroup_size(64)
fn jumprelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    let v = src[i];
    dst[i] = select(0.0, v, v > exp(col[i % p.cols]));
  }
}

// Gated: src = π_gate, aux = π_mag.
@compute @workgroup_size(64)
fn gated(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    dst[i] = select(0.0, max(aux[i], 0.0), src[i] > 0.0);
  }
}

// AuxK: pre-activations of dead latents (col = dead mask) at or above their row's threshold (aux).
@compute @workgroup_size(64)
fn auxk_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    let v = src[i];
    dst[i] = select(0.0, v, col[i % p.cols] != 0.0 && v >= aux[i / p.cols]);
  }
}

// Ghost grads: exp(pre) of dead latents (col = dead mask), zero elsewhere.
@compute @workgroup_size(64)
fn ghost_acts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    dst[i] = select(0.0, exp(src[i]), col[i % p.cols] != 0.0);
  }
}

// Gated magnitude weights W_mag[d, j] = W_enc[d, j] · exp(r_mag[j]).
@compute @workgroup_size(64)
fn gated_mag_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    dst[i] = src[i] * exp(col[i % p.cols]);
  }
}

// dst [count / cols, cols] = srcᵀ: the decoder transposed once per step, so products with W_decᵀ
// read it row by row.
@compute @workgroup_size(64)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i < p.count) {
    let rows = p.count / p.cols;
    dst[i] = src[(i % p.cols) * rows + i / p.cols];
  }
}
