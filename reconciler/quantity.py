"""Kubernetes resource quantities (`500m`, `1.5Gi`, `1e3`): their exact value, and the one
string the API server stores for each.

Shared by the resource estimate (values) and the diff stage (canonical strings, so that
`0.125Gi` and `128Mi`, one quantity the server stores as `128Mi`, are no change). Follows
`k8s.io/apimachinery/pkg/api/resource` (`ParseQuantity`, `CanonicalizeBytes`) step by
step, quirks included: a string already in canonical form is kept as written (`+1`).
Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

_DECIMAL_SUFFIXES = {
    **{"n": -9, "u": -6, "m": -3, "": 0},
    **{"k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18},
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_NANO = -9
_MILLI = -3
_MAX_DIGITS = 18
"""Digits of an int64 the parser's fast path keeps exactly (`maxInt64Factors`)."""
_MAX_TEXT = 1000
"""Longer texts are refused before any digit is read: no resource needs them, and
Python will not read a number of over 4300 digits."""
_MAX_BINARY = 2**63 - 1
"""The largest binary quantity; larger ones are capped, as the server does."""


class NotAQuantity(ValueError):
    """The text is no Kubernetes quantity (the API server would reject it)."""


class QuantityFormat(Enum):
    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


@dataclass(frozen=True)
class Quantity:
    """`coefficient * 10**exponent`, kept apart so `1e999999999` costs nothing to hold."""

    coefficient: int
    exponent: int
    format: QuantityFormat
    written: str | None = None
    """The text as given, when the server keeps it (already canonical)."""

    @property
    def value(self) -> Fraction:
        """The exact number; only for quantities of a sensible size."""
        return self.coefficient * Fraction(10) ** self.exponent


def parse_quantity(text: str) -> Quantity:
    """`text` as the API server reads it (`ParseQuantity`, after trimming spaces)."""
    text = text.strip()
    if not text:
        raise NotAQuantity("an empty string is not a quantity")
    if text == "0":
        return Quantity(0, 0, QuantityFormat.DECIMAL_SI, written=text)
    if len(text) > _MAX_TEXT:
        raise NotAQuantity(f"a quantity of {len(text)} characters is longer than any resource")
    negative, numerator, denominator, suffix = _split(text)
    base, power, form = _interpret(suffix, text)
    kept = _kept_as_written(text, numerator, denominator, power, form)
    if base == 10:
        coefficient, exponent = int(numerator + denominator), power - len(denominator)
    else:
        coefficient, exponent = int(numerator + denominator) << power, -len(denominator)
    coefficient, exponent = _rounded_away_from_zero(coefficient, exponent, _NANO)
    if form is QuantityFormat.BINARY_SI:
        if Fraction(coefficient) * Fraction(10) ** exponent > _MAX_BINARY:
            coefficient, exponent = _MAX_BINARY, 0
        elif coefficient and exponent < 0 and coefficient < 10**-exponent:
            form = QuantityFormat.DECIMAL_SI  # under 1: shown in decimal, never rounded
    return Quantity(-coefficient if negative else coefficient, exponent, form, kept)


def canonical_quantity(value: str | int | float, *, in_resource_list: bool = False) -> str:
    """The string the API server stores for `value` (a number as JSON writes it).

    A resource list's quantities (`requests`, `limits`, a quota's `hard`) are rounded
    up to thousandths first, as the server's defaulting does (`SetDefaults_ResourceList`:
    `5n` is stored as `1m`); a single quantity (`emptyDir.sizeLimit`) is not.
    """
    if isinstance(value, bool):
        raise NotAQuantity(f"{value!r} is not a quantity")
    quantity = parse_quantity(repr(value) if isinstance(value, float) else str(value))
    if in_resource_list and quantity.exponent < _MILLI:
        coefficient, exponent = _rounded_away_from_zero(
            quantity.coefficient, quantity.exponent, _MILLI
        )
        quantity = Quantity(coefficient, exponent, quantity.format)
    if quantity.written is not None:
        return quantity.written
    return format_quantity(quantity)


def format_quantity(quantity: Quantity) -> str:
    """The canonical text (`CanonicalizeBytes`): no fractional digits, the largest suffix."""
    coefficient, exponent, form = quantity.coefficient, quantity.exponent, quantity.format
    if coefficient == 0:
        return "0"
    if form is QuantityFormat.BINARY_SI:
        whole = _as_integer(coefficient, exponent)
        if abs(Fraction(coefficient) * Fraction(10) ** exponent) < 1024 or whole is None:
            form = QuantityFormat.DECIMAL_SI
        else:
            amount, times = _without_factors(whole, 1024)
            return f"{amount}{_binary_suffix(times * 10)}"
    amount, times = _without_factors(coefficient, 10)
    exponent += times
    while exponent % 3:
        amount, exponent = amount * 10, exponent - 1
    if form is QuantityFormat.DECIMAL_EXPONENT:
        return f"{amount}e{exponent}" if exponent else str(amount)
    return f"{amount}{_decimal_suffix(exponent)}"


