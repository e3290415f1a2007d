// Compact selection for the TopK family: the kept entries of a dense pre-activation [rows, cols]
// as a row-compressed list (CSR: row_ptr, kept_index ascending per row, kept_value, row_of) and
// its column-compressed transpose (CSC: col_ptr, col_row ascending per column, col_entry = the
// entry's CSR position). Entry (r, j) is kept exactly when the dense path keeps it:
// relu 1 is train_activation.wgsl's `threshold` (pre > 0 and pre >= the row's threshold, or
// thresholds[0] when batch is set, every tie kept); relu 0 with use_mask is its `auxk_select`
// (mask[j] != 0 and pre >= threshold; pre == 0 dropped, as train_backward.wgsl's topk ignores it).
// Only integers are counted and every list is filled in index order, so the lists are the same
// every run. Entries at positions >= capacity are not written (the caller checks row_ptr[rows]).
// Per-row entries: one workgroup per row; per-column entries: one invocation per column.

struct Params {
  rows: u32,
  cols: u32,
  capacity: u32,
  batch: u32, // 1: one threshold for the whole batch (thresholds[0])
  use_mask: u32,
  relu: u32,
  n: u32, // scan: number of counts
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> thresholds: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_ptr: array<u32>;
@group(0) @binding(5) var<storage, read_write> kept_index: array<u32>;
@group(0) @binding(6) var<storage, read_write> kept_value: array<f32>;
@group(0) @binding(7) var<storage, read_write> row_of: array<u32>;
@group(0) @binding(8) var<storage, read_write> col_ptr: array<u32>;
@group(0) @binding(9) var<storage, read_write> col_row: array<u32>;
@group(0) @binding(10) var<storage, read_write> col_entry: array<u32>;
@group(0) @binding(11) var<storage, read_write> counts: array<u32>;

var<workgroup> partial: array<u32, 256>;

fn kept(r: u32, j: u32) -> bool {
  let v = pre[r * p.cols + j];
  let t = select(thresholds[r], thresholds[0], p.batch != 0u);
  let sign_ok = select(v != 0.0, v > 0.0, p.relu != 0u);
  return sign_ok && v >= t && (p.use_mask == 0u || mask[j] != 0.0);
}

// Columns [start, end) of a row for invocation lid: contiguous chunks keep the index order.
fn chunk(lid: u32) -> vec2<u32> {
  let size = (p.cols + 255u) / 256u;
  let start = min(lid * size, p.cols);
  return vec2<u32>(start, min(start + size, p.cols));
}

// Exclusive prefix sums of partial[0..256), by one invocation: 256 additions per workgroup.
fn scan_partial(lid: u32) -> u32 {
  if (lid == 0u) {
    var run = 0u;
    for (var i = 0u; i < 256u; i++) {
      let c = partial[i];
      partial[i] = run;
      run += c;
    }
  }
  workgroupBarrier();
  return partial[lid];
}

// row_ptr[r] = kept entries of row r (row_ptr then goes through `scan`).
@compute @workgroup_size(256)
fn count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * 65535u;
  if (r >= p.rows) {
    return;
  }
  let range = chunk(lid);
  var n = 0u;
  for (var j = range.x; j < range.y; j++) {
    n += select(0u, 1u, kept(r, j));
  }
  partial[lid] = n;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0u;
    for (var i = 0u; i < 256u; i++) {
      total += partial[i];
    }
    row_ptr[r] = total;
  }
}

// counts[0..n) becomes its exclusive prefix sums and counts[n] the total (one workgroup).
@compute @workgroup_size(256)
fn scan(@builtin(local_invocation_index) lid: u32) {
  let size = (p.n + 255u) / 256u;
  let start = min(lid * size, p.n);
  let end = min(start + size, p.n);
  var s = 0u;
  for (var i = start; i < end; i++) {
    s += counts[i];
  }
  partial[lid] = s;
  workgroupBarrier();
  var run = scan_partial(lid);
  if (lid == 255u) {
    counts[p.n] = run + s;
  }
  for (var i = start; i < end; i++) {
    let c = counts[i];
    counts[i] = run;
    run += c;
  }
}

// Writes row r's kept entries from row_ptr[r] on, in index order.
@compute @workgroup_size(256)
fn write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * 65535u;
  if (r >= p.rows) {
    return;
  }
  let range = chunk(lid);
  var n = 0u;
  for (var j = range.x; j < range.y; j++) {
    n += select(0u, 1u, kept(r, j));
  }
  partial[lid] = n;
  workgroupBarrier();
  var pos = row_ptr[r] + scan_partial(lid);
  for (var j = range.x; j < range.y; j++) {
    if (kept(r, j)) {
      if (pos < p.capacity) {
        kept_index[pos] = j;
        kept_value[pos] = pre[r * p.cols + j];
        row_of[pos] = r;
      }
      pos++;
    }
  }
}

// col_ptr[j] = rows keeping latent j (col_ptr then goes through `scan`).
@compute @workgroup_size(64)
fn col_count(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * 65535u * 64u;
  if (j >= p.cols) {
    return;
  }
  var n = 0u;
  for (var r = 0u; r < p.rows; r++) {
    n += select(0u, 1u, kept(r, j));
  }
  col_ptr[j] = n;
}

// Column j's entries in row order; col_entry is found by binary search in the row's ascending
// indices, or is capacity when that entry was not written.
@compute @workgroup_size(64)
fn col_write(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * 65535u * 64u;
  if (j >= p.cols) {
    return;
  }
  var pos = col_ptr[j];
  for (var r = 0u; r < p.rows; r++) {
    if (kept(r, j)) {
      if (pos < p.capacity) {
        let end = min(row_ptr[r + 1u], p.capacity);
        var lo = row_ptr[r];
        var hi = end;
        while (lo < hi) {
          let mid = (lo + hi) / 2u;
          if (kept_index[mid] < j) {
            lo = mid + 1u;
          } else {
            hi = mid;
          }
        }
        var entry = p.capacity;
        if (lo < end) {
          entry = select(p.capacity, lo, kept_index[lo] == j);
        }
        col_row[pos] = r;
        col_entry[pos] = entry;
      }
      pos++;
    }
  }
}
