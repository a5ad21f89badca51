"""The small command-line commands (``info``, ``quickstart``, ``compress``, ``decompress``); see ``cli.py``."""