def _split(text: str) -> tuple[bool, str, str, str]:
    """Sign, numerator (leading zeros gone, at least `0`), denominator and suffix
    (`parseQuantityString`)."""
    position, end = 0, len(text)
    negative = text[0] == "-"
    if text[0] in "+-":
        position = 1
    while position < end and text[position] == "0":
        position += 1
    if position == end:
        return negative, "0", "", ""
    position, numerator = _digits(text, position)
    denominator = ""
    if position < end and text[position] == ".":
        position, denominator = _digits(text, position + 1)
    suffix_start = position
    while position < end and text[position] in _SUFFIX_LETTERS:
        position += 1
    if position < end and text[position] in "+-":
        position += 1
    position, _ = _digits(text, position)
    if position < end:
        raise NotAQuantity(f"'{text}' is not a quantity (e.g. 500m, 1Gi)")
    return negative, numerator or "0", denominator, text[suffix_start:]


def _digits(text: str, start: int) -> tuple[int, str]:
    """Where the ASCII digits from `start` end, and the digits."""
    position = start
    while position < len(text) and text[position] in "0123456789":
        position += 1
    return position, text[start:position]


def _interpret(suffix: str, text: str) -> tuple[int, int, QuantityFormat]:
    """Base, power and format of a suffix (`suffixHandler.interpret`)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], QuantityFormat.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], QuantityFormat.BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:].removeprefix("+").removeprefix("-")
        if digits and all(digit in "0123456789" for digit in digits):
            power = int(suffix[1:])
            if -(2**63) <= power < 2**63:
                # Go keeps the exponent in an int32: a larger one wraps around.
                return 10, (power + 2**31) % 2**32 - 2**31, QuantityFormat.DECIMAL_EXPONENT
    raise NotAQuantity(f"'{text}' has an unknown suffix '{suffix}' (e.g. 500m, 1Gi)")


def _kept_as_written(
    text: str, numerator: str, denominator: str, power: int, form: QuantityFormat
) -> str | None:
    """`text` itself when the server keeps the string it was given (its fast path for
    quantities already in canonical form), else None."""
    shifted = numerator + denominator
    if form is QuantityFormat.BINARY_SI:
        if denominator:
            return None
        binary_digits = 15 - len(numerator) - int(power * 3 / 10) - 1
        fits = binary_digits >= 0 and (int(numerator) << power) < 2**63
        return text if fits and int(numerator) & 0x07 else None
    if _MAX_DIGITS - len(shifted) < 0 or power - len(denominator) < _NANO:
        return None
    scale = power - len(denominator)
    canonical = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return text if canonical else None


def _rounded_away_from_zero(coefficient: int, exponent: int, finest: int) -> tuple[int, int]:
    """Nothing finer than `10**finest`: a finer non-zero amount is rounded away from zero
    (the server's rounding, so that asking for a little never gives nothing)."""
    if coefficient == 0 or exponent >= finest:
        return coefficient, exponent
    drop = finest - exponent
    magnitude = abs(coefficient)
    magnitude = 1 if drop > len(str(magnitude)) else -(-magnitude // 10**drop)
    return (-magnitude if coefficient < 0 else magnitude), finest


def _as_integer(coefficient: int, exponent: int) -> int | None:
    """The whole number, or None when it has a fraction."""
    scale: int = 10 ** abs(exponent)
    if exponent >= 0:
        return coefficient * scale
    whole, rest = divmod(coefficient, scale)
    return None if rest else whole


def _without_factors(amount: int, base: int) -> tuple[int, int]:
    """`amount` divided by `base` as often as it divides evenly, and how often."""
    times, magnitude = 0, abs(amount)
    while magnitude >= base and magnitude % base == 0:
        magnitude //= base
        times += 1
    return (-magnitude if amount < 0 else magnitude), times


def _decimal_suffix(exponent: int) -> str:
    for suffix, power in _DECIMAL_SUFFIXES.items():
        if power == exponent:
            return suffix
    return ""  # beyond E the server writes no suffix at all; so do we


def _binary_suffix(power: int) -> str:
    for suffix, known in _BINARY_SUFFIXES.items():
        if known == power:
            return suffix
    return ""
