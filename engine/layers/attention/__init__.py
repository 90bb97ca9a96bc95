"""Attention layers: dot-product, additive and multi-head attention."""
