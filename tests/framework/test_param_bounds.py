"""Parameter conversion: declared bounds, and a sane default bound for integers."""

from __future__ import annotations

import pytest

from framework import BadRequest, Param
from framework.params import convert


def test_an_integer_without_bounds_stays_within_64_bits() -> None:
    param = Param("n", int)
    assert convert(param, str(2**63 - 1)) == 2**63 - 1
    for value in (str(2**63), str(-(2**63) - 1), "1" * 400):
        with pytest.raises(BadRequest, match=r"'n'.*out of range"):
            convert(param, value)


def test_declared_bounds_are_inclusive_and_named_in_the_hint() -> None:
    param = Param("limit", int, min=1, max=50)
    assert convert(param, "1") == 1 and convert(param, "50") == 50
    with pytest.raises(BadRequest) as caught:
        convert(param, "51")
    assert caught.value.hint == "give 1 to 50"


def test_float_bounds() -> None:
    param = Param("lat", float, min=-90, max=90)
    assert convert(param, "-90") == -90.0
    with pytest.raises(BadRequest, match="out of range"):
        convert(param, "90.5")
