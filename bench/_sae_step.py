"""One SAELens-style SAE training step in PyTorch (forward, loss, backward, gradient clipping at 1.0, Adam) of every
architecture sae trains, dense as SAELens runs them: standard (L1 weighted by decoder norm), TopK, BatchTopK,
Matryoshka BatchTopK (the reconstruction loss of each prefix level), JumpReLU (L0 through the straight-through
step) and Gated (the gate's L1 and auxiliary reconstruction). bench/train_torch.py times it alone,
bench/train_run_torch.py inside a training loop and bench/device_torch.py on CUDA. AuxK is left out: no latent is
dead in a benchmark's few steps, so sae's AuxK term is empty too."""
import torch

BANDWIDTH = 0.001  # SAELens's default jumprelu_bandwidth
ARCHITECTURES = ("standard", "topk", "batchtopk", "matryoshka_batchtopk", "jumprelu", "gated")


def make_sae(d_in, d_sae, arch="standard", device="cpu"):
    """Parameters (W_enc, b_enc, W_dec, b_dec, then the architecture's own) and their Adam optimizer."""
    W_dec = torch.randn(d_sae, d_in, device=device)
    W_dec = (W_dec / W_dec.norm(dim=1, keepdim=True) * 0.1).requires_grad_()
    W_enc = W_dec.detach().T.clone().requires_grad_()
    b_enc = torch.zeros(d_sae, device=device, requires_grad=True)
    b_dec = torch.zeros(d_in, device=device, requires_grad=True)
    params = [W_enc, b_enc, W_dec, b_dec]
    if arch == "jumprelu":
        params.append(torch.full((d_sae,), 0.001, device=device).log().requires_grad_())  # log_threshold
    if arch == "gated":
        params.append(torch.zeros(d_sae, device=device, requires_grad=True))  # r_mag
        params.append(torch.zeros(d_sae, device=device, requires_grad=True))  # b_mag
    return params, torch.optim.Adam(params, lr=1e-4)


class _Step(torch.autograd.Function):
    """H(x - threshold), with the rectangle-kernel pseudo-derivative for the threshold (SAELens's Step)."""

    @staticmethod
    def forward(ctx, x, threshold):
        ctx.save_for_backward(x, threshold)
        return (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, threshold = ctx.saved_tensors
        near = ((x - threshold).abs() < BANDWIDTH / 2).to(x.dtype)
        return None, (-1.0 / BANDWIDTH * near * grad).sum(0)


class _JumpReLU(torch.autograd.Function):
    """x H(x - threshold), gradients to x where it passes and to the threshold near it (SAELens's JumpReLU)."""

    @staticmethod
    def forward(ctx, x, threshold):
        ctx.save_for_backward(x, threshold)
        return x * (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, threshold = ctx.saved_tensors
        passed = (x > threshold).to(x.dtype)
        near = ((x - threshold).abs() < BANDWIDTH / 2).to(x.dtype)
        return passed * grad, (-threshold / BANDWIDTH * near * grad).sum(0)


def _batch_topk(pre, k):
    """The k * rows largest ReLU'd pre-activations of the whole batch kept, the rest zero."""
    acts = pre.relu()
    flat = acts.flatten()
    values, indices = torch.topk(flat, k * pre.shape[0], sorted=False)
    return torch.zeros_like(flat).scatter_(-1, indices, values).reshape(pre.shape)


def _mse(recon, x):
    return ((recon - x) ** 2).sum(-1).mean()


def sae_step(params, opt, arch, x, k):
    """One step on activations x [tokens, d_in]."""
    W_enc, b_enc, W_dec, b_dec = params[:4]
    x_cent = x - b_dec
    pre = x_cent @ W_enc + b_enc
    if arch == "standard":
        f = torch.relu(pre)
        loss = _mse(f @ W_dec + b_dec, x) + 5 * (f * W_dec.norm(dim=1)).sum(-1).mean()
    elif arch == "topk":
        values, indices = torch.topk(pre, k, dim=-1, sorted=False)
        f = torch.zeros_like(pre).scatter_(-1, indices, values.relu())
        loss = _mse(f @ W_dec + b_dec, x)
    elif arch == "batchtopk":
        loss = _mse(_batch_topk(pre, k) @ W_dec + b_dec, x)
    elif arch == "matryoshka_batchtopk":
        f = _batch_topk(pre, k)
        d_sae = f.shape[1]
        loss = 0
        for width in (d_sae // 4, d_sae // 2, d_sae):
            loss = loss + _mse(f[:, :width] @ W_dec[:width] + b_dec, x)
    elif arch == "jumprelu":
        threshold = params[4].exp()
        f = _JumpReLU.apply(pre, threshold)
        l0 = _Step.apply(pre, threshold).sum(-1).mean()
        loss = _mse(f @ W_dec + b_dec, x) + 5 * l0
    elif arch == "gated":
        r_mag, b_mag = params[4], params[5]
        gate = pre.relu()
        magnitude = (x_cent @ (W_enc * r_mag.exp()) + b_mag).relu()
        f = (pre > 0).to(x.dtype) * magnitude
        via_gate = gate @ W_dec.detach() + b_dec.detach()
        loss = _mse(f @ W_dec + b_dec, x) + 5 * (gate * W_dec.norm(dim=1)).sum(-1).mean() + _mse(via_gate, x)
    else:
        raise ValueError(f"unknown architecture {arch}")
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
