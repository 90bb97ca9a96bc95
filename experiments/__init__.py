"""experiments: experiment specs, the tracking store, the runner and the worker.

The package grows with the experiment issues (#5, #6); today it holds the
quickstart job that `kerastui demo` runs.
"""
