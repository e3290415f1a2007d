// Activation of the Gated SAE from its magnitude pre-activation: f = 1[gate > 0] · ReLU(pre), the
// gate pre-activation x' W_enc + b_gate coming in `aux` (it reads the input, not `pre`).
@group(0) @binding(3) var<storage, read> aux: array<f32>;

fn activation(i: u32, col: u32, pre: f32) -> f32 {
  return select(0.0, max(pre, 0.0), aux[i] > 0.0);
}
