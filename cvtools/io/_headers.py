"""What a file declares, read from its header by cvtools itself before any decoder runs.

Every format cvtools reads has a parser here that returns the declared width and height (and what the
decoder choice needs), so the decompression-bomb guard never depends on a third-party parser getting
that far (Pillow gives up on a PNG whose tEXt chunk has a bad CRC, and OpenCV then decodes it in full).
A header that is cut short or malformed raises :class:`ImageReadError`. Nothing here decodes pixels.
"""
from __future__ import annotations

import re
import struct
from typing import NamedTuple

from .._shared import ImageReadError

#: The formats :func:`cvtools.read` accepts, by the names used in messages.
FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PNM", "HDR", "EXR", "AVIF", "JPEG2000")


class Header(NamedTuple):
    format: str
    width: int
    height: int
    info: dict


def sniff(data: bytes) -> str | None:
    """The format of ``data`` from its magic bytes, or None when cvtools does not read it.

    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n...."), sniff(b"hello")
    ('PNG', None)
    """
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:1] == b"P" and head[1:2] in b"123456" and len(head) > 2 and head[2:3].isspace():
        return "PNM"
    if head.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "HDR"
    if head.startswith(b"v/1\x01"):
        return "EXR"
    if head[4:8] == b"ftyp" and _is_avif(data):
        return "AVIF"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG2000"
    return None


def _is_avif(data: bytes) -> bool:
    size = struct.unpack(">I", data[:4])[0]
    if not 16 <= size <= min(len(data), 4096):
        return False
    brands = data[8:12] + data[16:size]
    return any(brands[i:i + 4] in (b"avif", b"avis") for i in range(0, len(brands) - 3, 4))


def _bad(name: str, fmt: str, what: str):
    return ImageReadError(f"cannot read {name!r}: corrupt or truncated {fmt} header ({what}).")


def read_header(data: bytes, fmt: str, name: str) -> Header:
    """Parse the header of ``data`` (already sniffed as ``fmt``); raise ImageReadError if malformed."""
    try:
        width, height, info = _PARSERS[fmt](data, name)
    except ImageReadError:
        raise
    except (struct.error, IndexError, ValueError, KeyError) as exc:
        raise _bad(name, fmt, f"cut short or malformed: {exc}") from exc
    if width <= 0 or height <= 0:
        raise _bad(name, fmt, f"declares a size of {width}x{height}")
    return Header(fmt, int(width), int(height), info)


# --- PNG ------------------------------------------------------------------------------------------

def _png(data, name):
    # IHDR must be the first chunk; its CRC and every later chunk are the decoder's business.
    if data[12:16] != b"IHDR" or len(data) < 33:
        raise _bad(name, "PNG", "no IHDR chunk first")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, {"bit_depth": depth, "colour_type": colour, "exif": _png_has_chunk(data, b"eXIf")}


def _png_has_chunk(data: bytes, kind: bytes) -> bool:
    """Jump from chunk to chunk (a few hundred steps for a large image) looking for ``kind``."""
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == kind:
            return True
        pos += 12 + length
    return False


# --- JPEG -----------------------------------------------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
def _scan_end(data: bytes, start: int) -> tuple[int, int]:
    """Where the entropy-coded segment from ``start`` ends, and how many restart markers it holds.

    It ends at the first 0xFF (after any fill 0xFFs) followed by neither a stuffed 0x00 nor a
    restart marker (0xD0-0xD7). bytes.find jumps between 0xFF bytes at C speed.
    """
    n = len(data)
    restarts = 0
    pos = data.find(b"\xff", start)
    while pos >= 0:
        nxt = pos + 1
        while nxt < n and data[nxt] == 0xFF:
            nxt += 1
        if nxt >= n:
            return pos, restarts
        code = data[nxt]
        if 0xD0 <= code <= 0xD7:
            restarts += 1
        elif code != 0x00:
            return pos, restarts
        pos = data.find(b"\xff", nxt + 1)
    return n, restarts


