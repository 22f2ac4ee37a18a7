"""Diagrams and plots shared by the notebooks, drawn with matplotlib (no pasted images)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch
