"""OpenCV reference fixtures for SegCore's tests; see scripts/make-reference.py."""