def _jpeg(data, name):
    """Walk the markers: the frame header (size, sampling), restart interval and every scan."""
    n = len(data)
    pos = 2
    frame = None
    restart = 0
    scans = []
    eoi = False
    while pos < n:
        if data[pos] != 0xFF:  # garbage between segments: libjpeg skips it with a warning, so do we
            nxt = data.find(b"\xff", pos)
            if nxt < 0:
                break
            pos = nxt
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            eoi = True
            break
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            continue
        if pos + 2 > n:
            raise _bad(name, "JPEG", "a segment is cut short")
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        seg = data[pos + 2:pos + length]
        if length < 2 or len(seg) < length - 2:
            raise _bad(name, "JPEG", "a segment is cut short")
        if marker in _SOF and frame is None:
            precision, height, width, ncomp = struct.unpack(">BHHB", seg[:6])
            comps = {}
            for i in range(ncomp):
                cid, hv = seg[6 + 3 * i], seg[7 + 3 * i]
                comps[cid] = (max(1, hv >> 4), max(1, hv & 15))
            frame = {"marker": marker, "width": width, "height": height, "components": comps,
                     "progressive": marker in (0xC2, 0xC6, 0xCA, 0xCE),
                     "arithmetic": marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF),
                     "lossless": marker in (0xC3, 0xC7, 0xCB, 0xCF)}
            if height == 0:
                raise _bad(name, "JPEG", "height 0 (DNL marker), which is not supported")
        elif marker == 0xDD:
            restart = struct.unpack(">H", seg[:2])[0]
        elif marker == 0xDA:
            if frame is None:
                raise _bad(name, "JPEG", "a scan before the frame header")
            ns = seg[0]
            ids = [seg[1 + 2 * i] for i in range(ns)]
            ss, se, a = seg[1 + 2 * ns], seg[2 + 2 * ns], seg[3 + 2 * ns]
            start = pos + length
            end, restarts = _scan_end(data, start)
            scans.append({"ids": ids, "ss": ss, "se": se, "ah": a >> 4, "start": start, "end": end,
                          "restart": restart, "rst": restarts})
            pos = end
            continue
        pos += length
    if frame is None:
        raise _bad(name, "JPEG", "no frame header (SOF) before the image data")
    return frame["width"], frame["height"], {"frame": frame, "scans": scans, "eoi": eoi}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def jpeg_scan_problem(header: Header) -> str | None:
    """Why the scans cannot hold the declared image (cut short), or None when they may.

    Two checks that need no decoding: a scan with restart markers must have one per restart
    interval; and Huffman coding spends at least one bit per 8x8 block on its DC coefficient (and
    one more on its AC coefficients or end-of-block in a sequential scan), so a scan shorter than
    that cannot cover the declared size: a few hundred bytes cannot hold a 16000x16000 image.
    """
    frame, scans = header.info["frame"], header.info["scans"]
    if not scans:
        return "no image data (no start-of-scan)"
    if frame["lossless"]:
        return None
    comps = frame["components"]
    hmax = max(h for h, v in comps.values())
    vmax = max(v for h, v in comps.values())
    width, height = frame["width"], frame["height"]
    mcux, mcuy = _cdiv(width, 8 * hmax), _cdiv(height, 8 * vmax)
    for scan in scans:
        ids = [i for i in scan["ids"] if i in comps]
        if not ids:
            return "a scan names no component of the frame"
        if len(ids) == 1:
            h, v = comps[ids[0]]
            units = _cdiv(_cdiv(width * h, hmax), 8) * _cdiv(_cdiv(height * v, vmax), 8)
            blocks = units
        else:
            units = mcux * mcuy
            blocks = units * sum(comps[i][0] * comps[i][1] for i in ids)
        if scan["restart"] and scan["rst"] < _cdiv(units, scan["restart"]) - 1:
            return (f"a scan has {scan['rst']} restart markers where {_cdiv(units, scan['restart']) - 1} "
                    f"are needed")
        if frame["arithmetic"]:
            continue
        if not frame["progressive"]:
            bits = 2
        elif scan["ss"] == 0:
            bits = 1  # DC first scan: a Huffman code per block; DC refinement: one bit per block
        else:
            bits = 0  # AC scans can skip runs of blocks with one end-of-band code
        if blocks * bits > 8 * (scan["end"] - scan["start"]):
            return (f"{scan['end'] - scan['start']} bytes of scan data cannot hold the "
                    f"{blocks:,} blocks of a {width}x{height} image")
    return None


# --- TIFF -----------------------------------------------------------------------------------------

_TIFF_TYPES = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4), 6: ("b", 1), 8: ("h", 2), 9: ("i", 4), 16: ("Q", 8),
               17: ("q", 8), 13: ("I", 4), 18: ("Q", 8)}
_TIFF_TAGS = {256: "width", 257: "height", 258: "bits", 259: "compression", 262: "photometric",
              274: "orientation", 277: "samples", 284: "planar", 338: "extra_samples", 339: "sample_format"}


