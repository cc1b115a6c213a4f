"""The settings of ``parley serve``: each declared once (``SERVE_FLAGS``), and the docs true to
the declarations. A setting that is undocumented, or documented with a default it no longer
has, fails here.

``PARLEY_UPDATE_DOCS=1`` rewrites docs/security.md's generated table instead of failing.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import click
import pytest

from parley.cli import main, serve
from parley.config import (
    SERVE_FLAGS,
    Flag,
    ServeSettings,
    Switch,
    hash_cost_from_environment,
    limits_table,
    settings_from_flags,
)

ROOT = Path(__file__).parent.parent
SECURITY = ROOT / "docs" / "security.md"
README = ROOT / "README.md"
DEPLOYMENT = ROOT / "docs" / "deployment.md"

#: The settings that are not flags (``hash_cost``: ``PARLEY_ARGON2_*``; the burst of
#: ``auth_rate`` follows its rate).
NOT_FLAGS = {"hash_cost", "websocket.close_timeout", "http.max_body", "auth_rate.burst"}

_TABLE = re.compile(
    r"(?P<head><!-- This table is made from the flags' declarations.*?-->\n\n)"
    r"(?P<table>.*?)"
    r"(?P<tail>\n<!-- end of the generated table -->)",
    re.DOTALL,
)


def params() -> dict[str, click.Parameter]:
    return {str(param.name): param for param in serve.params}


def parse(flag: Flag, text: str) -> object:
    """What ``--flag text`` sets, through the real click option."""
    param = params()[flag.name]
    return flag.value(param.type.convert(text, param, None))


def mentions(text: str, flag: Flag) -> bool:
    options = [flag.option]
    if isinstance(flag.kind, Switch):
        options.append("--no-" + flag.option[2:])
    return any(re.search(re.escape(option) + r"(?![\w-])", text) for option in options)


# -- the declarations ------------------------------------------------------------------------


def leaves(value: object, prefix: str = "") -> set[str]:
    """The paths of every setting in ``value``, nested settings included."""
    found = set()
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        path = prefix + field.name
        inner = getattr(value, field.name)
        if dataclasses.is_dataclass(inner) and path != "hash_cost" and path != "deflate":
            found |= leaves(inner, path + ".")
        else:
            found.add(path)
    return found


def test_every_setting_has_exactly_one_flag() -> None:
    declared = [flag.into for flag in SERVE_FLAGS]
    assert len(declared) == len(set(declared)), "a setting with two flags"
    assert set(declared) == leaves(ServeSettings()) - NOT_FLAGS
    options = [flag.option for flag in SERVE_FLAGS]
    assert len(options) == len(set(options))
    assert all(
        flag.envvar == "PARLEY_" + flag.option[2:].upper().replace("-", "_") for flag in SERVE_FLAGS
    )


def test_the_cli_defaults_are_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name)
    given = serve.make_context("serve", []).params
    assert settings_from_flags(given) == ServeSettings()
    for flag in SERVE_FLAGS:
        assert params()[flag.name].envvar == flag.envvar


@pytest.mark.parametrize(("rate", "burst"), [("0.5", 20), ("1", 20), ("2.5", 25), ("100", 1000)])
def test_the_sign_in_burst_is_20_or_ten_seconds_worth(
    monkeypatch: pytest.MonkeyPatch, rate: str, burst: int
) -> None:
    monkeypatch.delenv("PARLEY_AUTH_RATE", raising=False)
    given = serve.make_context("serve", ["--auth-rate", rate]).params
    assert settings_from_flags(given).auth_rate.burst == burst
    assert ServeSettings().auth_rate.burst == 20
    assert hash_cost_from_environment() == settings_from_flags(given).hash_cost


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("forever", 0.0), ("FOREVER", 0.0), ("0", 0.0), (" 0 ", 0.0), ("30d", 30 * 86400.0)],
)
def test_audit_retention_takes_a_duration_or_forever(
    monkeypatch: pytest.MonkeyPatch, given: str, seconds: float
) -> None:
    monkeypatch.delenv("PARLEY_AUDIT_RETENTION", raising=False)
    params = serve.make_context("serve", ["--audit-retention", given]).params
    assert settings_from_flags(params).audit_retention == seconds
    assert ServeSettings().audit_retention == 365 * 86400.0
    flag = next(flag for flag in SERVE_FLAGS if flag.option == "--audit-retention")
    assert flag.shown == "365d"


@pytest.mark.parametrize("bad", ["never", "-1d", "0s", "0.01", "forever 1d", "", "1y"])
def test_audit_retention_refuses_what_is_neither(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.delenv("PARLEY_AUDIT_RETENTION", raising=False)
    with pytest.raises(click.BadParameter, match=r"(is not a duration|at least).*, or forever"):
        serve.make_context("serve", ["--audit-retention", bad])


def test_only_the_flags_that_allow_it_take_forever() -> None:
    with pytest.raises(click.BadParameter, match="not a duration"):
        serve.make_context("serve", ["--upload-ttl", "forever"])
    with pytest.raises(click.BadParameter, match=r"at least 0\.1 second"):
        serve.make_context("serve", ["--upload-ttl", "0"])


# -- the docs -----------------------------------------------------------------------------------


def test_security_md_has_every_limit_with_its_default() -> None:
    text = SECURITY.read_text()
    match = _TABLE.search(text)
    assert match, "docs/security.md lost the markers around its generated table of limits"
    if match["table"] != limits_table() and os.environ.get("PARLEY_UPDATE_DOCS") == "1":
        SECURITY.write_text(
            text[: match.start("table")] + limits_table() + text[match.end("table") :]
        )
        return
    assert match["table"] == limits_table(), (
        "docs/security.md's table of limits differs from SERVE_FLAGS in src/parley/config.py "
        "(PARLEY_UPDATE_DOCS=1 ./dev test tests/test_settings_docs.py rewrites it)"
    )


def all_options(command: click.Command) -> set[str]:
    found = set()
    for param in command.params:
        if isinstance(param, click.Option):
            found.update(param.opts + param.secondary_opts)
    for sub in getattr(command, "commands", {}).values():
        found |= all_options(sub)
    return found


def test_security_md_names_only_real_flags() -> None:
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", SECURITY.read_text()))
    assert named - all_options(main) == set()


def test_every_flag_is_documented() -> None:
    """In docs/security.md (every limit and whatever matters to security), README's table of
    the main flags, or docs/deployment.md (running several processes)."""
    docs = SECURITY.read_text() + README.read_text() + DEPLOYMENT.read_text()
    assert [flag.option for flag in SERVE_FLAGS if not mentions(docs, flag)] == []


def readme_flag_table() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("The main flags of `parley serve`")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            flags, default, _meaning = (cell.strip() for cell in line.strip("|").split("|"))
            rows.append((flags, default))
    return rows[1:]  # without the header


def test_readme_flags_exist_with_their_defaults() -> None:
    by_option = {flag.option: flag for flag in SERVE_FLAGS}
    rows = readme_flag_table()
    assert len(rows) >= 10
    for flags_cell, default_cell in rows:
        options = re.findall(r"`(--[a-z-]+)`", flags_cell)
        assert options, flags_cell
        unknown = [option for option in options if option not in by_option]
        assert not unknown, f"README lists {unknown}, which parley serve does not have"
        flags = [by_option[option] for option in options]
        values = re.findall(r"`([^`]*)`", default_cell)
        if values:
            assert len(values) == len(flags), f"README: one default per flag in {flags_cell}"
            for flag, value in zip(flags, values, strict=True):
                assert parse(flag, value) == flag.default, f"README: {flag.option} {value}"
        elif default_cell in ("on", "off"):
            for flag in flags:
                assert isinstance(flag.kind, Switch), flag.option
                assert flag.value(default_cell == "on") == flag.default, flag.option
        else:  # "(own origin)", or nothing: no default to state
            assert all(flag.shown is None for flag in flags), flags_cell


def test_the_readme_check_sees_mistakes() -> None:
    """The comparison the README test relies on tells a wrong default from the right one."""
    by_option: dict[str, Any] = {flag.option: flag for flag in SERVE_FLAGS}
    assert parse(by_option["--max-message-size"], "64KiB") == 64 * 1024
    assert parse(by_option["--max-message-size"], "64KB") == by_option["--max-message-size"].default
    assert parse(by_option["--rate-limit"], "11") != by_option["--rate-limit"].default
    assert parse(by_option["--registration"], "open") == "open"
    assert parse(by_option["--session-ttl"], "30d") == by_option["--session-ttl"].default
