"""A nanoGPT-style GPT-2 forward in PyTorch from a Hugging Face folder (config.json, model.safetensors), for the
baselines of bench/cpu.ts. The residual writes are centred as TransformerLens's `center_writing_weights` does (what
sae and SAELens load by default), so the residual stream, and so an SAE's input, matches theirs; the other processing
steps change neither the residual stream nor the log-probabilities."""
import json
import math
import os

import torch
import torch.nn.functional as F

from _safetensors import read_safetensors


class Gpt2:
    def __init__(self, folder, device="cpu"):
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        self.n_layer, self.n_head, self.d = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        raw = read_safetensors(os.path.join(folder, "model.safetensors"))
        w = {k.removeprefix("transformer."): v.to(device) for k, v in raw.items()}
        self.W_U = w["wte.weight"].T.contiguous()  # tied; unembedding before centring (center_unembed is a no-op)
        center = lambda t: t - t.mean(-1, keepdim=True)  # noqa: E731
        self.wte, self.wpe = center(w["wte.weight"]), center(w["wpe.weight"])
        self.blocks = []
        for l in range(self.n_layer):
            g = lambda name: w[f"h.{l}.{name}"]  # noqa: E731
            self.blocks.append({
                "ln1": (g("ln_1.weight"), g("ln_1.bias")),
                "qkv": (g("attn.c_attn.weight"), g("attn.c_attn.bias")),
                "o": (center(g("attn.c_proj.weight")), center(g("attn.c_proj.bias"))),
                "ln2": (g("ln_2.weight"), g("ln_2.bias")),
                "fc": (g("mlp.c_fc.weight"), g("mlp.c_fc.bias")),
                "out": (center(g("mlp.c_proj.weight")), center(g("mlp.c_proj.bias"))),
            })
        self.ln_f = (w["ln_f.weight"], w["ln_f.bias"])
        self.n_ctx = self.wpe.shape[0]
        self.mask = torch.triu(torch.ones(self.n_ctx, self.n_ctx, dtype=torch.bool, device=device), 1)

    def _ln(self, x, wb):
        return F.layer_norm(x, (self.d,), wb[0], wb[1], self.eps)

    def _block(self, x, b):
        B, T, d = x.shape
        h = self.n_head
        q, k, v = torch.addmm(b["qkv"][1], self._ln(x, b["ln1"]).view(B * T, d), b["qkv"][0]).split(d, dim=1)
        q, k, v = (t.view(B, T, h, d // h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
        att = att.masked_fill(self.mask[:T, :T], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B * T, d)
        x = x + torch.addmm(b["o"][1], y, b["o"][0]).view(B, T, d)
        m = F.gelu(torch.addmm(b["fc"][1], self._ln(x, b["ln2"]).view(B * T, d), b["fc"][0]), approximate="tanh")
        return x + torch.addmm(b["out"][1], m, b["out"][0]).view(B, T, d)

    @torch.inference_mode()
    def forward(self, tokens, stop_at_layer=None, hook_layer=None, hook=None):
        """Logits [B, T, vocab] of token rows [B, T]; with stop_at_layer, blocks.<stop_at_layer>.hook_resid_pre
        instead; hook replaces blocks.<hook_layer>.hook_resid_pre by hook(resid)."""
        T = tokens.shape[1]
        x = self.wte[tokens] + self.wpe[:T]
        for l, b in enumerate(self.blocks):
            if l == hook_layer:
                x = hook(x)
            if l == stop_at_layer:
                return x
            x = self._block(x, b)
        return self._ln(x, self.ln_f) @ self.W_U
