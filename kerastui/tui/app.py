"""The Textual application: the store, the screens, and the actions shared between them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from experiments.store import Store, open_store
from experiments.worker import ensure_worker
from kerastui.tui.screens.compare import CompareScreen
from kerastui.tui.screens.dashboard import DashboardScreen
from kerastui.tui.screens.detail import DetailScreen
from kerastui.tui.screens.help import HelpScreen
from kerastui.tui.screens.launch import LaunchScreen

DARK, LIGHT = "textual-dark", "textual-light"


class KerastuiApp(App):
    """The dashboard of a tracking database.

    Args:
        url: the database URL (`$KERASTUI_DB` or `data/kerastui.db` when None).
        store: an open store to use instead of opening `url`.
        interval: seconds between refresh ticks of the live views.
        page_size: at most this many runs in the dashboard's table at once.
        start_worker: called with the database URL after a launch or resume, to
            make sure a worker runs (`experiments.worker.ensure_worker`); None to
            start nothing.

    Example:
        >>> KerastuiApp("sqlite:///data/kerastui.db").run()
    """

    TITLE = "kerastui"
    CSS_PATH = ["styles/app.tcss", "styles/narrow.tcss"]
    # Below 100 columns screens get the class -narrow (styles/narrow.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False)]

    def __init__(
        self,
        url: str | None = None,
        *,
        store: Store | None = None,
        interval: float = 1.0,
        page_size: int = 500,
        start_worker: Callable[[str], Any] | None = ensure_worker,
    ) -> None:
        super().__init__()
        self.store = store if store is not None else open_store(url)
        self.url = self.store.url
        self.interval = interval
        self.page_size = page_size
        self.start_worker = start_worker

    def on_mount(self) -> None:
        self.theme = DARK
        self.push_screen(DashboardScreen(interval=self.interval, page_size=self.page_size))

    # Navigation -------------------------------------------------------------------------

    def open_detail(self, run_id: int) -> None:
        """Show a run's detail screen."""
        self.push_screen(DetailScreen(run_id, interval=self.interval))

    def open_compare(self, run_ids: list[int]) -> None:
        """Compare two or more runs."""
        self.push_screen(CompareScreen(run_ids))

    def open_launch(self) -> None:
        """Open the launch form."""
        self.push_screen(LaunchScreen())

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        """Switch between the dark and the light theme."""
        self.theme = LIGHT if self.theme == DARK else DARK

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Launch a run", "Open the launch form", self.open_launch)
        yield SystemCommand("Help", "Show every key binding", self.action_help)
        yield SystemCommand("Toggle theme", "Dark or light", self.action_toggle_theme)
        if isinstance(screen, DashboardScreen):
            yield SystemCommand("Refresh runs", "Read every run again", screen.action_refresh)
            yield SystemCommand("Compare marked runs", "Open compare", screen.action_compare)
            yield SystemCommand("Filter runs", "Focus the filter box", screen.action_focus_filter)
            yield SystemCommand(
                "Group runs", "By experiment, by sweep, or not (G)", screen.action_cycle_group
            )
            yield SystemCommand("Load more runs", "Read the next page (m)", screen.action_more)
            yield SystemCommand(
                "Export runs", "Marked, highlighted or filtered runs (e)", screen.action_export
            )

    # Actions on runs (database writes in thread workers) --------------------------------

    def _database_error(self, err: Exception) -> None:
        self.call_from_thread(self.notify, f"database error: {err}", severity="error")

    @work(thread=True, group="run-actions")
    def cancel_run(self, run_id: int) -> None:
        """Ask a run to stop (a queued run is cancelled at once)."""
        try:
            status = self.store.request_cancel(run_id)
        except Exception as err:  # the store says why (unknown run, finished run...)
            self._database_error(err)
            return
        self.call_from_thread(self.notify, f"run {run_id}: cancel requested ({status})")
        self.call_from_thread(self.refresh_screens)

    @work(thread=True, group="run-actions")
    def resume_run(self, run_id: int) -> None:
        """Queue a stopped run again from its last checkpoint and make sure a worker runs."""
        try:
            run = self.store.requeue_run(run_id)
        except Exception as err:  # not resumable, or the database failed
            self._database_error(err)
            return
        self.call_from_thread(self.notify, f"run {run.id} queued to resume")
        self.call_from_thread(self.refresh_screens)
        self.ensure_worker_running()

    def ensure_worker_running(self) -> None:
        """Start a worker for this database unless one is alive (call from a thread)."""
        if self.start_worker is None:
            return
        try:
            pid = self.start_worker(self.url)
        except Exception as err:  # the worker could not start: say so, keep the run queued
            self.call_from_thread(self.notify, f"worker not started: {err}", severity="error")
            return
        if pid:
            self.call_from_thread(self.notify, f"worker started (pid {pid})")

    def refresh_screens(self) -> None:
        """Reload the dashboard and the screen on top."""
        for screen in self.screen_stack:
            if hasattr(screen, "action_refresh"):
                screen.action_refresh()


def run_app(url: str | None = None) -> int:
    """Open the dashboard on the database at `url` until the user quits; return 0.

    Args:
        url: database URL; `$KERASTUI_DB` or `sqlite:///data/kerastui.db` when None.

    Example:
        >>> run_app("sqlite:///data/kerastui.db")
        0
    """
    KerastuiApp(url).run()
    return 0
