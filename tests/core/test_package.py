import ebonite_core


def test_version_is_declared():
    assert ebonite_core.__version__.count(".") == 2