def tiff_ifds(data: bytes, name: str, *, limit: int | None = 1) -> list[dict]:
    """The tags cvtools needs from each IFD (page) of a TIFF, first ``limit`` pages (None: all)."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    if big:
        offset = struct.unpack(order + "Q", data[8:16])[0]
    else:
        offset = struct.unpack(order + "I", data[4:8])[0]
    ifds, seen = [], set()
    while offset and (limit is None or len(ifds) < limit):
        if offset in seen:
            break  # a loop in the IFD chain: stop at the pages already seen
        seen.add(offset)
        if big:
            count = struct.unpack(order + "Q", data[offset:offset + 8])[0]
            pos, entry, inline, cfmt = offset + 8, 20, 8, "Q"
        else:
            count = struct.unpack(order + "H", data[offset:offset + 2])[0]
            pos, entry, inline, cfmt = offset + 2, 12, 4, "I"
        if pos + count * entry > len(data):
            raise _bad(name, "TIFF", "an image file directory runs past the end of the file")
        tags = {"order": order}
        for i in range(count):
            e = pos + i * entry
            tag, typ = struct.unpack(order + "HH", data[e:e + 4])
            key = _TIFF_TAGS.get(tag)
            if key is None or typ not in _TIFF_TYPES:
                continue
            num = struct.unpack(order + cfmt, data[e + 4:e + 4 + inline])[0]
            code, size = _TIFF_TYPES[typ]
            num = min(num, 64)  # cvtools needs at most a few values per tag
            at = e + 4 + (8 if big else 4)
            if num * size > inline:
                at = struct.unpack(order + cfmt, data[at:at + inline])[0]
            values = struct.unpack(order + code * num, data[at:at + num * size])
            tags[key] = values
            if key == "orientation" and typ == 3 and num == 1 and at == e + 4 + (8 if big else 4):
                tags["orientation_at"] = at
        if "width" not in tags or "height" not in tags:
            raise _bad(name, "TIFF", "a page without width or height")
        ifds.append(tags)
        nxt = pos + count * entry
        offset = struct.unpack(order + cfmt, data[nxt:nxt + inline])[0]
    if not ifds:
        raise _bad(name, "TIFF", "no image file directory")
    return ifds


def _tiff(data, name):
    tags = tiff_ifds(data, name, limit=1)[0]
    return tags["width"][0], tags["height"][0], {"ifd": tags}


def tiff_without_orientation(data: bytes, ifds: list[dict]) -> bytes:
    """A copy of ``data`` with every page's Orientation tag set to 1 (top-left).

    OpenCV's TIFF decoder applies the tag even with IMREAD_IGNORE_ORIENTATION; cvtools applies it
    itself (once), so the decoder must not see it.
    """
    patched = None
    for tags in ifds:
        at = tags.get("orientation_at")
        if at is not None and tags["orientation"][0] != 1:
            patched = bytearray(data) if patched is None else patched
            patched[at:at + 2] = struct.pack(tags["order"] + "H", 1)
    return data if patched is None else bytes(patched)


# --- BMP ------------------------------------------------------------------------------------------

def _bmp(data, name):
    size = struct.unpack("<I", data[14:18])[0]
    if size == 12:
        width, height, planes, bpp = struct.unpack("<HHHH", data[18:26])
        compression = 0
    elif size in (16, 40, 52, 56, 64, 108, 124):
        width, height, planes, bpp = struct.unpack("<iiHH", data[18:30])
        compression = struct.unpack("<I", data[30:34])[0] if size >= 20 else 0
    else:
        raise _bad(name, "BMP", f"unknown info header size {size}")
    return width, abs(height), {"bpp": bpp, "compression": compression, "header_size": size}


# --- GIF ------------------------------------------------------------------------------------------

def _gif(data, name):
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    n = len(data)
    while pos < n:  # to the first image: a frame larger than the screen grows the canvas
        kind = data[pos]
        if kind == 0x2C:
            left, top, w, h = struct.unpack("<HHHH", data[pos + 1:pos + 9])
            width, height = max(width, left + w), max(height, top + h)
            break
        if kind == 0x21:
            pos += 2
            while pos < n and data[pos]:
                pos += data[pos] + 1
            pos += 1
            continue
        break
    return width, height, {}


# --- WebP -----------------------------------------------------------------------------------------

def _webp(data, name):
    kind, body = data[12:16], data[20:]
    if kind == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise _bad(name, "WEBP", "no VP8 start code")
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF, {"kind": "lossy"}
    if kind == b"VP8L":
        if body[0] != 0x2F:
            raise _bad(name, "WEBP", "no VP8L signature")
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, {"kind": "lossless"}
    if kind == b"VP8X":
        w = int.from_bytes(body[4:7], "little") + 1
        h = int.from_bytes(body[7:10], "little") + 1
        return w, h, {"kind": "extended"}
    raise _bad(name, "WEBP", f"unknown first chunk {kind!r}")


# --- PNM (PBM/PGM/PPM) ----------------------------------------------------------------------------

def _pnm(data, name):
    tokens, pos, n = [], 2, min(len(data), 4096)
    want = 2 if data[1:2] in b"14" else 3
    while len(tokens) < want:
        while pos < n and (data[pos:pos + 1].isspace() or data[pos] == 0x23):
            if data[pos] == 0x23:  # a comment runs to the end of the line
                while pos < n and data[pos] not in b"\r\n":
                    pos += 1
            else:
                pos += 1
        start = pos
        while pos < n and data[pos:pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise _bad(name, "PNM", "width, height or maximum value missing")
        tokens.append(int(data[start:pos]))
    return tokens[0], tokens[1], {"maxval": tokens[2] if want == 3 else 1}


# --- Radiance HDR ---------------------------------------------------------------------------------

_HDR_SIZE = re.compile(rb"([-+])([XY]) +(\d+) +([-+])([XY]) +(\d+)")


def _hdr(data, name):
    end = data.find(b"\n\n", 0, 65536)
    if end < 0:
        raise _bad(name, "HDR", "no end of header")
    m = _HDR_SIZE.match(data, end + 2)
    if not m or m.group(2) == m.group(5):
        raise _bad(name, "HDR", "no resolution line")
    sizes = {m.group(2): int(m.group(3)), m.group(5): int(m.group(6))}
    return sizes[b"X"], sizes[b"Y"], {}


# --- OpenEXR --------------------------------------------------------------------------------------

def _exr(data, name):
    pos, n, boxes = 8, len(data), {}
    for _ in range(1000):
        end = data.index(b"\x00", pos, pos + 256)
        attr = data[pos:end]
        if not attr:
            break
        tend = data.index(b"\x00", end + 1, end + 257)
        size = struct.unpack("<i", data[tend + 1:tend + 5])[0]
        value = tend + 5
        if size < 0 or value + size > n:
            raise _bad(name, "EXR", "an attribute runs past the end of the file")
        if attr in (b"dataWindow", b"displayWindow") and size == 16:
            x0, y0, x1, y1 = struct.unpack("<iiii", data[value:value + 16])
            boxes[attr] = (x1 - x0 + 1, y1 - y0 + 1)
        pos = value + size
    if b"dataWindow" not in boxes:
        raise _bad(name, "EXR", "no dataWindow attribute")
    (w, h), (dw, dh) = boxes[b"dataWindow"], boxes.get(b"displayWindow", (1, 1))
    if w * h < dw * dh:  # a decoder may allocate the display window: guard the larger
        w, h = dw, dh
    return w, h, {}


# --- AVIF (ISO base media file format) ------------------------------------------------------------

def _boxes(data, start, end):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise ValueError(f"box {kind!r} runs past its parent")
        yield kind, pos + head, pos + size
        pos += size


def _avif(data, name):
    sizes, transforms = [], []

    def walk(start, end, depth):
        for kind, body, stop in _boxes(data, start, end):
            if kind == b"meta" and depth < 4:
                walk(body + 4, stop, depth + 1)  # a full box: version and flags first
            elif kind in (b"iprp", b"ipco") and depth < 4:
                walk(body, stop, depth + 1)
            elif kind == b"ispe":
                sizes.append(struct.unpack(">II", data[body + 4:body + 12]))
            elif kind in (b"irot", b"imir"):
                transforms.append(kind.decode())

    walk(0, len(data), 0)
    if not sizes:
        raise _bad(name, "AVIF", "no image spatial extent (ispe) property")
    return max(sizes, key=lambda s: s[0] * s[1]) + ({"transforms": transforms},)


# --- JPEG 2000 ------------------------------------------------------------------------------------

def _jp2(data, name):
    at = data.find(b"\xff\x4f\xff\x51")  # SOC + SIZ of the codestream, in a .jp2 inside its jp2c box
    if at < 0:
        raise _bad(name, "JPEG2000", "no codestream size (SIZ) segment")
    xs, ys, xo, yo = struct.unpack(">IIII", data[at + 8:at + 24])
    return xs - xo, ys - yo, {}


_PARSERS = {"PNG": _png, "JPEG": _jpeg, "TIFF": _tiff, "BMP": _bmp, "GIF": _gif, "WEBP": _webp,
            "PNM": _pnm, "HDR": _hdr, "EXR": _exr, "AVIF": _avif, "JPEG2000": _jp2}
