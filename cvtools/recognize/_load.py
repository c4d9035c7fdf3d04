"""`load`: read back any classifier saved by :meth:`Classifier.save` (it knows every method's class)."""
from __future__ import annotations

import os
from pathlib import Path

from ._cnn import CnnClassifier
from ._model import FORMAT, FORMAT_VERSION, Classifier, HogSvmClassifier
from ._modelfile import Invalid, _short, check_common, model_file_error, read_model_file


def load(path: str | os.PathLike) -> Classifier:
    """Load a classifier saved by :meth:`Classifier.save`.

    The file is data only: a zip of numeric ``.npy`` arrays plus a JSON header, read without
    ``pickle``, so a model file can never execute code. It is checked completely before anything is
    built: the declared array sizes before decompression (at most :data:`MAX_MODEL_BYTES` = 512 MiB
    in all, so a zip bomb is refused unread), the JSON header (an object of at most 4 MiB, nested at
    most 32 deep), the format and version, 2 to 100,000 distinct class names, ``image_size`` sides in
    8..:data:`MAX_IMAGE_SIDE` (1024), ``channels`` 1 or 3, and every array's shape, dtype and
    finiteness against what the method needs (for ``cnn``, the architecture's bounds and every
    weight tensor).

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    ModelFileError
        (a ``ValueError``) Anything else: the message starts "not a valid cvtools model file" and
        says what is wrong.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.npz"; _ = p.write_bytes(b"\\x80\\x04K\\x01.")
    >>> load(p)
    Traceback (most recent call last):
    ...
    cvtools.recognize.ModelFileError: `path` ...bad.npz' is not a valid cvtools model file: not a .npz archive...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {str(path)!r} is not a file.")
    try:
        meta, arrays = read_model_file(path)
        common = check_common(meta, format_name=FORMAT, format_version=FORMAT_VERSION)
        method = meta.get("method")
        if method == "hog-svm":
            return HogSvmClassifier._from_saved(meta, arrays, common)
        if method == "cnn":
            return CnnClassifier._from_saved(meta, arrays, common)
        raise Invalid(f"unknown method {_short(method)}; valid: 'hog-svm', 'cnn'")
    except Invalid as exc:
        raise model_file_error(path, str(exc)) from None
    except OSError as exc:
        raise model_file_error(path, f"it cannot be read: {exc}") from None
