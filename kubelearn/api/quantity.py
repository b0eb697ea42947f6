"""Resource quantities -- ``500m`` CPU, ``1536Mi`` memory -- parsed and printed as Kubernetes does.

- :class:`Quantity` -- an exact fixed-point number that remembers its format
  (DecimalSI ``1.5G``, BinarySI ``1Gi``, DecimalExponent ``1e9``), with
  :meth:`Quantity.value`, :meth:`Quantity.milli_value`, comparison and arithmetic.
- :func:`parse_quantity` -- ParseQuantity, including its error messages.
- :class:`QuantityError` -- a parse failure; a :class:`BadRequest` *and* a ``ValueError``.

A port of k8s.io/apimachinery/pkg/api/resource: quantity.go (ParseQuantity,
CanonicalizeBytes, String), suffix.go and amount.go. Never a float inside: the
amount is a :class:`decimal.Decimal` used exactly.
"""

from __future__ import annotations

import decimal
import functools
import re
from decimal import ROUND_UP, Decimal
from typing import Any

from kubelearn.api.errors import BadRequest

DECIMAL_SI = "DecimalSI"  # 12M = 12 * 10^6
BINARY_SI = "BinarySI"  # 12Mi = 12 * 2^20
DECIMAL_EXPONENT = "DecimalExponent"  # 12e6

# quantity.go splitREString and the three parse errors.
SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

# suffix.go: base-10 exponent of each DecimalSI suffix, base-2 of each BinarySI one.
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                    "P": 15, "E": 18}
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {e: s for s, e in BINARY_SUFFIXES.items()}

MAX_ALLOWED = 2**63 - 1  # quantity.go maxAllowed: BinarySI amounts are capped here
NANO = -9  # amounts are rounded up to whole nano-units (amount.go Nano)
_MAX_INT64_FACTORS = 18  # quantity.go maxInt64Factors: digits an int64 always holds
_DIGITS = "0123456789"
_SUFFIX_LETTERS = "eEinumkKMGTP"
_MAX_EXACT_DIGITS = 100_000  # refuse arithmetic whose exact result needs more digits
# Unlimited precision and exponent range: every operation below is exact.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                         rounding=ROUND_UP)
_ONE_NANO = Decimal("1e-9")


class QuantityError(BadRequest, ValueError):
    """A string that is not a quantity; the message is ParseQuantity's."""


def _dec(unscaled: int, exponent: int) -> Decimal:
    """``unscaled * 10**exponent`` as an exact Decimal, whatever the exponent."""
    return Decimal(unscaled).scaleb(exponent, context=_EXACT)


