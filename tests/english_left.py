"""Finding English left on a page shown in another language.

A word counts as English when it occurs in the English text of the site's messages (our
catalog, allauth's and Django's msgids) and never in that language's translations, so a
word both languages write ("API", "Commonpurse", "Riverside") is never one. Before
looking, everything people typed (proposal titles, comments, names, addresses: every
text column of the database) is taken out: residents' own words stay in the language
they wrote them in. What remains of the page's text, its ``alt``, ``title``,
``aria-label`` and ``placeholder`` attributes and its buttons' values must then hold no
English word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import allauth
import django
from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.text import Truncator

REPO_ROOT = Path(__file__).resolve().parent.parent
# Whole words of three letters or more, any alphabet ("według" is one word, not "wed").
_WORD = re.compile(r"[^\W\d_]{3,}")
# Placeholders, HTML tags and entities in messages are not words anyone reads.
_NOT_WORDS = re.compile(r"%\([^)]*\)[sdif]|%[sdif]|<[^>]*>|&[a-z]+;|\{[^}]*\}")


def catalog_texts(po_file: Path) -> tuple[list[str], list[str]]:
    """The msgids and msgstrs of a .po file (plural forms included), unescaped enough
    for word counting."""
    ids: list[str] = []
    strs: list[str] = []
    current: list[str] | None = None
    for line in po_file.read_text(encoding="utf-8").splitlines():
        if line.startswith(("msgid ", "msgid_plural ")):
            ids.append("")
            current = ids
        elif line.startswith("msgstr"):
            strs.append("")
            current = strs
        elif not line.startswith('"'):
            current = None
            continue
        if current is not None:
            quoted = line[line.index('"') :]
            current[-1] += quoted.strip('"').replace('\\"', '"').replace("\\n", " ")
    return ids, strs


def _words(texts: Iterable[str]) -> set[str]:
    return {word.lower() for text in texts for word in _WORD.findall(_NOT_WORDS.sub(" ", text))}


@functools.cache
def english_words(language: str) -> frozenset[str]:
    """Words of the English messages that ``language``'s translations never use."""
    catalogs = [
        REPO_ROOT / "locale" / language / "LC_MESSAGES",
        Path(allauth.__file__).parent / "locale" / language / "LC_MESSAGES",
        Path(django.__file__).parent / "conf" / "locale" / language / "LC_MESSAGES",
    ]
    english: set[str] = set()
    translated: set[str] = set()
    for folder in catalogs:
        for po_file in folder.glob("*.po"):
            ids, strs = catalog_texts(po_file)
            english |= _words(ids)
            translated |= _words(strs)
    return frozenset(english - translated)


# Where people's words are stored: the site's apps, and accounts' names and addresses
# (not Django's own tables, whose codes such as "auth" would cut words apart).
TYPED_APPS = {"proposals", "voting", "ledgers", "pb_platform", "auth", "account"}


def typed_texts() -> list[str]:
    """Every text value stored in the database's text columns, longest first, cut into
    lines (a description is shown line by line), and the council's own texts set in
    settings (the open-data licence)."""
    texts: set[str] = {settings.OPEN_DATA_LICENCE}
    for model in apps.get_models():
        if model._meta.app_label not in TYPED_APPS or model._meta.model_name == "permission":
            continue
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.EmailField)
            and field.name != "password"
            and not field.choices  # a status or kind, shown through its translated label
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                if isinstance(value, str):
                    texts.update(line.strip() for line in value.splitlines())
                    # As templates shorten them (|truncatewords, |truncatechars).
                    texts.update(Truncator(value).words(n, truncate=" …") for n in (30, 40))
                    texts.add(Truncator(value).chars(40))
    # Shorter values (codes such as "pl", "GBP") would cut words apart.
    return sorted((text for text in texts if len(text) >= 4), key=len, reverse=True)


