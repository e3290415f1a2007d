// Epilogue of the JumpReLU encoder: h = x' W_enc + b_enc; f = ReLU(h) · 1[h > threshold].
@group(0) @binding(4) var<storage, read> b_enc: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> threshold: array<vec4<f32>>;

fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  let h = acc + b_enc[col4];
  return select(vec4<f32>(0.0), max(h, vec4<f32>(0.0)), h > threshold[col4]);
}
