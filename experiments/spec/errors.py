"""`SpecError`: everything wrong with an experiment spec, one message per mistake."""

from __future__ import annotations

from collections.abc import Iterable


class SpecError(ValueError):
    """An experiment spec that cannot be used, with one message per mistake.

    Each message starts with the dotted path of the offending value (for example
    `model.layers[3].type`) and says what is allowed instead, so a user can fix
    every mistake of a spec in one pass.

    Args:
        messages: the messages, in the order the mistakes appear in the spec.
        source: where the spec came from (a file path or an example name), if known.

    Example:
        >>> err = SpecError(["fit.epochs: must be >= 0, got -1"])
        >>> str(err)
        'invalid experiment spec: fit.epochs: must be >= 0, got -1'
    """

    def __init__(self, messages: Iterable[str], source: str | None = None) -> None:
        self.messages: list[str] = list(dict.fromkeys(messages))
        self.source = source
        where = f" {source}" if source else ""
        if len(self.messages) == 1:
            text = f"invalid experiment spec{where}: {self.messages[0]}"
        else:
            lines = "\n".join(f"  - {m}" for m in self.messages)
            text = f"invalid experiment spec{where} ({len(self.messages)} problems):\n{lines}"
        super().__init__(text)

    def with_source(self, source: str) -> SpecError:
        """The same messages, attributed to `source` (a file path or an example name)."""
        return SpecError(self.messages, source=source)
