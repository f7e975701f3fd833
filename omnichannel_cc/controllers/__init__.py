from . import webform
