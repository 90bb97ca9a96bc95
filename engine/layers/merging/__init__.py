"""Merge layers: combine a list of tensors (`Add`, `Concatenate`, `Dot`, ...)."""
