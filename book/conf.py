"""Sphinx configuration of the fasdiff-lite course book (``make book``; ``fasdiff_lite.course.build_book``).

The notebooks arrive already executed in FAST mode (their exercises checked on the way), so myst-nb only renders
them: ``nb_execution_mode = "off"``. Any notebook error stops the build before Sphinx runs."""
project = "fasdiff-lite course book"
author = "fasdiff-lite"
extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header", "misc.highlighting_failure", "myst.xref_missing"]
html_theme = "alabaster"
html_title = "fasdiff-lite: a course on facial image compression with a diffusion prior"
html_theme_options = {"page_width": "1180px", "sidebar_width": "260px"}
html_show_sourcelink = False
