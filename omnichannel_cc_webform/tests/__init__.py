from . import test_webform
from . import test_webform_page
from . import test_webform_submit
from . import test_webform_ui
