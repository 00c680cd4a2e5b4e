"""The quality gates' guard: pinned floors may not drop below what their issue requires."""

from __future__ import annotations

import os

import pytest

#: Metrics where lower is better (the floor is a ceiling).
LOWER_IS_BETTER = frozenset({"worst_page_gap", "leak_pages"})


def check_floors_not_lowered(floors: dict, required: dict) -> None:
    """Fail unless every floor is at least as strict as required; skipped with PARKCORPUS_LOWER_FLOORS=1."""
    if os.environ.get("PARKCORPUS_LOWER_FLOORS") == "1":
        pytest.skip("floors may be lowered: PARKCORPUS_LOWER_FLOORS=1")
    for name, need in required.items():
        if name in LOWER_IS_BETTER:
            assert floors[name] <= need, name
        else:
            assert floors[name] >= need, name
