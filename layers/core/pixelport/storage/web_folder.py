"""web_folder storages: a read-only source, GET base_url + path through the URL fetch and its network
guard (the same rules as an http(s) input)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pixelport.errors import ValidationFailed
from pixelport.sources.url import Fetched
from pixelport.storage.paths import folder_url


@dataclass(frozen=True)
class WebFolderStorage:
    name: str
    base_url: str
    fetch: Callable[[str], Fetched]

    def read(self, path: str) -> Fetched:
        fetched = self.fetch(folder_url(self.base_url, path))
        return Fetched(
            data=fetched.data,
            url=f"storage://{self.name}/{path}",
            content_type=fetched.content_type,
            name=path.rsplit("/", 1)[-1],
        )

    def write(self, path: str, data: bytes, mime: str) -> dict[str, str]:
        # The edit request is refused before this (422); kept as a guard for any other caller.
        raise ValidationFailed({"output.destination": [read_only_message(self.name)]})


def read_only_message(name: str) -> str:
    return f"storage '{name}' is a web folder, which is read-only; write to an s3 or gcs storage"
