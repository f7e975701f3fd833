from . import omnichannel_channel
from . import omnichannel_queue
from . import omnichannel_interaction
from . import omnichannel_offer
from . import im_livechat_channel
from . import discuss_channel
from . import chatbot_script_step
