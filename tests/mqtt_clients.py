"""paho clients for tests, connected with what a broker URL carries."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt


def connected_client(url: str, client_id: str = "") -> mqtt.Client:
    """A paho client (callback API 2) connected to ``url``, with its credentials;
    the caller starts the loop."""
    parts = urlsplit(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if parts.username:
        client.username_pw_set(
            unquote(parts.username), unquote(parts.password or "") or None
        )
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    return client
