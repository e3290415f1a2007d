// One workgroup keeps the k largest values of one row of h [rows, n] and applies ReLU to them.
// Selection is a radix select on order-preserving keys of the float bits (4 passes of 8 bits,
// a 256-bin histogram each), so its cost is a few reads of the row whatever k is. Ties at the
// threshold go to the lowest indices, and the kept entries come out in ascending index order.
// Entry `dense` writes the row with zeros elsewhere; `sparse` writes k (value, index) pairs.

struct TopKParams {
  n: u32,
  k: u32,
  row_start: u32, // first row of this dispatch, past 65535 workgroups
}

@group(0) @binding(0) var<uniform> p: TopKParams;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> dense_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> top_values: array<f32>;
@group(0) @binding(4) var<storage, read_write> top_indices: array<u32>;

override WG: u32 = 256;

var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> scan: array<u32, WG>;
var<workgroup> prefix: u32;
var<workgroup> need: u32;

// Larger floats get larger keys: flip all bits of negatives, the sign bit of positives.
fn order_key(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  return select(bits | 0x80000000u, ~bits, (bits >> 31u) == 1u);
}

// Exclusive prefix sum of scan[0..WG) by one invocation (WG is small; this is not the hot loop).
fn exclusive_scan(lid: u32) {
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0u;
    for (var i = 0u; i < WG; i++) {
      let v = scan[i];
      scan[i] = total;
      total += v;
    }
  }
  workgroupBarrier();
}

struct Selection {
  threshold: u32, // key of the k-th largest value
  ties: u32,      // how many entries equal to the threshold this invocation keeps
  start: u32,     // this invocation's contiguous range of the row
  end: u32,
  out_pos: u32,   // where its kept entries go among the k
}

fn select_row(base: u32, lid: u32) -> Selection {
  if (lid == 0u) {
    prefix = 0u;
    need = p.k;
  }
  for (var round = 0u; round < 4u; round++) {
    for (var i = lid; i < 256u; i += WG) {
      atomicStore(&histogram[i], 0u);
    }
    workgroupBarrier();
    let shift = 24u - 8u * round;
    let known = prefix;
    for (var i = lid; i < p.n; i += WG) {
      let key = order_key(h[base + i]);
      if (round == 0u || (key >> (shift + 8u)) == known) {
        atomicAdd(&histogram[(key >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var remaining = need;
      var digit = 255u;
      loop {
        let count = atomicLoad(&histogram[digit]);
        if (count >= remaining || digit == 0u) {
          break;
        }
        remaining -= count;
        digit -= 1u;
      }
      prefix = (prefix << 8u) | digit;
      need = remaining;
    }
    workgroupBarrier();
  }
  let threshold = prefix;
  let ties_needed = need;

  // Each invocation owns a contiguous range, so kept entries stay in index order.
  let span = (p.n + WG - 1u) / WG;
  let start = min(lid * span, p.n);
  let end = min(start + span, p.n);
  var greater = 0u;
  var equal = 0u;
  for (var i = start; i < end; i++) {
    let key = order_key(h[base + i]);
    greater += select(0u, 1u, key > threshold);
    equal += select(0u, 1u, key == threshold);
  }
  scan[lid] = equal;
  exclusive_scan(lid);
  let ties = min(equal, ties_needed - min(ties_needed, scan[lid]));
  workgroupBarrier();
  scan[lid] = greater + ties;
  exclusive_scan(lid);
  return Selection(threshold, ties, start, end, scan[lid]);
}

// Whether an entry with this key is kept, taking ties at the threshold while this invocation has some.
fn is_kept(key: u32, threshold: u32, ties_left: ptr<function, u32>) -> bool {
  if (key == threshold && *ties_left > 0u) {
    *ties_left -= 1u;
    return true;
  }
  return key > threshold;
}

@compute @workgroup_size(WG)
fn dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = p.row_start + wid.x;
  let base = row * p.n;
  let s = select_row(base, lid);
  var ties_left = s.ties;
  for (var i = s.start; i < s.end; i++) {
    let v = h[base + i];
    let keep = is_kept(order_key(v), s.threshold, &ties_left);
    dense_out[base + i] = select(0.0, max(v, 0.0), keep);
  }
}

@compute @workgroup_size(WG)
fn sparse(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = p.row_start + wid.x;
  let base = row * p.n;
  let s = select_row(base, lid);
  var ties_left = s.ties;
  var pos = row * p.k + s.out_pos;
  for (var i = s.start; i < s.end; i++) {
    let v = h[base + i];
    let keep = is_kept(order_key(v), s.threshold, &ties_left);
    if (keep) {
      top_values[pos] = max(v, 0.0);
      top_indices[pos] = i;
      pos += 1u;
    }
  }
}