def _scan(text: str) -> tuple[bool, str, str, str, str]:
    """Split a quantity into sign, numeric text, integer digits, fraction digits, suffix.

    quantity.go parseQuantityString, step for step (so ``1.`` and ``.5`` parse).
    """
    positive, pos, end = True, 0, len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while True:  # strip leading zeros
        if pos >= end:
            return positive, "0", "0", "", ""
        if text[pos] != "0":
            break
        pos += 1
    i = pos  # the integer part
    while i < end and text[i] in _DIGITS:
        i += 1
    if i >= end:
        return positive, text, text[pos:] or "0", "", ""
    num, pos = text[pos:i] or "0", i
    denom = ""
    if text[pos] == ".":  # the fraction
        pos += 1
        i = pos
        while i < end and text[i] in _DIGITS:
            i += 1
        if i >= end:
            return positive, text, num, text[pos:], ""
        denom, pos = text[pos:i], i
    value, suffix_start = text[:pos], pos
    while pos < end and text[pos] in _SUFFIX_LETTERS:  # the suffix: letters, sign, digits
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT_WRONG)
    return positive, value, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """Base, exponent and format a suffix stands for (suffix.go interpret)."""
    if suffix in DECIMAL_SUFFIXES:
        return 10, DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in BINARY_SUFFIXES:
        return 2, BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        exponent = int(suffix[1:])
        if -(2**63) <= exponent < 2**63:  # strconv.ParseInt(..., 64), then int32(...)
            return 10, (exponent + 2**31) % 2**32 - 2**31, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def parse_quantity(text: str) -> Quantity:
    """Parse ``text`` exactly as ParseQuantity does, or raise :class:`QuantityError`.

    A cluster spells the same few quantities over and over ("100m", "128Mi" in every
    pod of a Deployment, read by admission, validation, the scheduler, the kubelet),
    and a Quantity never changes once made: the last few thousand parses are kept.
    """
    if not isinstance(text, str) or not text:
        raise QuantityError(ERR_FORMAT_WRONG)
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Quantity:
    """:func:`parse_quantity` of a non-empty string (errors are raised, not kept)."""
    if text == "0":
        return Quantity._make(Decimal(0), DECIMAL_SI, "0")
    positive, value, num, denom, suffix = _scan(text)
    base, exponent, fmt = _interpret(suffix)

    # The int64 fast path: exact, and it keeps the input string when that is
    # already canonical -- including upstream's quirk of keeping "1.500k" as it is
    # (kubernetes#138165, pinned by quantity_golden_test.go).
    mantissa = 1
    if fmt == BINARY_SI:
        scale = 0
        if exponent >= 0 and not denom:
            mantissa = 1 << exponent
            precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        else:
            precision = -1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - (len(num) + len(denom))
    if precision >= 0:
        scale -= len(denom)
        if scale >= NANO:
            shifted = num + denom
            result = int(shifted) * mantissa
            if result < 2**63:  # int64Multiply did not overflow
                cached = ""
                if fmt == BINARY_SI:
                    if exponent % 10 == 0 and int(shifted) & 0x07:
                        cached = text
                elif scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0":
                    cached = text
                return Quantity._make(_dec(result if positive else -result, scale), fmt, cached)

    # The inf.Dec slow path: exact decimal, rounded up to nano, BinarySI capped.
    match = re.fullmatch(r"([+-]?)([0-9]*)\.?([0-9]*)", value)
    if not match or not (match[2] or match[3]):
        raise QuantityError(ERR_NUMERIC)
    unscaled, exp = int(Decimal(match[2] + match[3] or "0")), -len(match[3])
    if base == 10:
        exp += exponent
    else:
        unscaled <<= exponent
    amount = _dec(unscaled, exp)
    if unscaled and exp < NANO:  # round away from zero to whole nano-units
        amount = amount.quantize(_ONE_NANO, context=_EXACT)
    if fmt == BINARY_SI and amount > MAX_ALLOWED:
        amount = Decimal(MAX_ALLOWED)
    if fmt == BINARY_SI and 0 < amount < 1:
        fmt = DECIMAL_SI  # "This avoids rounding and hopefully confusion, too."
    if not positive:
        amount = amount.copy_negate()  # exact: unary minus would round to 28 digits
    return Quantity._make(amount, fmt, "")


def _base10(amount: Decimal) -> tuple[str, int]:
    """Mantissa digits and a multiple-of-3 exponent (amount.go AsCanonicalBytes)."""
    sign, digit_tuple, exp = amount.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exp = int(exp) + len(digit_tuple) - len(digits)
    while exp % 3:
        digits += "0"
        exp -= 1
    return ("-" if sign else "") + digits, exp


def _remove_factors(n: int, factor: int, limit: int) -> tuple[int, int]:
    """Divide ``factor`` out of ``n`` up to ``limit`` times (amount.go removeInt64Factors)."""
    times = 0
    while n and n % factor == 0 and times < limit:
        n //= factor
        times += 1
    return n, times


