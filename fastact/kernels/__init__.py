"""Kernel generation per target. Only :mod:`fastact.kernels.cpu` exists so far."""
