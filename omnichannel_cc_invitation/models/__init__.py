from . import omnichannel_channel
from . import omnichannel_invitation
from . import omnichannel_interaction
from . import omnichannel_invitation_attempt
