from . import test_interaction_sms
