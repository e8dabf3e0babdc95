"""Kubernetes quantities read and written as the API server does (reconciler/quantity.py).

The tables are what kube-apiserver 1.36 stored for each value given: as a single quantity
(an emptyDir's `sizeLimit`) and in a resource list (a container's `limits`).
tests/cluster/test_quantities_server.py checks them against the dev cluster.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.quantity import NotAQuantity, canonical_quantity, parse_quantity

# (written, stored as a single quantity, stored in a resource list)
STORED: tuple[tuple[str | int | float, str, str], ...] = (
    ("0.125Gi", "128Mi", "128Mi"),
    ("128Mi", "128Mi", "128Mi"),
    ("1.5Gi", "1536Mi", "1536Mi"),
    ("0.5Mi", "512Ki", "512Ki"),
    ("0.5Ki", "512", "512"),
    ("1.25Ki", "1280", "1280"),
    ("1024Ki", "1Mi", "1Mi"),
    ("2048Ki", "2Mi", "2Mi"),
    ("1000Ki", "1000Ki", "1000Ki"),
    ("1023Ki", "1023Ki", "1023Ki"),
    ("100Ki", "100Ki", "100Ki"),
    ("+1.5Gi", "1536Mi", "1536Mi"),
    ("8Ei", "9223372036854775807", "9223372036854775807"),
    ("1000m", "1", "1"),
    ("1.5", "1500m", "1500m"),
    ("0.1", "100m", "100m"),
    (".5", "500m", "500m"),
    ("100m", "100m", "100m"),
    ("1000", "1k", "1k"),
    ("1000k", "1M", "1M"),
    ("1024", "1024", "1024"),
    ("1G", "1G", "1G"),
    ("1E", "1E", "1E"),
    ("1000000E", "1", "1"),  # beyond E the server writes no suffix at all
    ("1e3", "1e3", "1e3"),
    ("1e2", "100", "100"),
    ("1.5e3", "1500", "1500"),
    ("15e-1", "1500e-3", "1500e-3"),
    ("2e+3", "2e+3", "2e+3"),
    ("1e30", "1e30", "1e30"),
    ("+1", "+1", "+1"),  # already canonical: kept as written
    ("007", "007", "007"),
    ("1.", "1.", "1."),
    (" 2Gi ", "2Gi", "2Gi"),
    ("0Mi", "0", "0"),
    (".", "0", "0"),
    ("Gi", "0", "0"),
    ("12345678901234567890", "12345678901234567890", "12345678901234567890"),
    ("5n", "5n", "1m"),
    ("1500u", "1500u", "2m"),
    ("0.0000000001", "1n", "1m"),
    ("1e-12", "1e-9", "1e-3"),
    ("0.000001Ki", "1024u", "2m"),
    ("1.0000000001", "1000000001n", "1001m"),
    ("1.23456789012345678901", "1234567891n", "1235m"),
    (1000.0, "1k", "1k"),
    (0.5, "500m", "500m"),
    (3, "3", "3"),
)


@pytest.mark.parametrize(("written", "single", "listed"), STORED)
def test_a_quantity_is_written_as_the_api_server_stores_it(
    written: str | int | float, single: str, listed: str
) -> None:
    assert canonical_quantity(written) == single
    assert canonical_quantity(written, in_resource_list=True) == listed


@pytest.mark.parametrize(("written", "single", "listed"), STORED)
def test_a_stored_quantity_is_stored_again_unchanged(
    written: str | int | float, single: str, listed: str
) -> None:
    assert canonical_quantity(single) == single
    assert canonical_quantity(listed, in_resource_list=True) == listed


def test_one_quantity_in_two_spellings_has_one_canonical_form() -> None:
    assert canonical_quantity("0.125Gi") == canonical_quantity("128Mi")
    assert canonical_quantity("0.5") == canonical_quantity("500m")
    assert canonical_quantity("1e3") != canonical_quantity("1k")  # the server keeps the format


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5Gi", Fraction(3 * 2**29)), ("500m", Fraction(1, 2)), ("1e-3", Fraction(1, 1000))],
)
def test_a_quantity_has_its_exact_value(text: str, value: Fraction) -> None:
    assert parse_quantity(text).value == value


REJECTED = ("1x", "1.2.3", "1e3Mi", "1K", "1ki", "e", "1e", "1 Gi")


@pytest.mark.parametrize("text", ["", True, *REJECTED])
def test_what_the_api_server_rejects_is_not_a_quantity(text: str) -> None:
    with pytest.raises(NotAQuantity):
        canonical_quantity(text)


def test_a_huge_exponent_is_written_without_computing_the_number() -> None:
    assert canonical_quantity("1e999999999") == "1e999999999"
    assert canonical_quantity("1e-999999999") == "1e-9"


def test_a_quantity_longer_than_any_resource_is_refused_without_reading_it() -> None:
    with pytest.raises(NotAQuantity, match="longer than any resource"):
        canonical_quantity("1" * 5000)
    with pytest.raises(NotAQuantity):
        canonical_quantity("1e" + "9" * 5000)


@given(st.text(alphabet="0123456789.+-eEinumkKMGTP ", max_size=30) | st.text(max_size=30))
def test_any_text_is_a_canonical_quantity_or_not_a_quantity_and_nothing_else(text: str) -> None:
    try:
        written = canonical_quantity(text)
    except NotAQuantity:
        return
    assert canonical_quantity(written) == written
