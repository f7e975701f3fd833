"""Load an addon's tools/ modules without importing odoo (the addon package would).

The one harness of the pure tools: every tools module is loaded from its file
through ``load_tools`` and tested here, without a database.
"""

import importlib
import importlib.util
import sys

from tests.conftest import CORE, REPO_ROOT


def _package(addon):
    return f"omnichannel_tools_under_test_{addon}"


def load_tools(*names, addon=CORE):
    """The named modules of ``<addon>/tools``, imported as one package.

    The optional addons' tools import the core's as
    ``odoo.addons.omnichannel_cc.tools.<name>``: those names are served from
    the core's files too, so nothing imports odoo.
    """
    package = _package(addon)
    if package not in sys.modules:
        if addon != CORE:
            core_tools = REPO_ROOT / CORE / "tools"
            for path in sorted(core_tools.glob("*.py")):
                if path.stem == "__init__":
                    continue
                (module,) = load_tools(path.stem)
                sys.modules.setdefault(f"odoo.addons.{CORE}.tools.{path.stem}", module)
        tools = REPO_ROOT / addon / "tools"
        spec = importlib.util.spec_from_file_location(
            package, tools / "__init__.py", submodule_search_locations=[str(tools)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        spec.loader.exec_module(module)
    return tuple(importlib.import_module(f"{package}.{name}") for name in names)