class Quantity:
    """A fixed-point amount such as ``250m`` or ``1Gi``: exact, and printed as Kubernetes does."""

    __slots__ = ("_amount", "format", "_s")

    def __init__(self, value: int | str | Decimal | Quantity = 0, format: str = DECIMAL_SI) -> None:
        if isinstance(value, Quantity):
            self._amount, self.format, self._s = value._amount, value.format, value._s
            return
        if isinstance(value, str):
            parsed = parse_quantity(value)
            self._amount, self.format, self._s = parsed._amount, parsed.format, parsed._s
            return
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise TypeError(f"a Quantity is made from an int, a Decimal or a string, not {value!r}")
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError(f"a Quantity must be finite, not {value!r}")
        self._amount, self.format, self._s = amount, format, ""

    @classmethod
    def _make(cls, amount: Decimal, fmt: str, cached: str) -> Quantity:
        q = cls.__new__(cls)
        q._amount, q.format, q._s = amount, fmt, cached
        return q

    @classmethod
    def from_milli(cls, milli: int, format: str = DECIMAL_SI) -> Quantity:
        """``milli / 1000`` (resource.NewMilliQuantity)."""
        return cls._make(_dec(milli, -3), format, "")

    @classmethod
    def from_scaled(cls, value: int, scale: int) -> Quantity:
        """``value * 10**scale`` in DecimalSI (resource.NewScaledQuantity)."""
        return cls._make(_dec(value, scale), DECIMAL_SI, "")

    # -- reading -----------------------------------------------------------------
    @property
    def amount(self) -> Decimal:
        """The exact amount, e.g. ``Decimal('0.5')`` for ``500m``."""
        return self._amount

    def is_zero(self) -> bool:
        """True if the amount is 0."""
        return not self._amount

    def sign(self) -> int:
        """-1, 0 or 1."""
        return (self._amount > 0) - (self._amount < 0)

    def scaled_value(self, scale: int) -> int:
        """``amount / 10**scale`` rounded up, away from zero (ScaledValue)."""
        if not self._amount:
            return 0
        if self._amount.adjusted() - scale > 4300:  # far beyond int64: Go would overflow
            raise OverflowError(f"quantity {self} is too large to count in units of 10^{scale}")
        scaled = self._amount.scaleb(-scale, context=_EXACT)
        return int(scaled.to_integral_value(rounding=ROUND_UP, context=_EXACT))

    def value(self) -> int:
        """The amount rounded up to a whole number, away from zero (Value)."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """The amount in thousandths, rounded up (MilliValue): ``500m`` -> 500."""
        return self.scaled_value(-3)

    def __float__(self) -> float:
        return float(self._amount)

    def __bool__(self) -> bool:
        return bool(self._amount)

    # -- printing ------------------------------------------------------------------
    def canonical(self) -> str:
        """The canonical form (CanonicalizeBytes): largest suffix, no fraction, nothing lost."""
        amount = self._amount
        if amount == 0:
            return "0"
        fmt = self.format
        if fmt == BINARY_SI:
            integral = amount == amount.to_integral_value()
            # Amounts this large cannot come from parsing (BinarySI is capped at 2^63-1).
            if -1024 < amount < 1024 or not integral or amount.adjusted() > 300:
                fmt = DECIMAL_SI
        elif fmt not in (DECIMAL_SI, DECIMAL_EXPONENT):
            fmt = DECIMAL_EXPONENT
        if fmt == BINARY_SI:
            mantissa, times = _remove_factors(int(amount), 1024, 6)
            return f"{mantissa}{_BINARY_BY_EXPONENT.get(times * 10, '')}"
        digits, exp = _base10(amount)
        if fmt == DECIMAL_SI and exp in _DECIMAL_BY_EXPONENT:
            return digits + _DECIMAL_BY_EXPONENT[exp]
        # DecimalExponent; also DecimalSI beyond the E suffix (kubernetes#140459).
        return digits if exp == 0 else f"{digits}e{exp}"

    def __str__(self) -> str:
        return self._s or self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def to_json(self) -> str:
        """The JSON a Quantity marshals to: its string, quoted."""
        return '"' + str(self) + '"'

    def go_syntax(self) -> str:
        """The Quantity as Go's ``%#v`` prints it, private fields and all.

        A validation error that is handed a Quantity by value prints this in v1.32
        (String needs a pointer): the int64 form ``i`` when the amount fits it (as
        ParseQuantity's fast path leaves it), else the inf.Dec form ``d``, whose
        pointer prints as an address. ``s`` is the string ParseQuantity kept, if any.
        Approximation: an amount from ParseQuantity's slow path that happens to fit
        the int64 form (more than 18 digits, or finer than a nanounit) prints as it.
        """
        from kubelearn.api.errors import GO_POINTER_ADDRESS, go_quote  # errors imports us

        sign, digits, exponent = self._amount.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        fits = (isinstance(exponent, int) and exponent >= NANO and -(2**63) <= unscaled < 2**63
                and not (self.format == BINARY_SI and exponent < 0))
        if fits:
            i, dec = f"value:{unscaled}, scale:{exponent}", "nil"
        else:
            i, dec = "value:0, scale:0", GO_POINTER_ADDRESS
        return (f"resource.Quantity{{i:resource.int64Amount{{{i}}}, "
                f"d:resource.infDecAmount{{Dec:(*inf.Dec)({dec})}}, s:{go_quote(self._s)}, "
                f"Format:{go_quote(self.format)}}}")

    # -- comparing -----------------------------------------------------------------
    @staticmethod
    def _coerce(other: Any) -> Decimal | None:
        if isinstance(other, Quantity):
            return other._amount
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return Decimal(other)
        if isinstance(other, str):
            try:
                return parse_quantity(other)._amount
            except QuantityError:
                return None
        return None

    def cmp(self, other: Quantity | int | str) -> int:
        """-1, 0 or 1 as this quantity is less than, equal to or greater than ``other`` (Cmp)."""
        value = self._coerce(other)
        if value is None:
            raise TypeError(f"cannot compare a Quantity with {other!r}")
        return (self._amount > value) - (self._amount < value)

    def __eq__(self, other: object) -> bool:
        value = self._coerce(other)
        return value is not None and self._amount == value

    def __hash__(self) -> int:
        return hash(self._amount)

    def __lt__(self, other: Quantity | int | str) -> bool:
        return self.cmp(other) < 0

    def __le__(self, other: Quantity | int | str) -> bool:
        return self.cmp(other) <= 0

    def __gt__(self, other: Quantity | int | str) -> bool:
        return self.cmp(other) > 0

    def __ge__(self, other: Quantity | int | str) -> bool:
        return self.cmp(other) >= 0

    # -- arithmetic ----------------------------------------------------------------
    def _operand(self, other: Any) -> Quantity:
        if isinstance(other, Quantity):
            return other
        if isinstance(other, (int, str)) and not isinstance(other, bool):
            return Quantity(other)
        raise TypeError(f"cannot combine a Quantity with {other!r}")

    def __add__(self, other: Quantity | int | str) -> Quantity:
        y = self._operand(other)
        fmt = y.format if self.is_zero() else self.format  # Add: a zero takes y's format
        return Quantity._make(_exact_add(self._amount, y._amount), fmt, "")

    def __radd__(self, other: Quantity | int | str) -> Quantity:
        return self._operand(other) + self

    def __sub__(self, other: Quantity | int | str) -> Quantity:
        y = self._operand(other)
        fmt = y.format if self.is_zero() else self.format
        return Quantity._make(_exact_add(self._amount, y._amount.copy_negate()), fmt, "")

    def __rsub__(self, other: Quantity | int | str) -> Quantity:
        return self._operand(other) - self

    def __neg__(self) -> Quantity:
        return Quantity._make(self._amount.copy_negate(), self.format, "")

    def __mul__(self, factor: int) -> Quantity:
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity._make(_exact_mul(self._amount, factor), self.format, "")

    __rmul__ = __mul__


def _exact_add(a: Decimal, b: Decimal) -> Decimal:
    """``a + b`` with no rounding at all, however many digits it takes."""
    if a and b:
        span = max(a.adjusted(), b.adjusted()) - min(a.as_tuple().exponent, b.as_tuple().exponent)
        if span > _MAX_EXACT_DIGITS:
            raise OverflowError("quantities too far apart in scale to add exactly")
    return _EXACT.add(a, b)


def _exact_mul(a: Decimal, factor: int) -> Decimal:
    """``a * factor`` with no rounding."""
    return _EXACT.multiply(a, Decimal(factor))
