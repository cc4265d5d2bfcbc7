"""The web app's words in English and Russian, and which of the two a request gets."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request

from api.errors import ApiError

LANGUAGES = ("en", "ru")
# Words live in a data file: a table of translations, not code.
WORDS_FILE = Path(__file__).with_name("words.toml")


def _words(table: str) -> dict[str, tuple[str, str]]:
    with WORDS_FILE.open("rb") as file:
        return {key: (en, ru) for key, (en, ru) in tomllib.load(file)[table].items()}


# key -> (English, Russian): the app's own labels, and its refusals (ApiError.words).
MESSAGES = _words("messages")
# Answers, task kinds and statuses, by the same code the API uses.
LABELS = _words("labels")

Translate = Callable[..., str]


def language_of(request: Request, preferred: str | None) -> str:
    """The signed-in manager's language, else the browser's first one we speak."""
    if preferred in LANGUAGES:
        return preferred
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(language: str) -> tuple[Translate, Callable[[str], str]]:
    """`t(key, **values)` for the app's words and `label(code)` for answers, kinds, statuses."""
    index = LANGUAGES.index(language)

    def t(key: str, **values: object) -> str:
        return MESSAGES[key][index].format(**values)

    def label(code: str) -> str:
        pair = LABELS.get(code)
        return pair[index] if pair else code

    return t, label


def refusal(error: ApiError, language: str, zone: str) -> str:
    """An API refusal in the manager's language, times in their zone; a refusal the app has
    no words for keeps the API's sentence."""
    if error.words not in MESSAGES:
        return error.detail
    t, label = translator(language)
    values = {
        name: value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, datetime)
        else label(value)
        if isinstance(value, str)
        else value
        for name, value in error.values.items()
    }
    return t(error.words, **values)
