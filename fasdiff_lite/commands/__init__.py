"""The command-line commands, one module each with ``add_arguments(parser)`` and ``main(args)`` (``info``,
``quickstart``, ``compress``, ``decompress``, ``eval``, ``demo``, ``course``); see ``cli.py``."""
