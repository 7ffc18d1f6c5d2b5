"""A test-only ebonite plugin providing the ``dummy`` artifact type."""
