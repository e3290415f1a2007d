// Epilogue: add a per-column bias (pre-activations, decoder output).
@group(0) @binding(4) var<storage, read> bias: array<vec4<f32>>;

fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  return acc + bias[col4];
}
