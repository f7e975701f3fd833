from . import omnichannel_interaction
