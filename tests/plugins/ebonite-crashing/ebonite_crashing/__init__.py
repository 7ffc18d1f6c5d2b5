"""A test-only ebonite plugin providing the ``crashing`` artifact type."""
