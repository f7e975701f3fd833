from . import invitation
