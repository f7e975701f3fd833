from . import social
from . import invitation
