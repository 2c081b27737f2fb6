"""Pack files' kept parses: a pack loads the same from them, and a problem is always found afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PACKS

DUPLICATE_KEY = "format: 1\nid: broken\nid: again\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tutor" / "parsed"


def test_a_pack_loads_the_same_from_its_kept_parses(cache: Path) -> None:
    from tutor.pack.loader import load_pack

    fresh = load_pack(PACKS / "kinds")
    kept = sorted(cache.iterdir())
    assert kept, "the parses were not kept"
    again = load_pack(PACKS / "kinds")
    assert sorted(cache.iterdir()) == kept
    assert [lesson.model_dump(mode="json") for lesson in again.lessons] == \
        [lesson.model_dump(mode="json") for lesson in fresh.lessons]
    assert again.hash == fresh.hash and str(again.task_marks) == str(fresh.task_marks)


def test_a_file_with_a_problem_is_never_kept(cache: Path, tmp_path: Path) -> None:
    from tutor.pack import yamlnodes

    file = tmp_path / "broken.yaml"
    for _ in range(2):
        _, _, problems = yamlnodes.load(DUPLICATE_KEY, file)
        assert [(p.where.line if p.where else 0, "twice" in p.message) for p in problems] == [(3, True)]
    assert not cache.exists() or not any(cache.iterdir())
