"""The terminal dashboard: a Textual app to watch and steer experiments.

`run_app(url)` opens it (the `kerastui` command with no arguments, and
`kerastui tui`). Screens live in `screens/`, widgets in `widgets/`, styles in
`styles/*.tcss`. Every database read runs in a thread worker that posts a
message; live views poll on a timer and read only what changed.
"""

from kerastui.tui.app import KerastuiApp, run_app

__all__ = ["KerastuiApp", "run_app"]
