from . import social
