from . import test_opportunity
from . import test_ui
