"""Access-control lists name real models; every addon ships its translations."""

import csv
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ADDONS, REPO_ROOT

ACL_HEADER = [
    "id",
    "name",
    "model_id:id",
    "group_id:id",
    "perm_read",
    "perm_write",
    "perm_create",
    "perm_unlink",
]
NAME_RE = re.compile(r"""^\s+_name\s*=\s*["']([\w.]+)["']""", re.MULTILINE)
# Used when Odoo's own source cannot be found (the e2e tests fail then anyway).
FALLBACK_ODOO_MODELS = {
    "res.partner",
    "res.users",
    "res.company",
    "res.groups",
    "mail.message",
    "sms.sms",
    "survey.survey",
    "survey.user_input",
    "sale.order",
    "account.move",
}


def models_defined_in(folder):
    names = set()
    for path in Path(folder).rglob("*.py"):
        names.update(NAME_RE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


@cache
def odoo_models():
    """Model names of Odoo's own addons, read from the source without importing it."""
    spec = importlib.util.find_spec("odoo")
    if not spec or not spec.submodule_search_locations:
        return frozenset(FALLBACK_ODOO_MODELS)
    names = set()
    for location in spec.submodule_search_locations:
        names |= models_defined_in(Path(location) / "addons")
    return frozenset(names)


@cache
def suite_models():
    names = set()
    for addon in ADDONS:
        names |= models_defined_in(REPO_ROOT / addon)
    return frozenset(names)


def acl_path(addon):
    return REPO_ROOT / addon / "security" / "ir.model.access.csv"


@pytest.mark.parametrize("addon", ADDONS)
def test_access_csv(addon):
    path = acl_path(addon)
    if not path.exists():
        # An addon without new models needs no ACL; one with models does.
        own = models_defined_in(REPO_ROOT / addon)
        assert not own, f"{addon}: defines {sorted(own)} but has no security/ir.model.access.csv"
        return
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows, f"{addon}: empty ir.model.access.csv"
    assert rows[0] == ACL_HEADER, f"{addon}: ACL header {rows[0]}"
    body = [row for row in rows[1:] if row and any(cell.strip() for cell in row)]
    assert body, f"{addon}: ir.model.access.csv has no line"
    ids = [row[0] for row in body]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{addon}: duplicate ACL ids {duplicates}"
    known = {name.replace(".", "_") for name in suite_models() | odoo_models()}
    unknown = []
    for row in body:
        assert len(row) == len(ACL_HEADER), f"{addon}: ACL line {row} has {len(row)} columns"
        assert all(flag in ("0", "1") for flag in row[4:]), f"{addon}: ACL flags of {row[0]}"
        model_ref = row[2].split(".", 1)[-1]
        assert model_ref.startswith("model_"), f"{addon}: {row[0]} model {row[2]!r}"
        if model_ref[len("model_") :] not in known:
            unknown.append(f"{row[0]}: {row[2]}")
    assert not unknown, f"{addon}: ACL lines for undefined models: {unknown}"
    pairs = [(row[2], row[3]) for row in body]
    twice = sorted({pair for pair in pairs if pairs.count(pair) > 1})
    assert not twice, f"{addon}: more than one ACL line per (model, group): {twice}"


@pytest.mark.parametrize("addon", ADDONS)
def test_every_own_model_has_access_rules(addon):
    own = models_defined_in(REPO_ROOT / addon)
    # abstract / transient helpers without ACL would still need one in 18.0
    if not own:
        return
    text = acl_path(addon).read_text(encoding="utf-8") if acl_path(addon).exists() else ""
    refs = {line.split(",")[2].split(".", 1)[-1] for line in text.splitlines()[1:] if line}
    abstract = abstract_models_in(REPO_ROOT / addon)
    missing = sorted(
        name for name in own - abstract if "model_" + name.replace(".", "_") not in refs
    )
    assert not missing, f"{addon}: models without any ACL line: {missing}"


def abstract_models_in(folder):
    """Models declared with models.AbstractModel (they need no ACL)."""
    names = set()
    class_re = re.compile(r"class \w+\(models\.AbstractModel\):(.*?)(?=\nclass |\Z)", re.DOTALL)
    for path in Path(folder).rglob("*.py"):
        for body in class_re.findall(path.read_text(encoding="utf-8", errors="replace")):
            names.update(NAME_RE.findall(body))
    return names


@pytest.mark.parametrize("addon", ADDONS)
def test_translation_template(addon):
    pot = REPO_ROOT / addon / "i18n" / f"{addon}.pot"
    assert pot.is_file(), f"{addon}: missing i18n/{addon}.pot (odoo -d DB --i18n-export)"
    text = pot.read_text(encoding="utf-8")
    assert text.count('msgid "') > 1, f"{addon}: {pot.name} has no messages"


@pytest.mark.parametrize("addon", ADDONS)
def test_polish_translation(addon):
    po = REPO_ROOT / addon / "i18n" / "pl.po"
    assert po.is_file(), f"{addon}: missing i18n/pl.po"
    text = po.read_text(encoding="utf-8")
    assert "Language: pl" in text, f"{addon}: pl.po has no 'Language: pl' header"
    translated = re.findall(r'^msgstr "(.+)"$', text, re.MULTILINE)
    assert translated, f"{addon}: pl.po translates nothing"
