// Epilogue of the standard SAE encoder: f = ReLU(x' W_enc + b_enc).
@group(0) @binding(4) var<storage, read> b_enc: array<vec4<f32>>;

fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  return max(acc + b_enc[col4], vec4<f32>(0.0));
}
