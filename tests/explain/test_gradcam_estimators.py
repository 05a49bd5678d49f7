"""Grad-CAM on skcovid's real image estimators (tiny, one epoch): maps, hooks, state, freezing."""

from __future__ import annotations

import numpy as np
import pytest

from skcovid.explain import GradCAM

KINDS = ("ImageClassifier", "MultiTaskUNet", "DRENetClassifier", "FineTunedEmbedder")


def hook_count(module):
    return sum(len(m._forward_hooks) + len(m._backward_hooks) for m in module.modules())


@pytest.fixture(scope="module")
def scans(tiny):
    return tiny.tiny_scans()


@pytest.fixture(scope="module", params=KINDS)
def fitted(request, tiny, scans):
    return tiny.fit_tiny(request.param, *scans)


def test_maps_for_every_estimator(fitted, scans):
    X = scans[0].iloc[:4]
    module = fitted.module_
    flags = [m.training for m in module.modules()]
    before = hook_count(module)
    proba = fitted.predict_proba(X)
    cam = GradCAM(fitted)
    heatmaps = cam.explain(X)
    assert heatmaps.shape == (4, *fitted.preprocessor_.size_)
    assert heatmaps.dtype == np.float32
    assert 0.0 <= heatmaps.min() and heatmaps.max() <= 1.0
    assert heatmaps.max() == pytest.approx(1.0)  # scaled by the maximum
    assert hook_count(module) == before
    assert [m.training for m in module.modules()] == flags
    np.testing.assert_allclose(cam.explain(X, target="COVID"), cam.explain(X, target=0))
    np.testing.assert_allclose(fitted.predict_proba(X), proba)  # the model is left as it was


def test_unet_explains_the_class_not_the_mask(tiny, scans):
    unet = tiny.fit_tiny("MultiTaskUNet", *scans)
    cam = GradCAM(unet)
    cam.explain(scans[0].iloc[:2])
    assert cam.target_layer_.startswith("encoder")  # never the segmentation head


def test_frozen_backbone_still_gives_maps(tiny, scans):
    clf = tiny.fit_tiny("ImageClassifier", *scans, freeze="backbone")
    flags = {name: p.requires_grad for name, p in clf.module_.named_parameters()}
    assert not any(v for k, v in flags.items() if k.startswith("backbone."))
    heatmaps = GradCAM(clf, target_layer="backbone.layer3").explain(scans[0].iloc[:3], target="Non_COVID")
    assert heatmaps.max() > 0
    assert {name: p.requires_grad for name, p in clf.module_.named_parameters()} == flags


def test_multilabel_image_classifier(tiny, scans):
    X, y = scans
    labels = np.column_stack([y == "COVID", np.arange(len(y)) % 3 == 0]).astype(int)
    clf = tiny.fit_tiny("ImageClassifier", X, labels, multilabel=True)
    cam = GradCAM(clf)
    maps = [cam.explain(X.iloc[:3], target=label) for label in clf.classes_]
    assert all(m.shape == (3, 32, 32) for m in maps)
    np.testing.assert_allclose(cam.explain(X.iloc[:3], target=1), maps[1])
