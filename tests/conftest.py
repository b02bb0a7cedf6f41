import pytest


@pytest.fixture(autouse=True)
def _private_media_root(request, tmp_path):
    """Each unit test stores documents in its own folder; integration tests share the worker's."""
    if request.node.get_closest_marker("integration") is None:
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path / "media"
