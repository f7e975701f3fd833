from . import res_users
from . import omnichannel_channel
