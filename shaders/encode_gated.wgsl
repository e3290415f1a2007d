// Epilogue of the Gated encoder. With h = x' W_enc (shared by both paths, as exp(r_mag) scales
// columns): gate = h + b_gate, magnitude = h · exp(r_mag) + b_mag, f = 1[gate > 0] · ReLU(magnitude).
@group(0) @binding(4) var<storage, read> b_gate: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> r_mag_exp: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> b_mag: array<vec4<f32>>;

fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  let magnitude = max(acc * r_mag_exp[col4] + b_mag[col4], vec4<f32>(0.0));
  return select(vec4<f32>(0.0), magnitude, acc + b_gate[col4] > vec4<f32>(0.0));
}
