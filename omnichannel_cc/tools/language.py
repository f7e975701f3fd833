"""The language a visitor reads: public pages (web form) and the web chat.

Pure functions fed plain data: the controllers gather the installed
languages, the visitor's explicit choice (``?lang=``, Odoo's
``frontend_lang`` cookie), the browser's Accept-Language and the company's
language, and call in here.
"""

import re

# a language tag as browsers send it or an Odoo code: pl, pl-PL, pl_PL, sr@latin
_TAG_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z0-9]{2,8}))?(@[a-z]+)?$")
# Odoo's script modifiers and their BCP 47 subtags
_SCRIPTS = {"@latin": "Latn", "@cyrillic": "Cyrl"}


def _parse(tag):
    """``(language, region or None, modifier or None)`` of a tag, or None."""
    match = _TAG_RE.match((tag or "").strip())
    if not match:
        return None
    language, region, modifier = match.groups()
    return language.lower(), region.upper() if region else None, modifier


def match_language(tag, languages):
    """The installed language code closest to ``tag``, or None.

    :param tag: a language tag (``pl``, ``pl-PL``, ``pl_PL``);
    :param languages: ``{code: iso_code}`` of the installed languages, as
        ``res.lang`` has them (``{"en_US": "en", "pl_PL": "pl"}``).

    The exact language and region first (``pt-BR`` → ``pt_BR``), then the
    language's main variant, whose ISO code is the bare language
    (``pl`` → ``pl_PL``, ``en-GB`` → ``en_US`` when only ``en_US`` is
    installed), then any variant of the language.
    """
    parsed = _parse(tag)
    if not parsed:
        return None
    language, region, modifier = parsed
    variants = []
    for code in languages:
        installed = _parse(code)
        if installed and installed[0] == language:
            variants.append((code, installed))
    for code, (_lang, code_region, code_modifier) in variants:
        if region and code_region == region and code_modifier == modifier:
            return code
    for code, _parsed in variants:
        if (languages[code] or "").lower() == language:
            return code
    return variants[0][0] if variants else None


def visitor_language(languages, requested=(), accepted=(), fallback=()):
    """The code of the installed language to show a visitor, or None when
    ``languages`` is empty.

    :param languages: ``{code: iso_code}`` of the installed (active)
        languages, in a stable order;
    :param requested: the visitor's explicit choices, strongest first
        (``?lang=``, then the ``frontend_lang`` cookie): the first one
        installed wins;
    :param accepted: ``(tag, quality)`` of the browser's Accept-Language
        header; the best quality that is installed wins, ties in the
        header's order; quality 0 means "not this one";
    :param fallback: codes to use when nothing above is installed (the
        company's language, the database's default), then English, then the
        first installed language.
    """
    for tag in requested:
        code = match_language(tag, languages)
        if code:
            return code
    ranked = sorted(
        ((quality, -position, tag) for position, (tag, quality) in enumerate(accepted)),
        reverse=True,
    )
    for quality, _position, tag in ranked:
        if quality <= 0:
            break
        code = match_language(tag, languages)
        if code:
            return code
    for code in (*fallback, "en_US"):
        if code in languages:
            return code
    return next(iter(languages), None)


def html_lang(iso_code):
    """The BCP 47 tag of an Odoo ISO code for ``<html lang>``: ``pl`` →
    ``pl``, ``pt_BR`` → ``pt-BR``, ``sr@latin`` → ``sr-Latn``."""
    parsed = _parse(iso_code)
    if not parsed:
        return "en"
    language, region, modifier = parsed
    parts = [language]
    if modifier in _SCRIPTS:
        parts.append(_SCRIPTS[modifier])
    if region:
        parts.append(region)
    return "-".join(parts)


def request_choices(httprequest):
    """``(requested, accepted)`` of a werkzeug request, for
    :func:`visitor_language`: the ``lang`` query parameter and Odoo's
    ``frontend_lang`` cookie (the website's language switcher sets it), and
    the Accept-Language header's ``(tag, quality)`` pairs."""
    requested = (httprequest.args.get("lang"), httprequest.cookies.get("frontend_lang"))
    return requested, list(httprequest.accept_languages)
