"""Reshaping layers: `Flatten`, `Reshape`, `Permute`, `RepeatVector`, and the spatial ones
`ZeroPadding1D/2D`, `Cropping1D/2D`, `UpSampling1D/2D`."""
