"""`cvtools train DATA -o MODEL [--method hog-svm|cnn]`: train a classifier on a folder."""
from __future__ import annotations

import json
import sys

from ._common import add_device, usage_errors


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train an image classifier on a folder of class sub-folders",
        description="Train a classifier on DATA laid out as DATA/<class>/<image> and save it to MODEL "
                    "(a .npz of plain arrays + JSON: loading it can never run code). hog-svm: HOG + "
                    "linear SVM (fast, few images needed); cnn: a small residual network trained on the "
                    "CPU with augmentation and early stopping (needs torch and albumentations).",
        epilog="Example: cvtools train photos/ -o pets.npz --method cnn --epochs 40. "
               "Exit codes: 0 ok, 1 training failed, 2 usage error, 130 interrupted.")
    p.add_argument("data", metavar="DATA", help="folder with one sub-folder of images per class")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="where to write the model (.npz)")
    p.add_argument("--method", choices=["hog-svm", "cnn"], default="hog-svm", help="default hog-svm")
    p.add_argument("--image-size", type=int, default=64, metavar="PX", help="resize images to PX x PX (default 64)")
    p.add_argument("--val-split", type=float, default=0.2, metavar="F",
                   help="fraction held out for validation / early stopping (default 0.2; 0 = none)")
    p.add_argument("--kfold", type=int, default=None, metavar="K", help="also report K-fold cross-validation")
    p.add_argument("--epochs", type=int, default=30, help="cnn: most epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=32, help="cnn: batch size (default 32)")
    p.add_argument("--patience", type=int, default=5, help="cnn: early-stopping patience in epochs (default 5)")
    p.add_argument("--no-augment", action="store_true", help="cnn: no augmentation")
    p.add_argument("--no-flip", action="store_true", help="cnn: no horizontal flips (text, digits, ...)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_device(p, "cnn")
    p.add_argument("--json", action="store_true", help="print the training summary as one JSON line")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar; print nothing on success")
    p.set_defaults(func=run)


def run(args) -> int:
    from cvtools.recognize import train

    options = {} if args.device is None else {"device": args.device}
    # recognize.train checks its arguments and the DATA layout before any work, with ValueErrors that
    # name them: each is the user's to fix (--debug shows where one came from)
    with usage_errors():
        clf = train(args.data, args.method, image_size=args.image_size, seed=args.seed, val_split=args.val_split,
                    kfold=args.kfold, epochs=args.epochs, batch_size=args.batch_size, patience=args.patience,
                    augment=not args.no_augment, flip=not args.no_flip, progress=None if not args.quiet else False,
                    **options)
    clf.save(args.output)
    info = {k: v for k, v in clf.info.items() if k != "history"}
    summary = {"model": str(args.output), "method": clf.method, "classes": clf.classes,
               "image_size": list(clf.image_size), "channels": clf.channels, **info}
    if args.json:
        print(json.dumps(summary))
    elif not args.quiet:
        print(f"trained {clf.method} on {info['n_train']} images of {len(clf.classes)} classes "
              f"({', '.join(clf.classes[:8])}{' ...' if len(clf.classes) > 8 else ''}) "
              f"in {info['train_seconds']:.1f} s")
        if "val_accuracy" in info:
            print(f"validation accuracy {info['val_accuracy']:.3f} on {info['n_val']} images")
        if "cv_mean" in info:
            print(f"{info['cv_folds']}-fold cross-validation accuracy {info['cv_mean']:.3f} "
                  f"+- {info['cv_std']:.3f}")
        print(f"saved {args.output}")
    sys.stdout.flush()
    return 0
