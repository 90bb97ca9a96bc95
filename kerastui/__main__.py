"""The `kerastui` command.

Today it runs the quickstart demo; the full Typer CLI (`kerastui run`,
`launch`, `runs`, ...) and the dashboard arrive with issues #7 and #8.
"""

from __future__ import annotations

import argparse
import sys

from kerastui import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerastui", description="A deep-learning workbench for the terminal."
    )
    parser.add_argument("--version", action="version", version=f"kerastui {__version__}")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train a small MLP on the built-in two-spirals data")
    demo.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--verbose", type=int, default=2, choices=(0, 1, 2), help="0 quiet, 1 bars, 2 lines"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kerastui` console script."""
    args = _parser().parse_args(argv)
    if args.command != "demo":
        _parser().print_help()
        return 0
    if args.epochs < 1:
        print(f"kerastui demo: --epochs must be at least 1, got {args.epochs}.", file=sys.stderr)
        return 2
    from rich.console import Console

    from experiments.quickstart import run_quickstart

    result = run_quickstart(epochs=args.epochs, seed=args.seed, verbose=args.verbose)
    Console().print(
        f"[bold]two-spirals test set:[/bold] loss {result.test_loss:.4f}, "
        f"accuracy {result.test_accuracy:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
