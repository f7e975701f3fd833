from . import omnichannel_channel
from . import omnichannel_social_identity
from . import omnichannel_interaction
from . import mail_message
