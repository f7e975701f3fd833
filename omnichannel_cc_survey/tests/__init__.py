from . import test_interaction_survey
