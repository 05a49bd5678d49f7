"""
=======================================================
Evaluating and comparing COVID-19 classifiers honestly
=======================================================

A reported accuracy means little without its uncertainty, and "model A beats model B"
needs a paired test on the same samples. This example uses a small synthetic problem
(so it runs in seconds) shaped like a scan table: several scans per patient, two
modalities, string labels ``"COVID"`` / ``"Non_COVID"``. It shows

1. :func:`~skcovid.metrics.clinical_report`: clinical metrics with bootstrap confidence
   intervals that resample *patients*, per modality;
2. :func:`~skcovid.stats.mcnemar_test` and :func:`~skcovid.stats.delong_test`: two
   models on the same held-out scans;
3. :func:`~skcovid.stats.compare_estimators`: several models on the same patient-grouped
   cross-validation folds;
4. :class:`~skcovid.plotting.RocCurveDisplay`: ROC curves with the DeLong CI of the AUC.
"""

# %%
# A scan table: 3 scans per patient, two modalities
# -------------------------------------------------
# Features stand in for image embeddings. Scans of one patient share the label and
# are correlated, which is why evaluation must keep patients together.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.naive_bayes import GaussianNB

from skcovid.metrics import clinical_report
from skcovid.plotting import RocCurveDisplay
from skcovid.stats import compare_estimators, delong_test, mcnemar_test

rng = np.random.RandomState(0)
n_patients, scans_per_patient = 200, 3
X_patient, y_patient = make_classification(
    n_samples=n_patients, n_features=10, n_informative=4, weights=[0.6], random_state=0
)
patient = np.repeat(np.arange(n_patients), scans_per_patient)
X = X_patient[patient] + rng.normal(scale=0.8, size=(len(patient), 10))
y = np.where(y_patient[patient] == 1, "COVID", "Non_COVID")
modality = np.where(rng.rand(len(patient)) < 0.5, "xray", "ct")
X = pd.DataFrame(X, columns=[f"embedding_{i}" for i in range(10)])

# %%
# Hold out 30 % of the *patients* for testing.
train, test = next(GroupShuffleSplit(test_size=0.3, random_state=0).split(X, y, patient))
logreg = LogisticRegression(solver="liblinear").fit(X.iloc[train], y[train])
forest = RandomForestClassifier(n_estimators=100, max_depth=4, random_state=0)
forest.fit(X.iloc[train], y[train])
covid = list(logreg.classes_).index("COVID")
score_logreg = logreg.predict_proba(X.iloc[test])[:, covid]
score_forest = forest.predict_proba(X.iloc[test])[:, covid]

# %%
# Clinical report with patient-level (cluster) bootstrap, per modality
# --------------------------------------------------------------------
# ``groups`` makes the bootstrap draw patients, not scans; ``by`` gives one block per
# modality. String labels need ``pos_label``.
report = clinical_report(
    y[test],
    score_logreg,
    pos_label="COVID",
    groups=patient[test],
    by=modality[test],
    n_bootstraps=1000,
    random_state=0,
)
print(report.round(3).to_string(index=False))

# %%
# Ignoring the patients makes the intervals look narrower than they are:
naive = clinical_report(
    y[test], score_logreg, pos_label="COVID", n_bootstraps=1000, random_state=0
).set_index("metric")
clustered = clinical_report(
    y[test], score_logreg, pos_label="COVID", groups=patient[test], n_bootstraps=1000, random_state=0
).set_index("metric")
for name, table in (("scans", naive), ("patients", clustered)):
    low, high = table.loc["sensitivity", ["ci_low", "ci_high"]]
    print(f"sensitivity CI resampling {name}: [{low:.3f}, {high:.3f}]")

# %%
# Two models on the same test scans: McNemar and DeLong
# -----------------------------------------------------
# McNemar compares the error rates from the discordant predictions; DeLong compares
# the correlated ROC AUCs. (Both treat scans as independent; with several scans per
# patient, prefer ``compare_estimators`` with ``groups`` below.)
mcnemar = mcnemar_test(y[test], logreg.predict(X.iloc[test]), forest.predict(X.iloc[test]))
print(f"McNemar ({mcnemar.method}): b={mcnemar.b}, c={mcnemar.c}, p={mcnemar.pvalue:.3f}")
delong = delong_test(y[test], score_logreg, score_forest, pos_label="COVID")
print(
    f"AUC logreg {delong.auc_a:.3f} {np.round(delong.auc_a_ci, 3)}, "
    f"forest {delong.auc_b:.3f} {np.round(delong.auc_b_ci, 3)}, "
    f"z={delong.statistic:.2f}, p={delong.pvalue:.3f}"
)

# %%
# Several models on the same patient-grouped folds
# ------------------------------------------------
# Each pair is tested with the corrected resampled t-test (the folds' training sets
# overlap, which a plain t-test ignores) and Holm-corrected; three or more models also
# get a Friedman test with Nemenyi post-hoc.
comparison = compare_estimators(
    {
        "logreg": LogisticRegression(solver="liblinear"),
        "naive_bayes": GaussianNB(),
        "forest": RandomForestClassifier(n_estimators=50, max_depth=4, random_state=0),
        "prior": DummyClassifier(),
    },
    X,
    y,
    cv=5,
    groups=patient,
    scoring="roc_auc",
)
print(comparison.summary.round(3))
print(comparison.pairwise.round(4).to_string(index=False))
print("Friedman p =", round(comparison.friedman.pvalue, 4))

# %%
# ROC curves with the DeLong confidence interval in the legend
# ------------------------------------------------------------
fig, ax = plt.subplots(figsize=(5, 5))
RocCurveDisplay.from_estimator(logreg, X.iloc[test], y[test], pos_label="COVID", ax=ax)
RocCurveDisplay.from_estimator(
    forest, X.iloc[test], y[test], pos_label="COVID", ax=ax, plot_chance_level=True
)
ax.set_title("Held-out patients")
plt.show()
