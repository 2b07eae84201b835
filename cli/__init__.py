"""The ``alphaforge`` command line: a package beside the others that depends on them (orchestration,
marketdata, ml, realtime), never the reverse. ``python -m cli`` is the same as ``alphaforge``."""
