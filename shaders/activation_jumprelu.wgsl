// Activation of the JumpReLU SAE: f = ReLU(pre) · 1[pre > threshold].
@group(0) @binding(4) var<storage, read> threshold: array<f32>;

fn activation(i: u32, col: u32, pre: f32) -> f32 {
  return select(0.0, max(pre, 0.0), pre > threshold[col]);
}
