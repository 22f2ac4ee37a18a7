"""What a decoder may do to a model's next-token distribution before it picks: temperature and a repetition ban.

Temperature (notebook 09 samples tunes with it): softmax(z / T) with T < 1 sharpens the distribution (safer, more
repetitive), T > 1 flattens it (bolder). A model that outputs probabilities p instead of scores z is the same thing
with z = log p.

The repetition ban (``ban_repeats``, the reference of notebook 07's Exercise 1): a chat model's greedy replies often
loop ("the the the ..."); banning every word that would repeat a word n-gram already in the reply stops the loop.
"""

from __future__ import annotations

import numpy as np

from utils.validate import finite_array, number, whole


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


def ban_repeats(probabilities, written, n: int = 2) -> np.ndarray:
    """The next-token probabilities with every token banned that would repeat an ``n``-gram already in ``written``.

    ``written``: the token ids of the reply so far. The next token completes the n-gram that starts with the last
    ``n - 1`` tokens written; each token that followed those same ``n - 1`` tokens earlier in the reply is set to 0
    (with ``n = 1``: every token already written). The rest is renormalised to sum to 1; the input is not changed.
    """
    p = finite_array(probabilities, "probabilities", ndim=1)
    n = whole(n, "n", fix="the length of the word n-grams never to repeat, e.g. 2")
    ids = [int(token) for token in written]
    prefix = ids[len(ids) - n + 1:] if n > 1 else []
    banned = {ids[i + n - 1] for i in range(len(ids) - n + 1) if ids[i:i + n - 1] == prefix}
    p = p.copy()
    p[sorted(banned)] = 0.0
    if p.sum() <= 0:
        raise ValueError("the ban leaves no token with a probability above 0: give the model's full distribution")
    return p / p.sum()
