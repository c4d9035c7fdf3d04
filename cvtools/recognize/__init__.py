"""Recognition: "what class is it?" — classifiers trained on your own image folders.

* :func:`train` fits a classifier on ``root/<class>/<image>``: ``"hog-svm"`` (HOG + linear SVM,
  scikit-learn) or ``"cnn"`` (a small residual network in torch, CPU, with augmentation and
  early stopping); :func:`load` reads a saved one back (data only: never a pickle).
* :meth:`Classifier.predict` gives ``(labels, scores)``, :meth:`Classifier.evaluate` an
  :class:`Evaluation` (confusion matrix, per-class precision/recall/F1, accuracy).
* :func:`classify_detections` labels the crops of a :class:`cvtools.detect.Detections`; :func:`crop_boxes`
  cuts those crops.
* :class:`NoveltyDetector` learns what "normal" looks like and scores how unusual new images
  are; :func:`find_outliers` lists suspicious files (e.g. mislabelled) in a training folder.
* Model files are data only and bounded: :func:`load` refuses anything that is not a valid
  cvtools model file with :class:`ModelFileError` (a ``ValueError``) before building anything.

Images follow the cvtools data contract (numpy ``(H, W)`` / ``(H, W, 3)`` RGB, uint8/uint16/float).
"""
from ._evaluate import Evaluation
from ._features import hog_features
from ._model import Classifier, HogSvmClassifier
from ._load import load
from ._modelfile import ModelFileError
from ._train import train, METHODS
from ._detections import classify_detections, crop_boxes
from ._novelty import NoveltyDetector, find_outliers

from ._cnn import CnnClassifier  # torch is imported only when a CNN is built or trained

__all__ = ["train", "load", "ModelFileError", "Classifier", "HogSvmClassifier", "CnnClassifier", "Evaluation",
           "classify_detections", "crop_boxes", "NoveltyDetector", "find_outliers", "hog_features", "METHODS"]
