"""Framework-free video restoration engine (PyTorch, PyAV, NumPy, einops, open_clip).

Never imports Django: the CLI (`python -m restoration`) and the portal's job workers are two thin
callers of the same functions (see tests/restoration/engine/test_no_django.py).
"""
