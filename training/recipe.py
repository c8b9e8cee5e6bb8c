"""The default training recipe, in one place: the CLI, the fit loop, the module and the demo read it.

Torch-free, so `ampemu --help` can show the defaults without the training stack. The figures that
chose these values, and the command that measures them, are in docs/training.md.
"""

PRESET = "nam-lite"
# every preset training.model.PRESETS defines (a test keeps the two lists equal)
PRESET_NAMES = ("seed", "gated-8", "gated-16", "nam-standard", "nam-lite", "nam-feather", "nam-nano", "nam-a2")

# Adam with a cosine decay over the budget (steps or wall-clock minutes) to LR_FINAL_RATIO of LR.
# 2e-2 trained pedals but collapsed on an amp after a few hundred steps (issue 14); 4e-3 is NAM's rate.
LR = 4e-3
LR_FINAL_RATIO = 0.02
# 4 windows of 8192 samples per step. NAM's trainer takes 16: on a CPU that is 4x fewer steps in the
# same time, and at equal wall time on the amp capture 4 reached a validation ESR of 0.0053 where 16
# was still at 0.099 (docs/training.md).
WINDOW = 8192
BATCH = 4
# loss = ESR + ESR of the pre-emphasised signals (y[t] - 0.85 y[t-1]): the plain term keeps the lows
# and the level right, the pre-emphasised one the highs that a distorted tone is made of.
PRE_EMPHASIS = 0.85
# A validation ESR this many times the best so far is a blow-up: the best weights come back and the
# learning rate halves, so a run always ends at its best.
ROLLBACK_FACTOR = 2.0
# Validate (and keep the best weights) every this many steps, or every epoch when that is shorter:
# often enough that a time-limited run always has a recent best, rarely enough to cost under 10 %.
VALIDATE_EVERY = 25
# train / validation / test shares of the capture, cut in time in that order
SPLIT = (0.80, 0.10, 0.10)
