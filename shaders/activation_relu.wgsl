// Activation of the standard SAE: f = ReLU(pre).
fn activation(i: u32, col: u32, pre: f32) -> f32 {
  return max(pre, 0.0);
}
