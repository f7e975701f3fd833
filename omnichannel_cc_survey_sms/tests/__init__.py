from . import test_survey_sms
