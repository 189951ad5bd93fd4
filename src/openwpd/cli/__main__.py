"""``python -m openwpd.cli``: the same as the ``wpd`` command."""

from openwpd.cli import main

main(prog_name="wpd")
