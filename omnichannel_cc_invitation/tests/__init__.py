from . import test_invitation
from . import test_state_exits_invitation
