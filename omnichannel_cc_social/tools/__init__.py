# Pure logic: no ORM, no env, no cursor. Tested without a database.
from . import social
