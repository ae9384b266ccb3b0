"""The frame of a self-contained HTML page in the run report's style (its CSS, a heading, a
line of facts, a section menu, sections, a footer): shared by the compare page and the sweep
report, so that every page the tool writes looks the same."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.report import CSS, _esc, _figure_png

Section = tuple[str, str, str]
"""``(anchor id, heading, HTML content)``."""


def figure_html(anchor: str, title: str, caption: str, fig: object) -> str:
    """A matplotlib figure embedded as a base64 PNG, with its caption."""
    data = _figure_png(fig)  # type: ignore[arg-type]
    return (f'<figure id="{_esc(anchor)}"><img alt="{_esc(title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_esc(title)}: '
            f"{_esc(caption)}</figcaption></figure>")


def page(title: str, facts: Sequence[str], sections: Sequence[Section], footer: str = "",
         warning: str = "", extra_css: str = "") -> str:
    """The whole page: no script, no external file; ``warning`` (plain text) shows boxed
    under the facts; ``extra_css`` is appended to the report's style sheet."""
    from scheduler import __version__

    nav = "".join(f'<a href="#{_esc(key)}">{_esc(heading)}</a>' for key, heading, _ in sections)
    body = "".join(f'<section id="{_esc(key)}"><h2>{_esc(heading)}</h2>{content}</section>'
                   for key, heading, content in sections)
    warn = f'<p class="warn">{_esc(warning)}</p>' if warning else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>clustersim: {_esc(title)}</title><style>{CSS}{extra_css}</style></head>"
            f"<body><main><h1>{_esc(title)}</h1>"
            f'<p class="sub">{_esc(" · ".join(facts))}</p>{warn}<nav>{nav}</nav>{body}'
            f'<p class="muted">clustersim {_esc(__version__)}{_esc(footer)}</p>'
            "</main></body></html>\n")
