from . import test_survey_keypad
