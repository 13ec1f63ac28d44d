"""XGBoost's classifier, taking the labels as they are in the data ("Adelie", "yes", 3).

XGBClassifier only accepts the classes numbered 0..k-1; every other estimator here takes any
labels. This one numbers them in `fit` and gives them back in `predict` and `classes_`, so that
the pipeline, the API and the ONNX export (whose converter reads `classes_`) see the labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelEncoder
from xgboost import XGBClassifier


class LabelledXGBClassifier(XGBClassifier):
    def fit(self, X, y, **kwargs):  # XGBClassifier's signature
        encoder = LabelEncoder().fit(y)
        self.__dict__.pop("labels_", None)  # while XGBoost fits, classes_ are its 0..k-1
        super().fit(X, encoder.transform(y), **kwargs)
        self.labels_ = encoder.classes_
        return self

    @property
    def classes_(self) -> np.ndarray:
        labels = self.__dict__.get("labels_")
        return labels if labels is not None else super().classes_

    def predict(self, X, **kwargs):
        return self.labels_[np.asarray(super().predict(X, **kwargs), dtype=int)]
