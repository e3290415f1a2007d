"""A plain PyTorch CPU forward of each model family from a Hugging Face folder (config.json + safetensors), written
from transformers' modeling code (eager attention, float32): GPT-2, Llama / Mistral / Qwen 2 / Qwen 3 / Gemma 1-3
(RMSNorm, rotary, grouped-query attention, gated MLP, Gemma's scaled embedding, 1 + w norms, post norms, soft caps,
sliding windows) and GPT-NeoX (parallel residual, partial rotary). The baseline of bench/forward.ts."""
import json
import math
import os

import torch
import torch.nn.functional as F

from _safetensors import read_checkpoint


def _act(name):
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    if name in ("silu", "swish"):
        return F.silu
    return F.relu


def _inv_freq(base, dim, scaling):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) * ~(wavelen > old / low)
        inv = torch.where(medium, smoothed, scaled)
    elif scaling and scaling.get("rope_type", scaling.get("type")) == "linear":
        inv = inv / scaling["factor"]
    return inv


def _rotate(x, cos, sin, dim):
    rot, rest = x[..., :dim], x[..., dim:]
    half = torch.cat((-rot[..., dim // 2:], rot[..., : dim // 2]), dim=-1)
    return torch.cat((rot * cos + half * sin, rest), dim=-1)


class Model:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        self.type = c.get("model_type", "gpt2")
        self.w = read_checkpoint(folder)
        self.c = c

    @torch.no_grad()
    def forward(self, tokens):
        return {"gpt2": self._gpt2, "gpt_neox": self._neox}.get(self.type, self._decoder)(tokens)

    def _attention(self, q, k, v, scale, softcap=None, window=None):
        # q [B, H, T, dh], k v [B, Hkv, T, dh]
        group = q.shape[1] // k.shape[1]
        if group > 1:
            k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
        s = (q @ k.transpose(-1, -2)) * scale
        if softcap:
            s = torch.tanh(s / softcap) * softcap
        T = q.shape[2]
        i = torch.arange(T)
        mask = i[None, :] > i[:, None]
        if window:
            mask = mask | (i[None, :] <= i[:, None] - window)
        s = s.masked_fill(mask, float("-inf"))
        return s.softmax(-1) @ v

    def _decoder(self, tokens):
        c, w = self.c, self.w
        d, L = c["hidden_size"], c["num_hidden_layers"]
        H = c["num_attention_heads"]
        Hkv = c.get("num_key_value_heads") or H
        dh = c.get("head_dim") or d // H
        gemma = self.type.startswith("gemma")
        eps = c.get("rms_norm_eps", 1e-6)
        post = self.type in ("gemma2", "gemma3_text")
        qk_norm = self.type in ("qwen3", "gemma3_text")
        act = _act(c.get("hidden_activation") or "gelu_pytorch_tanh") if gemma else _act(c.get("hidden_act", "silu"))
        scale = c.get("query_pre_attn_scalar", dh) ** -0.5 if self.type in ("gemma2", "gemma3_text") else dh ** -0.5
        capped = self.type in ("gemma2", "gemma3_text")
        softcap = c.get("attn_logit_softcapping") if capped else None
        final_cap = c.get("final_logit_softcapping") if capped else None
        window, pattern = c.get("sliding_window"), c.get("sliding_window_pattern", 6)

        def norm(x, name):
            weight = w[name]
            x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
            return x * (1 + weight) if gemma else x * weight

        def local(layer):
            if self.type == "gemma2":
                return layer % 2 == 0
            if self.type == "gemma3_text":
                return (layer + 1) % pattern != 0
            return self.type == "mistral" and window is not None

        B, T = tokens.shape
        pos = torch.arange(T, dtype=torch.float32)
        tables = {}
        for is_local in (False, True):
            base = c.get("rope_local_base_freq", 10000.0) if is_local and self.type == "gemma3_text" else c.get("rope_theta", 10000.0)
            inv = _inv_freq(base, dh, None if is_local else c.get("rope_scaling"))
            ang = pos[:, None] * inv[None, :]
            emb = torch.cat((ang, ang), dim=-1)
            tables[is_local] = (emb.cos()[None, None], emb.sin()[None, None])
        x = F.embedding(tokens, w["model.embed_tokens.weight"])
        if gemma:
            x = x * torch.tensor(d ** 0.5, dtype=x.dtype)
        for l in range(L):
            p = f"model.layers.{l}"
            h = norm(x, f"{p}.input_layernorm.weight")
            lin = lambda t, name: F.linear(t, w[f"{name}.weight"], w.get(f"{name}.bias"))  # noqa: E731
            q = lin(h, f"{p}.self_attn.q_proj").view(B, T, H, dh)
            k = lin(h, f"{p}.self_attn.k_proj").view(B, T, Hkv, dh)
            v = lin(h, f"{p}.self_attn.v_proj").view(B, T, Hkv, dh)
            if qk_norm:
                q, k = norm(q, f"{p}.self_attn.q_norm.weight"), norm(k, f"{p}.self_attn.k_norm.weight")
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            cos, sin = tables[local(l) and self.type == "gemma3_text"]
            q, k = _rotate(q, cos, sin, dh), _rotate(k, cos, sin, dh)
            z = self._attention(q, k, v, scale, softcap, window if local(l) else None)
            a = lin(z.transpose(1, 2).reshape(B, T, H * dh), f"{p}.self_attn.o_proj")
            if post:
                a = norm(a, f"{p}.post_attention_layernorm.weight")
            x = x + a
            h = norm(x, f"{p}.pre_feedforward_layernorm.weight" if post else f"{p}.post_attention_layernorm.weight")
            m = lin(act(lin(h, f"{p}.mlp.gate_proj")) * lin(h, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
            if post:
                m = norm(m, f"{p}.post_feedforward_layernorm.weight")
            x = x + m
        x = norm(x, "model.norm.weight")
        logits = F.linear(x, w.get("lm_head.weight", w["model.embed_tokens.weight"]))
        if final_cap:
            logits = torch.tanh(logits / final_cap) * final_cap
        return logits

    def _neox(self, tokens):
        c, w = self.c, self.w
        d, L, H = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
        dh = d // H
        rd = int(dh * c.get("rotary_pct", 1.0))
        eps = c.get("layer_norm_eps", 1e-5)
        B, T = tokens.shape
        inv = _inv_freq(c.get("rotary_emb_base", 10000), rd, None)
        ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        ln = lambda t, name: F.layer_norm(t, (d,), w[f"{name}.weight"], w[f"{name}.bias"], eps)  # noqa: E731
        lin = lambda t, name: F.linear(t, w[f"{name}.weight"], w[f"{name}.bias"])  # noqa: E731
        x = F.embedding(tokens, w["gpt_neox.embed_in.weight"])
        for l in range(L):
            p = f"gpt_neox.layers.{l}"
            qkv = lin(ln(x, f"{p}.input_layernorm"), f"{p}.attention.query_key_value").view(B, T, H, 3 * dh)
            q, k, v = (t.transpose(1, 2) for t in qkv.split(dh, dim=-1))
            q, k = _rotate(q, cos, sin, rd), _rotate(k, cos, sin, rd)
            a = lin(self._attention(q, k, v, dh ** -0.5).transpose(1, 2).reshape(B, T, d), f"{p}.attention.dense")
            m = lin(F.gelu(lin(ln(x, f"{p}.post_attention_layernorm"), f"{p}.mlp.dense_h_to_4h")), f"{p}.mlp.dense_4h_to_h")
            x = m + a + x
        return F.linear(ln(x, "gpt_neox.final_layer_norm"), w["embed_out.weight"])

    def _gpt2(self, tokens):
        c, w = self.c, {k.removeprefix("transformer."): v for k, v in self.w.items()}
        d, H, L = c["n_embd"], c["n_head"], c["n_layer"]
        eps = c.get("layer_norm_epsilon", 1e-5)
        B, T = tokens.shape
        ln = lambda t, name: F.layer_norm(t, (d,), w[f"{name}.weight"], w[f"{name}.bias"], eps)  # noqa: E731
        conv = lambda t, name: torch.addmm(w[f"{name}.bias"], t.reshape(-1, t.shape[-1]), w[f"{name}.weight"]).view(B, T, -1)  # noqa: E731
        x = w["wte.weight"][tokens] + w["wpe.weight"][:T]
        for l in range(L):
            h = f"h.{l}"
            q, k, v = conv(ln(x, f"{h}.ln_1"), f"{h}.attn.c_attn").split(d, dim=2)
            q, k, v = (t.view(B, T, H, d // H).transpose(1, 2) for t in (q, k, v))
            x = x + conv(self._attention(q, k, v, (d // H) ** -0.5).transpose(1, 2).reshape(B, T, d), f"{h}.attn.c_proj")
            x = x + conv(F.gelu(conv(ln(x, f"{h}.ln_2"), f"{h}.mlp.c_fc"), approximate="tanh"), f"{h}.mlp.c_proj")
        return F.linear(ln(x, "ln_f"), w["wte.weight"])
