from . import test_webform
