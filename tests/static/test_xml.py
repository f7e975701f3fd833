"""XML files parse and the record ids of one addon are unique."""

from collections import Counter

import pytest
from lxml import etree

from tests.conftest import ADDONS, REPO_ROOT

# Elements whose id attribute creates an ir.model.data entry.
ID_TAGS = {"record", "template", "menuitem", "report", "act_window"}


def addon_xml_files(addon):
    return sorted(p for p in (REPO_ROOT / addon).rglob("*.xml") if "__pycache__" not in p.parts)


def data_xml_files(addon):
    """XML loaded as data (not the OWL templates under static/)."""
    return [p for p in addon_xml_files(addon) if "static" not in p.relative_to(REPO_ROOT).parts]


@pytest.mark.parametrize("addon", ADDONS)
def test_xml_files_parse(addon):
    errors = []
    for path in addon_xml_files(addon):
        try:
            etree.parse(str(path))
        except etree.XMLSyntaxError as error:
            errors.append(f"{path.relative_to(REPO_ROOT)}: {error}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("addon", ADDONS)
def test_xml_record_ids_unique(addon):
    ids = Counter()
    where = {}
    for path in data_xml_files(addon):
        tree = etree.parse(str(path))
        for node in tree.iter(*ID_TAGS):
            xmlid = node.get("id")
            if not xmlid:
                continue
            full = xmlid if "." in xmlid else f"{addon}.{xmlid}"
            ids[full] += 1
            where.setdefault(full, []).append(str(path.relative_to(REPO_ROOT)))
    duplicates = {xmlid: where[xmlid] for xmlid, count in ids.items() if count > 1}
    assert not duplicates, f"{addon}: duplicate XML ids {duplicates}"


@pytest.mark.parametrize("addon", ADDONS)
def test_xml_data_files_are_odoo_documents(addon):
    wrong = []
    for path in data_xml_files(addon):
        root = etree.parse(str(path)).getroot()
        if root.tag != "odoo":
            wrong.append(f"{path.relative_to(REPO_ROOT)}: root <{root.tag}>")
    assert not wrong, "\n".join(wrong)
