// The k-th largest value of each segment (TopK: a row; BatchTopK: the whole batch), by radix select:
// four passes of 8 bits over order-preserving integer keys. One workgroup handles one segment:
// its 256 invocations histogram the candidates sharing the prefix found so far, then invocation 0
// picks the byte where the running count from the top reaches k. Elements whose column is masked
// out (mask 0; AuxK keeps dead latents only) do not take part. Writes -3.4e38 when the segment has
// no more than k candidates (keep them all) and 3.4e38 when k is 0 (keep none).

struct Params {
  n: u32, // elements per segment
  stride: u32, // distance between segment starts
  k: u32,
  use_mask: u32,
  mask_len: u32, // the mask repeats every mask_len elements (the latent count)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> thresholds: array<f32>;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> prefix: u32;
var<workgroup> remaining: u32;
var<workgroup> candidates: atomic<u32>;
var<workgroup> candidate_count: u32;

fn key_of(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn value_of(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

fn included(i: u32) -> bool {
  return p.use_mask == 0u || mask[i % p.mask_len] != 0.0;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let seg = wid.x + wid.y * nwg.x;
  let base = seg * p.stride;
  if (lid == 0u) {
    prefix = 0u;
    remaining = p.k;
    atomicStore(&candidates, 0u);
  }
  workgroupBarrier();
  for (var i = lid; i < p.n; i += 256u) {
    if (included(i)) {
      atomicAdd(&candidates, 1u);
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    candidate_count = atomicLoad(&candidates);
  }
  let total = workgroupUniformLoad(&candidate_count);
  if (p.k == 0u || total <= p.k) {
    if (lid == 0u) {
      thresholds[seg] = select(-3.4e38, 3.4e38, p.k == 0u);
    }
    return;
  }
  for (var pass_ = 0u; pass_ < 4u; pass_++) {
    let shift = 24u - pass_ * 8u;
    atomicStore(&hist[lid], 0u);
    workgroupBarrier();
    let high_mask = select(0xffffffffu << (shift + 8u), 0u, pass_ == 0u);
    let want = prefix;
    for (var i = lid; i < p.n; i += 256u) {
      if (included(i)) {
        let key = key_of(data[base + i]);
        if ((key & high_mask) == want) {
          atomicAdd(&hist[(key >> shift) & 0xffu], 1u);
        }
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var left = remaining;
      var bin = 255u;
      loop {
        let count = atomicLoad(&hist[bin]);
        if (count >= left || bin == 0u) {
          break;
        }
        left -= count;
        bin -= 1u;
      }
      prefix = want | (bin << shift);
      remaining = left;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    thresholds[seg] = value_of(prefix);
  }
}
