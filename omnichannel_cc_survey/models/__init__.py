from . import omnichannel_queue
from . import omnichannel_interaction
from . import survey_user_input
