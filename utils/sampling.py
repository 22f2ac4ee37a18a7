"""Temperature: the one softmax that both text (notebook 07) and music (notebook 09) sample from.

softmax(z / T) with T < 1 sharpens the distribution (safer, more repetitive), T > 1 flattens it (bolder). A model that
outputs probabilities p instead of scores z is the same thing with z = log p.
"""

from __future__ import annotations

import numpy as np

from utils.validate import finite_array, number


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / temperature) along the last axis, computed stably (the largest score is subtracted first).

    A logit of -inf bans its token; at least one token per row must stay allowed.
    """
    temperature = number(temperature, "temperature", positive=True,
                         fix="use a small value like 0.05 for almost-greedy, or greedy decoding for T = 0")
    z = finite_array(logits, "logits", ndim=(1, 2, 3), minus_infinity_ok=True) / temperature
    if np.isneginf(z).all(axis=-1).any():
        raise ValueError("every logit of a row is -inf: leave at least one token allowed")
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def apply_temperature(probabilities, temperature: float) -> np.ndarray:
    """Reweight probabilities p to p^(1/temperature), renormalised: ``softmax(log p, temperature)``.

    Probabilities of 0 are clipped to 1e-12 first, so they stay (almost) impossible instead of giving log 0.
    """
    p = finite_array(probabilities, "probabilities", ndim=(1, 2, 3))
    return softmax(np.log(np.clip(p, 1e-12, None)), temperature)
