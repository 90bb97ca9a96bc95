"""Regularization layers: dropout (plain and spatial), Gaussian noise and activity penalties."""
