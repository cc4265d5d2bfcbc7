"""Email rendering with one jinja2 environment: HTML autoescaped, undefined names fail loudly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def make_templates(folder: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """The environment every renderer shares: built once at start and injected."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(
    templates: jinja2.Environment, kind: str, language: str, context: dict[str, Any]
) -> RenderedEmail:
    """Render `emails/<language>/<kind>.txt` (first line `Subject: …`) and its `.html` twin."""
    text = templates.get_template(f"emails/{language}/{kind}.txt").render(context)
    html = templates.get_template(f"emails/{language}/{kind}.html").render(context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template emails/{language}/{kind}.txt must start with 'Subject: '")
    return RenderedEmail(
        subject=first.removeprefix("Subject: ").strip(), text=body.lstrip("\n"), html=html
    )


def with_unsubscribe(
    templates: jinja2.Environment, rendered: RenderedEmail, language: str, unsubscribe_url: str
) -> RenderedEmail:
    """A marketing email with its visible unsubscribe link, at the end of both parts."""
    context = {"unsubscribe_url": unsubscribe_url}
    text = templates.get_template(f"footers/{language}/unsubscribe.txt").render(context)
    html = templates.get_template(f"footers/{language}/unsubscribe.html").render(context)
    body, found, end = rendered.html.rpartition("</body>")
    with_link = f"{body}{html}</body>{end}" if found else rendered.html + html
    return RenderedEmail(rendered.subject, rendered.text.rstrip("\n") + "\n" + text, with_link)
