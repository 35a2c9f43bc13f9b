"""A multipart/form-data body of one file, read from disk as it is sent.

requests builds a `files=` body in memory (a 1000 MB upload would hold 1000 MB, twice over
while it is encoded); this object streams instead: requests sends any object with `read`
block by block, with the Content-Length that `len()` gives. `seek(0)` starts it again for
a retry.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import BinaryIO


def _quoted(name: str) -> bytes:
    """A file name for the Content-Disposition header, as browsers write it (HTML5)."""
    escaped = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return escaped.encode("utf-8")


class MultipartFile:
    """`--boundary`, the part's headers, the file, `--boundary--`: one field, `field`."""

    def __init__(self, path: Path, field: str = "audio") -> None:
        self.boundary = secrets.token_hex(16)
        self._head = (
            f"--{self.boundary}\r\n".encode()
            + f'Content-Disposition: form-data; name="{field}"; filename="'.encode()
            + _quoted(path.name)
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file: BinaryIO = path.open("rb")
        self._size = path.stat().st_size
        self._position = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise ValueError("a multipart body can only start again from 0")
        self._position = 0
        self._file.seek(0)
        return 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        wanted = len(self) - self._position if size is None or size < 0 else size
        out = bytearray()
        while len(out) < wanted and self._position < len(self):
            head, body_end = len(self._head), len(self._head) + self._size
            if self._position < head:
                piece = self._head[self._position : self._position + wanted - len(out)]
            elif self._position < body_end:
                piece = self._file.read(min(wanted - len(out), body_end - self._position))
                if not piece:  # the file shrank under us: what is missing cannot be sent
                    raise OSError("the file changed while it was being uploaded")
            else:
                start = self._position - body_end
                piece = self._tail[start : start + wanted - len(out)]
            out += piece
            self._position += len(piece)
        return bytes(out)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MultipartFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
