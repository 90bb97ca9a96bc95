"""Regularization layers: dropout, Gaussian noise and activity penalties."""
