from . import omnichannel_survey_invitation
