"""The activations a NAM WaveNet may use, in the order the kernel numbers them.

engine/kernels/nam_wavenet.py freezes these codes into compiled code, so this module is part of
numba's cache key (engine/kernels/__init__.py, COMPILED_IN): reordering it means a fresh compile.
"""

# torch.nn names, as NAM writes them (the kernel numbers them in this order)
ACTIVATIONS = ("Tanh", "Hardtanh", "ReLU", "LeakyReLU", "Sigmoid", "SiLU", "Hardswish")
DEFAULT_NEGATIVE_SLOPE = 0.01  # torch's LeakyReLU default, what a plain "LeakyReLU" means
