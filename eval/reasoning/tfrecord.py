# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""A minimal reader for TFRecord files of `tf.train.Example`s, without TensorFlow.

ERQA is published as one TFRecord (`data/erqa.tfrecord`). TensorFlow is a multi-gigabyte dependency for reading 400
records, so this module decodes the two formats involved directly:

* TFRecord framing: `uint64 length | uint32 masked CRC of length | data | uint32 masked CRC of data` (little-endian);
  the CRCs are not verified (a corrupt record shows up as a protobuf decoding error instead).
* `tf.train.Example` protobuf: `Example{1: Features{1: map<string, Feature>}}`, `Feature{1: BytesList, 2: FloatList,
  3: Int64List}`, each list holding field 1 (packed or not).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path


class TFRecordError(ValueError):
    """A TFRecord file or an Example record that cannot be decoded."""


def read_records(path: str | Path) -> Iterator[bytes]:
    """The raw records of a TFRecord file, in order. A truncated last record raises `TFRecordError`."""
    with open(path, "rb") as handle:
        while True:
            header = handle.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(f"{path}: truncated record header")
            (length,) = struct.unpack("<Q", header[:8])
            data = handle.read(length)
            if len(data) < length or len(handle.read(4)) < 4:
                raise TFRecordError(f"{path}: truncated record (expected {length} bytes)")
            yield data


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(buffer):
            raise TFRecordError("truncated varint")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 70:
            raise TFRecordError("varint too long")


def _fields(buffer: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of a protobuf message; length-delimited values are bytes."""
    position = 0
    while position < len(buffer):
        key, position = _varint(buffer, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 1:
            value, position = buffer[position : position + 8], position + 8
        elif wire == 2:
            length, position = _varint(buffer, position)
            value, position = buffer[position : position + length], position + length
            if len(value) < length:
                raise TFRecordError("truncated length-delimited field")
        elif wire == 5:
            value, position = buffer[position : position + 4], position + 4
        else:
            raise TFRecordError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature_values(feature: bytes) -> list:
    for kind, _, payload in _fields(feature):
        values: list = []
        for number, wire, value in _fields(payload):
            if number != 1:
                continue
            if kind == 1:  # BytesList
                values.append(bytes(value))
            elif kind == 2:  # FloatList
                if wire == 2:
                    values.extend(struct.unpack(f"<{len(value) // 4}f", value))
                else:
                    values.append(struct.unpack("<f", value)[0])
            elif kind == 3:  # Int64List
                if wire == 2:
                    position = 0
                    while position < len(value):
                        number_value, position = _varint(value, position)
                        values.append(_signed64(number_value))
                else:
                    values.append(_signed64(value))
        return values
    return []


def parse_example(record: bytes) -> dict[str, list]:
    """A `tf.train.Example` as `{feature name: list of values}` (bytes, floats or ints)."""
    features: dict[str, list] = {}
    for number, _, features_message in _fields(record):
        if number != 1:
            continue
        for entry_number, _, entry in _fields(features_message):
            if entry_number != 1:
                continue
            key, value = None, b""
            for field_number, _, field_value in _fields(entry):
                if field_number == 1:
                    key = bytes(field_value).decode("utf-8")
                elif field_number == 2:
                    value = bytes(field_value)
            if key is not None:
                features[key] = _feature_values(value)
    return features
