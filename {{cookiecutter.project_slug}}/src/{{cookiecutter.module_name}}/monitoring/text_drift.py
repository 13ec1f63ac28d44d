"""Drift of a free-text column: can a classifier tell the batch's text from the reference's?

Each side's text becomes TF-IDF (the model's tokens: modeling/features.py) plus its length in
words; a logistic regression learns which side a row came from, scored out of fold. Its ROC AUC
is the effect (0.5: indistinguishable, 1: nothing alike), and since AUC is the Mann-Whitney U
of those scores divided by n*m, scipy's test of U gives the p-value. Words that change, words
that change share, and a change of length all move it; so does a new topic with known words,
which the unknown-words check cannot see. At most TEXT_ROWS rows a side are used, so the cost
stays a second or two at any batch size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from ..dataset.schema import words_per_value
from ..modeling.features import TOKEN_PATTERN, as_documents
from .drift import Drift, numeric_drift

TEXT_ROWS = 5000  # rows sampled per side
VOCABULARY = 20_000  # words kept, the most frequent over both samples
FOLDS = 5
MIN_ROWS = 2 * FOLDS  # per side; fewer and only the length is tested


def text_drift(reference: pd.Series, current: pd.Series, seed: int = 0) -> Drift:
    """The domain classifier's AUC and p-value; the length test's figures in `extra`.

    Missing values are left out first. With fewer than MIN_ROWS texts on a side, the drift is
    that of the length in words alone (the KS test and Wasserstein distance of numeric columns).
    """
    reference, current = reference.dropna(), current.dropna()
    length = numeric_drift(words_per_value(reference), words_per_value(current))
    length_figures = {
        "words_ks": length.statistic,
        "words_p_value": length.p_value,
        "words_wasserstein_norm": length.effect,
    }
    if min(len(reference), len(current)) < MIN_ROWS:
        return length
    rng = np.random.default_rng(seed)
    reference = _sample(reference, rng)
    current = _sample(current, rng)
    documents = np.concatenate([as_documents(reference), as_documents(current)])
    try:
        words = TfidfVectorizer(token_pattern=TOKEN_PATTERN, max_features=VOCABULARY, min_df=2)
        tfidf = words.fit_transform(documents)
    except ValueError:  # no word seen twice (digits, symbols): the length is all there is
        return length
    counts = np.log1p(np.concatenate([words_per_value(reference), words_per_value(current)]))
    spread = counts.std() or 1.0
    features = sparse.hstack([tfidf, ((counts - counts.mean()) / spread)[:, None]]).tocsr()
    side = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(max_iter=1000), features, side, cv=folds, method="decision_function"
    )
    test = stats.mannwhitneyu(scores[side == 1], scores[side == 0], alternative="greater")
    auc = float(test.statistic) / (len(reference) * len(current))
    return Drift(
        "domain_classifier",
        auc,
        float(test.pvalue),
        "auc",
        auc,
        {**length_figures, "rows_compared": len(side)},
    )


def _sample(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    if len(values) <= TEXT_ROWS:
        return values
    return values.iloc[np.sort(rng.choice(len(values), TEXT_ROWS, replace=False))]
