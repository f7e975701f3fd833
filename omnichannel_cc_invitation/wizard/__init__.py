from . import omnichannel_invitation_create
