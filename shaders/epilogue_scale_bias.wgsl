// Epilogue: scale each column, then add a per-column bias (the Gated SAE's magnitude pre-activation,
// h · exp(r_mag) + b_mag).
@group(0) @binding(4) var<storage, read> scale: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias: array<vec4<f32>>;

fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  return acc * scale[col4] + bias[col4];
}
