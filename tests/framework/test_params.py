"""Query parameters as w.c.s. sends them: empty means absent, lists as repeated keys."""

from __future__ import annotations

import pytest

from framework import BadRequest, Param
from framework.declarations import EndpointSpec
from framework.params import convert_params

SPEC = EndpointSpec(name="x", func=lambda *a: None, params=(
    Param("q", str, "text"), Param("limit", int, "n", default=10), Param("lat", float, "lat"),
    Param("id", list, "ids"), Param("must", int, "needed", required=True),
))


def test_an_empty_string_is_the_default_or_missing() -> None:
    got = convert_params(SPEC, {"q": "", "limit": "", "lat": "", "id": "", "must": "1"})
    assert got == {"q": None, "limit": 10, "lat": None, "id": None, "must": 1}
    with pytest.raises(BadRequest, match="missing parameter 'must'") as caught:
        convert_params(SPEC, {"must": ""})
    assert caught.value.http_status == 400  # the caller's mistake, before any connector code


def test_repeated_values_of_a_list_parameter_are_all_kept() -> None:
    assert convert_params(SPEC, {"id": ["57463", "", "57480"], "must": "1"})["id"] == ["57463", "57480"]
    assert convert_params(SPEC, {"id": "57463,57480", "must": "1"})["id"] == ["57463", "57480"]
    assert convert_params(SPEC, {"id": ["", ""], "must": "1"})["id"] is None


def test_a_value_that_does_not_convert_is_a_400_naming_it() -> None:
    with pytest.raises(BadRequest, match="parameter 'limit': expected an integer") as caught:
        convert_params(SPEC, {"limit": "beaucoup", "must": "1"})
    assert caught.value.http_status == 400
