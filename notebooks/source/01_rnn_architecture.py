# %% [markdown]
# # 01 · RNN architecture and unrolling
#
# Placeholder.

# %%
import utils
from utils import course
from utils.checks import progress, use_reference_if_needed
from utils.checks.rnn import check_toy_rnn_forward
from utils import rnn
course.setup(42)

# %%
def toy_rnn_forward(xs, w1, b1, w2, w3, b2):
    """Exercise."""
    ### BEGIN SOLUTION
    import numpy as np
    hidden, h = [], 0.0
    for x in xs:
        h = max(w1 * x + w2 * h + b1, 0.0)
        hidden.append(h)
    return np.array(hidden), w3 * hidden[-1] + b2
    ### END SOLUTION

# %%
passed = check_toy_rnn_forward(toy_rnn_forward)
toy_rnn_forward = use_reference_if_needed(toy_rnn_forward, passed, rnn.toy_rnn_forward)

# %%
# NBVAL_CHECK_OUTPUT
print(toy_rnn_forward([1, 0.5, 0], **rnn.TOY_WEIGHTS))

# %%
_ = progress()
