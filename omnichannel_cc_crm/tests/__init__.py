from . import test_opportunity
