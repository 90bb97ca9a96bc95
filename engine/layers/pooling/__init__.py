"""Pooling layers: windowed max/average pooling and global pooling over 1D and 2D inputs."""
