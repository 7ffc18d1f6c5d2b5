"""An example ebonite backend: the ``zip`` artifact repository."""
