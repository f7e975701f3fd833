from . import omnichannel_interaction
from . import omnichannel_survey_invitation