# Shown by the page's own script: every text node, and the attributes people hear or see.
PAGE_TEXTS_JS = """() => {
  const texts = [];
  const pageLang = document.documentElement.lang.toLowerCase();
  // A part marked as in another language (the switcher's "English") is rightly so.
  const otherLang = el => (el.closest('[lang]').lang || pageLang).toLowerCase() !== pageLang;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    // Code (a column's name, a value to type) is the same in every language.
    const skipped = 'script, style, template, [hidden], code, kbd, samp';
    // A version's changes (.diff) are people's words cut into pieces; only the words
    // read out around them (visually hidden) are the site's.
    const typed = parent && parent.closest('.diff') && !parent.closest('.visually-hidden');
    if (parent && !parent.closest(skipped) && !otherLang(parent) && !typed) {
      texts.push(walker.currentNode.textContent);
    }
  }
  const buttons = 'input[type=submit], input[type=button]';
  const named = `[alt], [title], [aria-label], [placeholder], ${buttons}`;
  for (const el of document.querySelectorAll(named)) {
    for (const name of ['alt', 'title', 'aria-label', 'placeholder', 'value']) {
      if (el.hasAttribute(name) && (name !== 'value' || el.matches(buttons))) {
        texts.push(el.getAttribute(name));
      }
    }
  }
  texts.push(document.title);
  return texts;
}"""


def english_on_page(texts: Iterable[str], *, language: str, typed: list[str]) -> list[str]:
    """The English words (with a little context) left in a page's ``texts``."""
    words = english_words(language)
    found: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        for value in typed:
            if value in text:
                text = text.replace(value, " ")
        for match in _WORD.finditer(text):
            if match.group().isascii() and match.group().lower() in words:
                found.append(f"{match.group()!r} in {text.strip()[:80]!r}")
                break
    return found


def other_site_languages() -> list[str]:
    """The site's languages other than its own (``LANGUAGE_CODE``)."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def language_problems(page: Any, language: str, typed: list[str] | None) -> list[str]:
    """What shows that a browser ``page`` is not wholly in ``language``: its ``<html
    lang>``, and, given what people ``typed`` (for a language other than the site's),
    figures written the language's way and English words left."""
    problems: list[str] = []
    lang = page.evaluate("() => document.documentElement.lang")
    if lang.lower() != language:
        problems.append(f"<html lang={lang!r}>, not {language}")
    if typed is not None:
        for figure in page.evaluate(BAD_FIGURES_JS):
            problems.append(f"a figure for the browser: {figure}")
        texts = page.evaluate(PAGE_TEXTS_JS)
        for leak in english_on_page(texts, language=language, typed=typed):
            problems.append(f"English: {leak}")
    return problems


class _TextCollector(HTMLParser):
    """An HTML page's text and named attributes, as ``PAGE_TEXTS_JS`` reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipping = 0
        self._skipped: list[str] = []
        self._page_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "html":
            self._page_lang = (named.get("lang") or "").lower()
        elif (
            tag in ("script", "style", "template", "code", "kbd", "samp")
            or (named.get("lang") and (named.get("lang") or "").lower() != self._page_lang)
            or (self._skipped and self._skipped[-1] == tag)  # nested inside the skipped part
        ):
            # A script, or a part in another language (the switcher's "English"), up to
            # its end tag (neither is ever a void element).
            self._skipping += 1
            self._skipped.append(tag)
        for name in ("alt", "title", "aria-label", "placeholder"):
            if named.get(name):
                self.texts.append(str(named[name]))
        if tag == "input" and named.get("type") in ("submit", "button") and named.get("value"):
            self.texts.append(str(named["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.texts.append(data)


def html_texts(html: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(html)
    return collector.texts


# Figures a browser reads (SVG geometry, a meter's value, the ballot's data-cost) must be
# written the machine's way in every language: "12.5", never "12,5" (which it drops).
BAD_FIGURES_JS = """() => {
  const figure = /^-?\\d+(\\.\\d+)?%?$/;
  const bad = [];
  const geometry = ['x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height'];
  for (const el of document.querySelectorAll('svg, svg *')) {
    for (const name of geometry) {
      const value = el.getAttribute(name);
      if (value !== null && !figure.test(value)) bad.push(`<${el.tagName} ${name}="${value}">`);
    }
  }
  const numeric = 'meter, progress, [data-cost], [data-budget], [data-max-choices]';
  for (const el of document.querySelectorAll(numeric)) {
    for (const name of ['value', 'min', 'max', 'data-cost', 'data-budget']) {
      const value = el.getAttribute(name);
      if (value !== null && value !== '' && !figure.test(value)) {
        bad.push(`<${el.tagName} ${name}="${value}">`);
      }
    }
  }
  return bad;
}"""
