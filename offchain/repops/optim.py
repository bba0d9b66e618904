"""RepOps optimizers: AdamW and SGD update steps as fixed float32 primitive sequences.

The per-element recipes (docs/repops.md):

    AdamW (lr, b1, b2, eps, wd, all rounded to float32 once):
      b1p = b1p * b1;  b2p = b2p * b2                      (state, start 1.0: beta^t by repeated mul)
      p   = p - (lr * wd) * p                              (decoupled weight decay)
      m   = b1 * m + (1 - b1) * g
      v   = b2 * v + (1 - b2) * (g * g)
      p   = p - lr * ((m / (1 - b1p)) / (sqrt(v / (1 - b2p)) + eps))
    SGD (lr, momentum mu, wd):
      g = g + wd * p   (when wd != 0);  buf = mu * buf + g  (when mu != 0, first step buf = g);  p = p - lr * buf

    opt = AdamW(model.parameters(), lr=3e-3)
    loss.backward(); opt.step(); opt.zero_grad()
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from offchain.repops import prims as P

F32 = torch.float32


def _c(value: float, like: torch.Tensor) -> torch.Tensor:
    """A 0-d float32 constant on `like`'s device."""
    return torch.tensor(value, dtype=F32, device=like.device)


class AdamW(torch.optim.Optimizer):
    """AdamW whose every element update is the fixed recipe above (state: exp_avg, exp_avg_sq, step, b1p, b2p)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """Apply one update to every parameter with a gradient."""
        assert closure is None, "AdamW: closures are not supported"
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p, dtype=F32)
                    st["exp_avg_sq"] = torch.zeros_like(p, dtype=F32)
                    st["b1p"] = _c(1.0, p)
                    st["b2p"] = _c(1.0, p)
                k = P._prims(p, g, st["exp_avg"], st["exp_avg_sq"])
                if k is not None and p.is_contiguous():
                    # one pass per parameter, the b1p/b2p updates included; the same float32 operations
                    st["step"] += 1
                    hyper = (group["lr"], *group["betas"], group["eps"], group["weight_decay"])
                    st["exp_avg"], st["exp_avg_sq"], st["b1p"], st["b2p"] = k.adamw(
                        p, g, st["exp_avg"], st["exp_avg_sq"], st["b1p"], st["b2p"], *hyper
                    )
                    continue
                b1, b2 = _c(group["betas"][0], p), _c(group["betas"][1], p)
                lr, eps, wd, one = _c(group["lr"], p), _c(group["eps"], p), _c(group["weight_decay"], p), _c(1.0, p)
                st["step"] += 1
                st["b1p"] = torch.mul(st["b1p"], b1)
                st["b2p"] = torch.mul(st["b2p"], b2)
                new = torch.sub(p, torch.mul(torch.mul(lr, wd), p))
                m = torch.add(torch.mul(b1, st["exp_avg"]), torch.mul(torch.sub(one, b1), g))
                v = torch.add(torch.mul(b2, st["exp_avg_sq"]), torch.mul(torch.sub(one, b2), torch.mul(g, g)))
                mhat = torch.div(m, torch.sub(one, st["b1p"]))
                denom = torch.add(P.sqrt(torch.div(v, torch.sub(one, st["b2p"]))), eps)
                new = torch.sub(new, torch.mul(lr, torch.div(mhat, denom)))
                st["exp_avg"], st["exp_avg_sq"] = P.canon(m), P.canon(v)
                p.copy_(P.canon(new))


class SGD(torch.optim.Optimizer):
    """SGD with optional momentum and L2 weight decay, by the fixed recipe above (state: momentum_buffer)."""

    def __init__(
        self, params: Iterable[torch.Tensor], *, lr: float = 1e-2, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """Apply one update to every parameter with a gradient."""
        assert closure is None, "SGD: closures are not supported"
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] != 0:
                    g = P.add(g, P.mul(_c(group["weight_decay"], p), p))
                if group["momentum"] != 0:
                    st = self.state[p]
                    buf = st.get("momentum_buffer")
                    g = g.clone() if buf is None else P.add(P.mul(_c(group["momentum"], p), buf), g)
                    st["momentum_buffer"] = g
                p.copy_(P.sub(p, P.mul(_c(group["lr"], p), g)))
