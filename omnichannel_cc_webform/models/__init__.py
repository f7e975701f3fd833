from . import omnichannel_channel
from . import omnichannel_webform_submission
from . import omnichannel_interaction
