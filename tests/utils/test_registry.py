"""The generic registry: registration, lookup messages, order, lazy filling, derived parts."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from omnifuse.errors import ConfigError
from omnifuse.utils.registry import Registry


class Part:
    name = "alpha"
    rank = 2


def test_register_by_attribute_or_argument_and_decorator_forms() -> None:
    reg: Registry[type] = Registry("widget")

    @reg.register
    class Alpha(Part):
        pass

    @reg.register(name="beta")
    class Beta(Part):
        pass

    assert reg.get("alpha") is Alpha and reg.get("beta") is Beta
    assert reg.names() == ["alpha", "beta"] and reg.all() == [Alpha, Beta]
    assert "alpha" in reg and "gamma" not in reg and 3 not in reg
    reg.register(Alpha)  # the same part again: a no-op
    assert reg.names() == ["alpha", "beta"]


def test_duplicate_and_missing_names_are_errors() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register(Part)
    with pytest.raises(ValueError, match="widget name 'alpha' is registered twice"):
        reg.register(type("Other", (Part,), {}))
    with pytest.raises(ValueError, match="a widget needs a name"):
        reg.register(type("Nameless", (), {}))
    with pytest.raises(ValueError, match="a widget needs a name"):
        reg.register(type("Empty", (), {"name": ""}))


def test_unknown_name_lists_valid_ones_and_suggests() -> None:
    reg: Registry[str] = Registry("fusion")
    for name in ("concat", "sum", "lmf"):
        reg.register(name.upper(), name=name)
    with pytest.raises(ConfigError) as info:
        reg.get("conact")
    assert str(info.value) == "unknown fusion 'conact' (valid: concat, lmf, sum); did you mean 'concat'?"
    with pytest.raises(ConfigError) as info:
        reg.get("zzz")
    assert str(info.value) == "unknown fusion 'zzz' (valid: concat, lmf, sum)"


def test_order_key_then_name() -> None:
    reg: Registry[type] = Registry("format", order=lambda part: part.rank)
    for name, rank in (("c", 1), ("a", 2), ("b", 1)):
        reg.register(type(name, (), {"rank": rank}), name=name)
    assert reg.names() == ["b", "c", "a"]
    assert [name for name, _ in reg.items()] == ["b", "c", "a"]


def test_view_is_read_only_and_live() -> None:
    reg: Registry[int] = Registry("number")
    view = reg.view()
    reg.register(1, name="one")
    assert dict(view) == {"one": 1} and len(view) == 1 and "one" in view
    with pytest.raises(KeyError):
        view["two"]
    with pytest.raises(TypeError):
        view["two"] = 2  # type: ignore[index]


def test_isolated_undoes_registrations_and_removals() -> None:
    reg: Registry[int] = Registry("number")
    reg.register(1, name="one")
    with reg.isolated():
        reg.register(2, name="two")
        reg.unregister("one")
        assert reg.names() == ["two"]
    assert reg.names() == ["one"]
    reg.unregister("missing")  # nothing to remove: no error


def test_derived_parts_follow_their_source() -> None:
    source: Registry[int] = Registry("number")
    target: Registry[str] = Registry("label")
    target.register("direct", name="direct")
    made: list[str] = []

    def make(name: str, part: int) -> str:
        made.append(name)
        return f"{name}={part}"

    target.derive(source, make)
    target.derive(source, make)  # twice: once
    source.register(1, name="one")
    assert target.names() == ["direct", "one"] and target.get("one") == "one=1"
    assert target.get("one") is target.get("one") and made == ["one"]  # made once, then reused
    with source.isolated():
        source.register(2, name="two")
        assert target.names() == ["direct", "one", "two"]
    assert target.names() == ["direct", "one"]
    source.register(3, name="direct")
    with pytest.raises(ValueError, match="label name 'direct' is registered twice"):
        target.names()


def test_fills_itself_by_importing_every_module_of_its_packages_but_skipped_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "toyparts"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from toyparts.base import PARTS\n")
    (package / "base.py").write_text(
        textwrap.dedent("""
        from omnifuse.utils.registry import Registry
        PARTS = Registry("toy part", packages="toyparts", skip=("toyparts.heavy",))
    """)
    )
    (package / "heavy.py").write_text("raise RuntimeError('a skipped module was imported')\n")
    for path, name in (
        (package / "one.py", "one"),
        (package / "sub" / "__init__.py", None),
        (package / "sub" / "two.py", "two"),
    ):
        body = f"from toyparts.base import PARTS\n\n@PARTS.register\nclass Part:\n    name = {name!r}\n" if name else ""
        path.write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from toyparts.base import PARTS  # type: ignore[import-not-found]

        assert "toyparts.one" not in sys.modules
        assert PARTS.names() == ["one", "two"]
    finally:
        for module in [m for m in sys.modules if m == "toyparts" or m.startswith("toyparts.")]:
            del sys.modules[module]
