"""Load omnichannel_cc/tools without importing odoo (the addon package would)."""

import importlib
import importlib.util
import sys

from tests.conftest import REPO_ROOT

TOOLS = REPO_ROOT / "omnichannel_cc" / "tools"
PACKAGE = "omnichannel_tools_under_test"


def load_tools(*names):
    """The named modules of omnichannel_cc/tools, imported as one package."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, TOOLS / "__init__.py", submodule_search_locations=[str(TOOLS)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return tuple(importlib.import_module(f"{PACKAGE}.{name}") for name in names)
