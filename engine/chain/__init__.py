"""The signal chain a slot plays around its model: settings, impulse-response files, the `Chain` object.

The compiled stages are in engine/kernels/chain.py; the callback runs them in engine/realtime/block.py.
"""
