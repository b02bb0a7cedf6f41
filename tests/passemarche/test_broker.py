"""The embedded broker publishes atomically: a worker never takes a message that is still being written."""

from __future__ import annotations

from queue import Empty

import pytest
from kombu import Connection

from passemarche import broker


@pytest.fixture
def connection(tmp_path):
    folder = str(tmp_path / "queue")
    with Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": folder,
            "data_folder_out": folder,
            "processed_folder": str(tmp_path),
            "control_folder": str(tmp_path / "control"),
        },
    ) as connection:
        (tmp_path / "queue").mkdir()
        yield connection


def test_filesystem_urls_use_the_atomic_transport(connection):
    assert isinstance(connection.transport, broker.Transport)


def test_a_message_being_written_is_invisible_then_whole(connection, monkeypatch):
    queue = connection.SimpleQueue("fetches")
    seen_while_writing = []
    real_replace = broker.os.replace

    def replace_after_a_concurrent_read(source, destination):
        try:
            seen_while_writing.append(connection.default_channel._get("fetches"))
        except Empty:
            seen_while_writing.append(None)
        real_replace(source, destination)

    monkeypatch.setattr(broker.os, "replace", replace_after_a_concurrent_read)

    queue.put({"fetch_id": 42})
    message = queue.get(timeout=2)

    assert seen_while_writing == [None]
    assert message.payload == {"fetch_id": 42}
    message.ack()
    queue.close()
