"""The verification memo (framework/memo.py): a hit says exactly what a miss says, and a
cache nobody can trust, read or write is just a slower check, never a different one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from framework import memo, verify
from framework.declarations import EndpointSpec
from framework.runtime import schedule
from framework.runtime.schedule import parse_schedule

GOOD = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
BAD = {"type": "object", "properties": {"status": {"type": "strnig"}}}  # not a JSON Schema type


def spec(schema: dict[str, Any], example: Any = None) -> EndpointSpec:
    return EndpointSpec(name="update", func=lambda *a: None, methods=("POST",), description="Update it.",
                        permission="can_access", body_schema=schema, body_example=example)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache" / "raccord"
    monkeypatch.setenv(memo.CACHE_ENV, str(folder))
    memo.forget()
    yield folder
    memo.forget()


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    """Count the calls of a verifier (the memo's misses), still running it."""
    calls: list[object] = []
    real: Callable[..., list[str]] = getattr(module, name)

    def counted(*args: Any) -> list[str]:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


def refusing(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """A verifier that must not run: the answer has to come from the memo."""
    def fail(*args: Any) -> list[str]:
        raise AssertionError(f"{name} ran: the memo was not used")

    monkeypatch.setattr(module, name, fail)


def again() -> None:
    """A new process: the memo is read from its file, not from this one's memory."""
    memo.forget()


CASES = [(GOOD, {"status": "done"}), (GOOD, {"status": 3}), (GOOD, {}), (BAD, {"status": "done"})]


@pytest.mark.parametrize(("schema", "example"), CASES)
def test_a_hit_reports_what_the_miss_reported(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                              schema: dict[str, Any], example: Any) -> None:
    missed = verify.endpoint_problems(spec(schema, example))
    assert list(cache.glob("verify-jsonschema-*.json"))
    again()
    refusing(monkeypatch, verify, "_schema_problems")
    refusing(monkeypatch, verify, "_example_problems")
    assert verify.endpoint_problems(spec(schema, example)) == missed


def test_the_messages_are_jsonschemas(cache: Path) -> None:
    assert verify.endpoint_problems(spec(GOOD, {"status": "done"})) == []
    [bad_schema] = verify.endpoint_problems(spec(BAD))
    assert bad_schema.startswith("endpoint 'update': body_schema is not a valid JSON schema: ")
    assert "strnig" in bad_schema
    assert verify.endpoint_problems(spec(GOOD, {"status": 3})) == [
        "endpoint 'update': body_example does not match body_schema: body.status: 3 is not of type 'string'"]


@pytest.mark.parametrize("cron", ["30 3 * * 1-5", "0 25 * * *", "*/15 * * * mon", "0 0 31 2 *"])
def test_a_cron_hit_reports_what_the_miss_reported(cache: Path, monkeypatch: pytest.MonkeyPatch, cron: str) -> None:
    def outcome() -> str:
        try:
            return repr(parse_schedule(cron))
        except ValueError as exc:
            return f"refused: {exc}"

    missed = outcome()
    again()
    refusing(monkeypatch, schedule, "_crontab_problems")
    assert outcome() == missed


HOUR_25 = r"^schedule '0 25 \* \* \*' is not a valid cron string: .*\(25\) is higher than the maximum value \(23\)$"


def test_an_invalid_cron_string_keeps_apschedulers_message(cache: Path) -> None:
    with pytest.raises(ValueError, match=HOUR_25):
        parse_schedule("0 25 * * *")
    again()
    with pytest.raises(ValueError, match=HOUR_25):
        parse_schedule("0 25 * * *")


def test_a_changed_schema_misses(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch, verify, "_schema_problems")
    verify.endpoint_problems(spec(GOOD))
    again()
    verify.endpoint_problems(spec(GOOD))
    assert len(calls) == 1
    verify.endpoint_problems(spec({**GOOD, "required": ["note"]}))
    # The same keywords in another order: a validator may meet them in that order.
    verify.endpoint_problems(spec(dict(reversed(GOOD.items()))))
    assert len(calls) == 3


def test_what_json_does_not_represent_exactly_is_verified_every_time(cache: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch, verify, "_schema_problems")
    # A tuple is not a JSON array to jsonschema: its text must not stand for a list's.
    tupled = {"type": "object", "required": ("status",)}
    for _ in range(2):
        assert verify.endpoint_problems(spec(tupled)) != []
    assert len(calls) == 2
    assert verify.endpoint_problems(spec({"type": "object", "required": ["status"]})) == []


def test_a_remote_ref_is_not_memoised(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch, verify, "_example_problems")
    local = {"$defs": {"s": {"type": "string"}}, "type": "object", "properties": {"a": {"$ref": "#/$defs/s"}}}
    remote = {"type": "object", "properties": {"a": {"$ref": "https://example.invalid/s.json"}}}
    for _ in range(2):
        verify.endpoint_problems(spec(local, {"a": "x"}))
    assert len(calls) == 1
    assert not verify._refs_local(remote)


def poison(cache: Path) -> Path:
    """Record GOOD, then rewrite every entry of its file as "accepted" under BAD's key too:
    what an attacker able to write the file would do."""
    verify.endpoint_problems(spec(GOOD))
    verify.endpoint_problems(spec(BAD))  # its key, with its refusal
    memo_file = next(cache.glob("verify-jsonschema-*.json"))
    doc = json.loads(memo_file.read_text())
    doc["entries"] = {key: [] for key in doc["entries"]}
    memo_file.write_text(json.dumps(doc))
    again()
    return memo_file


def test_the_users_own_file_is_trusted(cache: Path) -> None:
    poison(cache)
    # Only the user (or root) could have written it: it is believed, as bytecode would be.
    assert verify.endpoint_problems(spec(BAD)) == []


def test_a_file_someone_else_owns_is_ignored(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memo_file = poison(cache)
    if os.geteuid() == 0:
        os.chown(memo_file, 65534, 65534)
    else:  # only root gives files away: be another user instead
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    assert verify.endpoint_problems(spec(BAD)) != []


@pytest.mark.parametrize("target", ["file", "folder"])
def test_a_file_others_may_write_is_ignored(cache: Path, target: str) -> None:
    memo_file = poison(cache)
    (memo_file if target == "file" else cache).chmod(0o620 if target == "file" else 0o770)
    assert verify.endpoint_problems(spec(BAD)) != []


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe", b"[]", b'{"format": 1, "entries": 3}'])
def test_a_corrupt_file_is_verified_around_and_replaced(cache: Path, content: bytes) -> None:
    verify.endpoint_problems(spec(BAD))
    memo_file = next(cache.glob("verify-jsonschema-*.json"))
    memo_file.write_bytes(content)
    again()
    assert verify.endpoint_problems(spec(BAD)) != []
    assert json.loads(memo_file.read_text())["entries"]  # rewritten with what was verified


def test_an_unwritable_cache_only_costs_the_verification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(memo.CACHE_ENV, str(blocker / "raccord"))  # mkdir fails, even for root
    memo.forget()
    calls = counting(monkeypatch, verify, "_schema_problems")
    for _ in range(2):
        assert verify.endpoint_problems(spec(BAD)) != []
        again()
    assert len(calls) == 2
    memo.forget()


def test_an_empty_cache_variable_turns_the_memo_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memo.CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    memo.forget()
    assert verify.endpoint_problems(spec(GOOD)) == []
    assert not any(tmp_path.iterdir())
    memo.forget()


def test_the_file_is_private(cache: Path) -> None:
    verify.endpoint_problems(spec(GOOD))
    memo_file = next(cache.glob("verify-jsonschema-*.json"))
    assert cache.stat().st_mode & 0o777 == 0o700
    assert memo_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in cache.iterdir()] == [memo_file.name]  # no temporary file left


def test_the_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert memo.cache_dir() == tmp_path / "raccord"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert memo.cache_dir() == tmp_path / "home" / ".cache" / "raccord"
