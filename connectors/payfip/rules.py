"""PayFiP's input rules, checked before anything is sent (errors name the field)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from framework import BadRequest

NUMCLI_RE = re.compile(r"\d{6}")
REFDET_RE = re.compile(r"[A-Za-z0-9]{6,30}")
IDOP_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
EXER_RE = re.compile(r"[0-9]{1,8}")
MIN_CENTS, MAX_CENTS = 100, 10_000_000  # PayFiP takes 1 € to 100,000 €
SAISIE = {"production": "W", "test": "T", "activation": "X"}
RESULTS = {  # resultrans → what it means for the citizen's payment
    "P": ("paid", "paid by card"),
    "V": ("paid", "paid by direct debit"),
    "R": ("refused", "card payment refused"),
    "Z": ("refused", "direct debit refused"),
    "A": ("cancelled", "abandoned by the payer"),
}


def payment_request(body: Any, *, today: dt.date | None = None) -> dict[str, str]:
    """The validated fields of a payment: montant (cents), refdet, mel, exer, objet."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object: {amount, refdet, email, exer?, objet?}")
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise BadRequest(f"field 'amount': expected an integer number of cents, got {amount!r}",
                         hint="e.g. 1250 for 12.50 €")
    if not MIN_CENTS <= amount <= MAX_CENTS:
        raise BadRequest(f"field 'amount': {amount} cents is outside PayFiP's limits",
                         hint=f"between {MIN_CENTS} (1 €) and {MAX_CENTS} (100,000 €) cents")
    refdet = str(body.get("refdet") or "")
    if not REFDET_RE.fullmatch(refdet):
        raise BadRequest(f"field 'refdet': {refdet!r} is not a valid reference",
                         hint="6 to 30 letters or digits, no spaces or punctuation")
    email = str(body.get("email") or "")
    if "@" not in email or not 6 <= len(email) <= 80 or any(c.isspace() for c in email):
        raise BadRequest(f"field 'email': {email!r} is not a valid address",
                         hint="the payer's email, 6 to 80 characters")
    year = (today or dt.date.today()).year
    exer = body.get("exer", year)
    # ASCII digits only: str.isdigit() also accepts "²" (int() refuses it) and "２０２４".
    if (isinstance(exer, bool) or not EXER_RE.fullmatch(str(exer))
            or not 2000 <= int(exer) <= year + 1):
        raise BadRequest(f"field 'exer': {exer!r} is not a budget year",
                         hint=f"a year such as {year}")
    return {"montant": str(amount), "refdet": refdet, "mel": email, "exer": str(int(exer)),
            "objet": normalize_objet(body.get("objet"))}


def normalize_objet(objet: Any) -> str:
    """PayFiP takes at most 100 characters among [A-Za-z0-9 ]: accents are dropped."""
    if not objet:
        return ""
    text = unicodedata.normalize("NFKD", str(objet)).encode("ascii", "ignore").decode()
    text = re.sub(r"['\-]", " ", text)
    text = re.sub(r"[^A-Za-z0-9 ]", "", text)
    return re.sub(r"\s+", " ", text).strip()[:100]


def idop(value: Any) -> str:
    text = str(value or "")
    if not IDOP_RE.fullmatch(text):
        raise BadRequest(f"parameter 'idop': {text!r} is not a PayFiP operation id",
                         hint="the idop returned by create_payment")
    return text


def status_of(detail: Mapping[str, Any]) -> dict[str, Any]:
    code = detail.get("resultrans")
    status, label = RESULTS.get(str(code), ("unknown", f"unknown result code {code!r}"))
    return {"status": status, "label": label, "paid": status == "paid"}
