from . import omnichannel_survey_invitation
from . import rating_rating
