"""Readable run names such as `brave-otter-12`: easy to say, unique through the run id."""

from __future__ import annotations

import hashlib

_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "dapper", "eager",
    "fancy", "fierce", "gentle", "glad", "golden", "happy", "jolly", "keen", "kind", "lively",
    "lucky", "mellow", "merry", "misty", "noble", "polite", "proud", "quick", "quiet", "rapid",
    "rosy", "shiny", "silent", "snowy", "solar", "steady", "sunny", "swift", "tidy", "witty",
)  # fmt: skip
_NOUNS = (
    "badger", "bear", "beaver", "bison", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret",
    "finch", "fox", "gecko", "heron", "ibis", "jaguar", "koala", "lemur", "lynx", "marten",
    "moose", "newt", "ocelot", "orca", "otter", "owl", "panda", "puffin", "quokka", "raven",
    "robin", "salmon", "seal", "shrew", "stoat", "swan", "tapir", "tiger", "walrus", "wombat",
)  # fmt: skip


def readable_name(run_id: int) -> str:
    """A readable, unique name for a run: two words picked from the id, then the id.

    Args:
        run_id: the run's database id.

    Example:
        >>> readable_name(12).endswith("-12")
        True
    """
    digest = hashlib.sha256(str(run_id).encode()).digest()
    return f"{_ADJECTIVES[digest[0] % len(_ADJECTIVES)]}-{_NOUNS[digest[1] % len(_NOUNS)]}-{run_id}"
