"""The help screen: every key binding of every screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Dashboard[/b]
  q  quit              r  refresh            /  filter (enter applies, escape leaves)
  enter  run detail    space  mark run       c  compare marked runs
  x  cancel run        R  resume run         l  launch a run
  s  sort by next column (click a header to sort by it; again to flip)
  G  group by experiment, then by sweep, then not (sorting applies within groups);
     enter on a group's row folds its runs away (▶) or shows them (▼)
     group rows: run count, runs per status (▶ running  … queued  ✓ completed
     ✗ failed  ⊘ cancelled  ! interrupted), ★ the group's best metric values
  m  load the next page of runs (so does moving down onto the last row)
  e  export: marked runs, the highlighted run or all runs of the filter
  ?  this help         t  dark/light theme   ctrl+p  command palette

[b]Run detail[/b]
  escape  back         x  cancel             R  resume
  e  export (model from a checkpoint, run table, history)
  g  tag (key=value)   n  note               d  delete
  E  rerun with edits (the launch form, started from this run)
  r  refresh now (the screen also refreshes by itself every second)

[b]Compare[/b]
  escape  back         m  next metric for the overlaid curves
  e  export the comparison (differing params, metrics), the runs or their histories

[b]Export dialog[/b]
  ctrl+s or enter  export     escape  cancel     tab  next choice
  an existing file is replaced only after y to the question

[b]Launch[/b]
  ctrl+l  launch       ctrl+s  save as experiments/NAME.toml
  escape  back (asks first when edits are neither saved nor launched)   tab  next field
  layers: a  add (the type chosen below)   x  remove
          shift+up/down  move   enter  edit arguments (key=value)
  values read like --set; every field is validated as you type and
  an invalid form saves and launches nothing

[b]Filter expressions[/b]
  status = "completed" and metrics.val_accuracy > 0.9
  params.fit.batch_size = 64 or name contains "otter"
"""


class HelpScreen(ModalScreen[None]):
    """Every key binding; any of escape, q or ? closes it.

    Example:
        >>> app.push_screen(HelpScreen())
    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
