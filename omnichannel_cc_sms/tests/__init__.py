from . import test_interaction_sms
from . import test_hoot
