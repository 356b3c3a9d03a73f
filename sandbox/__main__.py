"""`python -m sandbox <command>`: the sandbox's manage.py (serve, migrate, seed_demo, ...)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

from django.core.management import execute_from_command_line

execute_from_command_line([sys.argv[0], *sys.argv[1:]])
