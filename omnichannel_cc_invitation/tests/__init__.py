from . import test_invitation
