"""kerastui: the command line and terminal dashboard of the workbench."""

__version__ = "0.1.0"
