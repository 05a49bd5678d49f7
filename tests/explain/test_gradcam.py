"""Grad-CAM: localisation of a synthetic lesion, targets, layers, hooks and module state."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from torch import nn

from skcovid.explain import GradCAM


def hook_counts(module):
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
               for m in module.modules())


def lesion_mass(heatmaps, centres, radius):
    """Fraction of each heatmap's mass within ``radius`` of the lesion centre."""
    size = heatmaps.shape[-1]
    rows, cols = np.mgrid[:size, :size]
    inside = [((rows - r) ** 2 + (cols - c) ** 2 <= radius**2) for r, c in centres]
    return np.array([h[m].sum() / max(h.sum(), 1e-12) for h, m in zip(heatmaps, inside)]), inside


def test_heatmap_peaks_on_the_lesion(trained_blob_standin, blob_data):
    images, labels, centres, radius = blob_data
    covid = labels == "COVID"
    cam = GradCAM(trained_blob_standin)
    heatmaps = cam.explain(images[covid], target="COVID")
    assert heatmaps.shape == (covid.sum(), 48, 48)
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    mass, inside = lesion_mass(heatmaps, centres[covid], 2 * radius)
    chance = np.mean([m.mean() for m in inside])  # ~0.09 of the image
    assert mass.mean() > 4 * chance, (mass.mean(), chance)
    peaks = [np.unravel_index(np.argmax(h), h.shape) for h in heatmaps]
    hits = [m[p] for m, p in zip(inside, peaks)]
    assert np.mean(hits) >= 0.8


def test_targets_by_label_index_none_and_per_scan(trained_blob_standin, blob_data):
    images = blob_data[0][:4]
    cam = GradCAM(trained_blob_standin)
    by_label = cam.explain(images, target="COVID")
    np.testing.assert_allclose(cam.explain(images, target=0), by_label)
    np.testing.assert_allclose(cam.explain(images, target=["COVID", 0, "COVID", 0]), by_label)
    predicted = cam.explain(images)  # scans 0, 2 are COVID, 1, 3 not
    np.testing.assert_allclose(predicted[[0, 2]], by_label[[0, 2]])
    assert not np.allclose(predicted[[1, 3]], by_label[[1, 3]])
    with pytest.raises(ValueError, match="Unknown target 'Flu'"):
        cam.explain(images, target="Flu")
    with pytest.raises(ValueError, match="2 targets for 4 scans"):
        cam.explain(images, target=["COVID", 0])


def test_original_size_returns_one_map_per_scan_at_its_size(trained_blob_standin):
    scans = [np.zeros((60, 80), dtype=np.uint8), np.full((30, 20), 200, dtype=np.uint8)]
    maps = GradCAM(trained_blob_standin).explain(scans, original_size=True)
    assert [m.shape for m in maps] == [(60, 80), (30, 20)]
    assert all(m.min() >= 0 and m.max() <= 1 for m in maps)


def test_hooks_removed_and_state_restored_after_success_and_error(two_head_standin):
    estimator = two_head_standin()
    module = estimator.module_
    module.train()
    module.encoder[1].eval()  # a mixed train/eval state must come back as it was
    flags = [m.training for m in module.modules()]
    before = hook_counts(module)
    images = np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8)
    GradCAM(estimator).explain(images)
    assert hook_counts(module) == before == 0
    assert [m.training for m in module.modules()] == flags
    module.fail = True
    with pytest.raises(RuntimeError, match="on purpose"):
        GradCAM(estimator, target_layer="encoder.3").explain(images)
    assert hook_counts(module) == before
    assert [m.training for m in module.modules()] == flags
    with pytest.raises(RuntimeError, match="on purpose"):
        GradCAM(estimator).explain(images)  # the automatic layer search fails too
    assert hook_counts(module) == before


def test_frozen_layers_still_give_a_map_and_flags_are_kept(two_head_standin):
    estimator = two_head_standin()
    for parameter in estimator.module_.parameters():
        parameter.requires_grad_(False)
    images = np.random.default_rng(1).integers(0, 255, (2, 40, 40), dtype=np.uint8)
    heatmaps = GradCAM(estimator).explain(images, target=1)
    assert heatmaps.max() > 0
    assert not any(p.requires_grad for p in estimator.module_.parameters())
    assert all(p.grad is None for p in estimator.module_.parameters())


def test_tuple_output_uses_a_layer_the_class_depends_on(two_head_standin):
    estimator = two_head_standin()
    cam = GradCAM(estimator)
    heatmaps = cam.explain(np.zeros((2, 32, 32), dtype=np.uint8) + 90)
    assert cam.target_layer_ == "encoder.3"  # not the segmentation conv "seg"
    assert heatmaps.shape == (2, 32, 32)
    copy = pickle.loads(pickle.dumps(cam))  # the cached layer (a weak reference) is dropped
    np.testing.assert_allclose(copy.explain(np.zeros((2, 32, 32), dtype=np.uint8) + 90), heatmaps)


def test_multilabel_target_is_a_label(two_head_standin):
    estimator = two_head_standin(multilabel=True, n_classes=3)
    images = np.random.default_rng(2).integers(0, 255, (2, 32, 32), dtype=np.uint8)
    cam = GradCAM(estimator)
    maps = {label: cam.explain(images, target=label) for label in estimator.classes_}
    assert not np.allclose(maps["COVID"], maps["Other"])
    np.testing.assert_allclose(cam.explain(images, target=2), maps["Other"])


def test_target_layer_by_name_or_module_and_errors(two_head_standin):
    estimator = two_head_standin()
    images = np.zeros((1, 32, 32), dtype=np.uint8)
    by_name = GradCAM(estimator, target_layer="encoder.0").explain(images, target=0)
    by_module = GradCAM(estimator, target_layer=estimator.module_.encoder[0]).explain(images, target=0)
    np.testing.assert_allclose(by_name, by_module)
    with pytest.raises(ValueError, match="no layer named 'layer9'.*encoder"):
        GradCAM(estimator, target_layer="layer9").explain(images)
    with pytest.raises(ValueError, match="not a submodule"):
        GradCAM(estimator, target_layer=nn.Conv2d(3, 3, 1)).explain(images)
    with pytest.raises(ValueError, match="feature maps"):
        GradCAM(estimator, target_layer="head").explain(images)
    with pytest.raises(TypeError, match="ImageClassifier.*module_"):
        GradCAM(object()).explain(images)
