"""The dashboard's screens: runs, run detail, compare, launch, help, prompts."""
