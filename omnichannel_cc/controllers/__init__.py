from . import webhook
from . import staffing
