"""Offline bundles: build one folder to carry to a machine with no network, check it, and
lay it out there (`manifest.py`, `build.py`, `install.py`, `install.sh`)."""
