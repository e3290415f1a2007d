// Epilogue of a product with none: C = A · B.
fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32> {
  return acc;
}
