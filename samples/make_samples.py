"""Regenerate the sample images in samples/images from scikit-image's bundled data.

    python samples/make_samples.py

Every image comes from the scikit-image wheel (see samples/README.md for sources and licences).
Re-encoded as JPEG (photos) or PNG (gray) to keep the repository small.
"""
from pathlib import Path

import cv2
import skimage.data as data

OUT = Path(__file__).resolve().parent / "images"

SAMPLES = {
    "people/astronaut.jpg": data.astronaut,
    "animals/chelsea.jpg": data.chelsea,
    "objects/coffee.jpg": data.coffee,
    "objects/rocket.jpg": data.rocket,
    "gray/camera.png": data.camera,
    "gray/coins.png": data.coins,
}


def main() -> None:
    for rel, loader in SAMPLES.items():
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        image = loader()
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix == ".jpg" else []
        cv2.imwrite(str(path), image, params)
        print(path.relative_to(OUT.parent), path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
