from . import test_address
from . import test_identify
from . import test_backfill
from . import test_screen_pop
from . import test_api_inbound
from . import test_interaction
from . import test_security
from . import test_ui
