"""experiments: experiment specs, the tracking store, the runner and the worker.

- `experiments.spec`: TOML experiment specs, validated (`load_spec`), with
  dotted overrides; example specs ship in `experiments/examples/`.
- `experiments.store`: the tracking database (`open_store`).
- `experiments.submit.submit`: queue a run of a spec;
  `experiments.runner.execute_run`: train it, recording everything in the store.
- `experiments.quickstart`: the quickstart job that `kerastui demo` runs.
"""
