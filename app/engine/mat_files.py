"""Numeric matrices out of MATLAB level-5 MAT files, without SciPy.

LSP's and LSPet's labels come as ``joints.mat``, and SciPy, the usual reader, is left out of the
packaged app (it would not fit), so the app reads the little of the format those files use: a
real numeric matrix, stored plain or zlib-compressed.  Anything else (v7.3 files, which are
HDF5; cells, structs, strings, sparse or complex matrices) is refused with a
:class:`MatFileError` that says what was found, never misread.

The layout (MathWorks, "MAT-File Format", level 5): a 128-byte header, then data elements, each
a tag (type, byte count; a "small" element packs both and up to 4 bytes of data into 8 bytes)
and its data padded to 8 bytes.  A matrix element holds sub-elements: array flags (its class),
dimensions, name, and the real part, stored column-major in any numeric type that holds its
values.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

HEADER_BYTES = 128
MI_INT32, MI_UINT32, MI_INT8 = 5, 6, 1
MI_MATRIX, MI_COMPRESSED = 14, 15
# The storage types a numeric matrix's data may use (miINT8 ... miUINT64), as numpy types.
STORAGE_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
                 12: "i8", 13: "u8"}
# The numeric classes (mxDOUBLE_CLASS ... mxUINT64_CLASS) and the type each is read as.
NUMERIC_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
                   14: "i8", 15: "u8"}
OTHER_CLASSES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "a string",
                 5: "a sparse matrix", 16: "a function handle", 17: "an opaque object"}
COMPLEX_FLAG = 0x0800
# Labels are small: a matrix this large is a damaged or hostile file, not joints.
MAX_ELEMENT_BYTES = 256 * 2**20


class MatFileError(Exception):
    """A file this reader cannot take a numeric matrix from; the message says why."""


def read_mat_matrix(path: str | Path, name: str) -> np.ndarray:
    """The numeric matrix called ``name`` in the MAT file at ``path``, in its own class's type
    (MATLAB's doubles as float64) and shape."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise MatFileError(f"cannot be read ({error.strerror or error})") from error
    byte_order = header_byte_order(data)
    offset, names = HEADER_BYTES, []
    while offset + 8 <= len(data):
        kind, size, start, offset = element_tag(data, offset, byte_order)
        if start + size > len(data):
            raise MatFileError("ends inside a data element (the file is truncated)")
        element = data[start:start + size]
        if kind == MI_COMPRESSED:
            kind, element = inflate_element(element, byte_order)
            offset = start + size  # compressed elements are not padded
        if kind != MI_MATRIX:
            continue
        found, matrix = matrix_element(element, byte_order, name)
        if matrix is not None:
            return matrix
        names.append(found)
    listed = ", ".join(repr(n) for n in names) or "none"
    raise MatFileError(f"has no matrix named {name!r} (its variables: {listed})")


def header_byte_order(data: bytes) -> str:
    """'<' or '>', from the header's endian mark; refuses v4 and v7.3 (HDF5) files."""
    if len(data) < HEADER_BYTES:
        raise MatFileError("is too short for a MAT file")
    if data[:19] == b"MATLAB 7.3 MAT-file":
        raise MatFileError("is a MATLAB v7.3 (HDF5) file; save it with -v7 or -v6")
    mark = data[126:128]
    if mark not in (b"IM", b"MI"):
        raise MatFileError("is not a MATLAB level-5 MAT file (no endian mark in its header)")
    byte_order = "<" if mark == b"IM" else ">"
    (version,) = struct.unpack(byte_order + "H", data[124:126])
    if version != 0x0100:
        raise MatFileError(f"is a MAT file of version {version:#x}, not level 5")
    return byte_order


def element_tag(data: bytes, offset: int, byte_order: str) -> tuple[int, int, int, int]:
    """(type, byte count, where its data starts, where the next element starts) of the element
    at ``offset``."""
    if offset + 8 > len(data):
        raise MatFileError("ends inside an element's tag (the file is truncated)")
    first, second = struct.unpack_from(byte_order + "II", data, offset)
    if first >> 16:  # small element: type and count share the first word, data the second
        return first & 0xFFFF, first >> 16, offset + 4, offset + 8
    if second > MAX_ELEMENT_BYTES:
        raise MatFileError(f"holds an element of {second} bytes, too large for labels")
    return first, second, offset + 8, offset + 8 + (second + 7) // 8 * 8


def inflate_element(compressed: bytes, byte_order: str) -> tuple[int, bytes]:
    """The element inside a compressed one: its type and data, inflated no further than its
    tag's byte count (so a small file cannot claim gigabytes)."""
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(compressed, 8)
        if len(head) < 8:
            raise MatFileError("holds a compressed element too short for a tag")
        kind, size, start, _ = element_tag(head, 0, byte_order)
        if start != 8 or size == 0:  # nothing a matrix needs (and 0 would inflate it all)
            return kind, b""
        body = inflater.decompress(inflater.unconsumed_tail, size)
    except zlib.error as error:
        raise MatFileError(f"holds a compressed element that does not inflate ({error})"
                           ) from error
    if len(body) < size:
        raise MatFileError("holds a compressed element shorter than its tag says")
    return kind, body


def sub_elements(element: bytes, byte_order: str) -> list[tuple[int, bytes]]:
    """A matrix element's parts, in order, as (type, data)."""
    parts, offset = [], 0
    while offset + 8 <= len(element):
        kind, size, start, offset = element_tag(element, offset, byte_order)
        if start + size > len(element):
            raise MatFileError("holds a matrix whose parts overrun it")
        parts.append((kind, element[start:start + size]))
    return parts


def matrix_element(element: bytes, byte_order: str, wanted: str
                   ) -> tuple[str, np.ndarray | None]:
    """The matrix's name, and the matrix itself if it is the one ``wanted``."""
    parts = sub_elements(element, byte_order)
    if len(parts) < 3 or parts[0][0] != MI_UINT32 or parts[1][0] != MI_INT32:
        raise MatFileError("holds a matrix without flags, dimensions and name")
    flags = struct.unpack_from(byte_order + "I", parts[0][1])[0] if len(parts[0][1]) >= 4 else 0
    name = parts[2][1].decode("latin-1") if parts[2][0] == MI_INT8 else ""
    if name != wanted:
        return name, None
    matrix_class = flags & 0xFF
    if matrix_class not in NUMERIC_CLASSES:
        what = OTHER_CLASSES.get(matrix_class, f"of class {matrix_class}")
        raise MatFileError(f"holds {name!r} as {what}, not a numeric matrix")
    if flags & COMPLEX_FLAG:
        raise MatFileError(f"holds {name!r} as a complex matrix, not a real one")
    shape = tuple(int(d) for d in np.frombuffer(parts[1][1], byte_order + "i4"))
    if len(parts) < 4 or parts[3][0] not in STORAGE_TYPES or any(d < 0 for d in shape):
        raise MatFileError(f"holds {name!r} with no readable numbers")
    values = np.frombuffer(parts[3][1], byte_order + STORAGE_TYPES[parts[3][0]])
    if values.size != int(np.prod(shape, dtype=np.int64)):
        raise MatFileError(f"holds {name!r} with {values.size} numbers for a "
                           f"{'x'.join(map(str, shape))} matrix")
    kind = NUMERIC_CLASSES[matrix_class]
    return name, values.astype(np.dtype(kind).newbyteorder("=")).reshape(shape, order="F")
