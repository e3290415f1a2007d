"""One SAELens-style SAE training step in PyTorch (forward, MSE + sparsity loss, backward, gradient clipping at
1.0, Adam) of a standard (L1 weighted by decoder norm) or a dense TopK SAE: the step bench/train_torch.py times
alone and bench/train_run_torch.py times inside a training loop."""
import torch


def make_sae(d_in, d_sae):
    """Parameters [W_enc, b_enc, W_dec, b_dec] and their Adam optimizer."""
    W_dec = torch.randn(d_sae, d_in)
    W_dec = (W_dec / W_dec.norm(dim=1, keepdim=True) * 0.1).requires_grad_()
    W_enc = W_dec.detach().T.clone().requires_grad_()
    b_enc = torch.zeros(d_sae, requires_grad=True)
    b_dec = torch.zeros(d_in, requires_grad=True)
    params = [W_enc, b_enc, W_dec, b_dec]
    return params, torch.optim.Adam(params, lr=1e-4)


def sae_step(params, opt, arch, x, k):
    """One step on activations x [tokens, d_in]; arch is "standard" or "topk"."""
    W_enc, b_enc, W_dec, b_dec = params
    pre = (x - b_dec) @ W_enc + b_enc
    if arch == "standard":
        f = torch.relu(pre)
        loss = ((f @ W_dec + b_dec - x) ** 2).sum(-1).mean() + 5 * (f * W_dec.norm(dim=1)).sum(-1).mean()
    else:
        values, indices = torch.topk(pre, k, dim=-1, sorted=False)
        f = torch.zeros_like(pre).scatter_(-1, indices, values.relu())
        loss = ((f @ W_dec + b_dec - x) ** 2).sum(-1).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
