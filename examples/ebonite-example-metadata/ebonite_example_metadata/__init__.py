"""An example ebonite metadata backend: one JSON file per record."""
