from . import res_users
from . import omnichannel_channel
from . import omnichannel_interaction
from . import omnichannel_offer
from . import omnichannel_voip_command
from . import omnichannel_click_to_dial
