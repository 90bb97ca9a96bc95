"""Store helpers shared by the experiments and dashboard tests."""

from __future__ import annotations

from experiments.store import Store


def set_status(store: Store, run_id: int, status: str) -> None:
    """Move a queued run to `status` the way a worker would (claim, then finish).

    Args:
        store: the store.
        run_id: a queued run.
        status: "queued" (nothing happens), "running", "completed" or "failed".
    """
    if status == "queued":
        return
    store.claim_run(run_id, "w")
    if status == "completed":
        store.mark_completed(run_id)
    elif status == "failed":
        store.mark_failed(run_id, "boom")
