"""The from-scratch recipe: precision, schedules, label smoothing, AUC early stopping, augmentation, cache."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from skcovid.datasets import make_synthetic_scans
from skcovid.nets import ImageClassifier, ScanAugment
from skcovid.nets._augment import recipe_augmenters
from skcovid.nets._recipe import MemoryCache, RecipeDataset, auc_score, bf16_supported, resolve_precision
from skcovid.preprocessing import ScanPreprocessor
from tests.utils.callbacks import Interrupt, Record

COMMON = {"weights": None, "head_hidden": (8,), "image_size": 32, "batch_size": 8, "random_state": 0,
          "device": "cpu"}


@pytest.fixture(scope="module")
def data():
    bunch = make_synthetic_scans(24, image_size=40, random_state=3)
    return bunch.data, bunch.target.to_numpy()


def _weights_equal(a, b):
    expected = b.module_.state_dict()
    return all(torch.equal(value, expected[key]) for key, value in a.module_.state_dict().items())


# ----------------------------------------------------------------- precision
def test_bf16_runs_the_forward_pass_in_bfloat16_channels_last(data):
    seen = []
    model = ImageClassifier(**COMMON, max_epochs=1, precision="bf16")
    model.fit(*data)
    assert model.precision_ == "bf16"
    conv = model.module_.backbone.conv1 if hasattr(model.module_, "backbone") else next(
        m for m in model.module_.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    hook = conv.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    proba = model.predict_proba(data[0])
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0)
    history = model.history_[-1]
    assert np.isfinite(history["train_loss"]) and np.isfinite(history["valid_loss"])


def test_fp32_stays_float32_and_channels_last_on_the_cpu(data):
    model = ImageClassifier(**COMMON, max_epochs=1).fit(*data)
    seen = []
    conv = next(m for m in model.module_.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    hook = conv.register_forward_hook(lambda module, inputs, output: seen.append(
        (output.dtype, inputs[0].is_contiguous(memory_format=torch.channels_last))))
    model.predict(data[0])
    hook.remove()
    assert model.precision_ == "fp32" and set(seen) == {(torch.float32, True)}


def test_channels_last_only_where_onednn_handles_the_convolutions(data):
    from skcovid.modules import ScanCNN
    from skcovid.modules._unet import MultiTaskUNetModule
    from skcovid.nets import MultiTaskUNet
    from skcovid.nets._callbacks import channels_last_safe

    # a 1x1 stride-2 convolution over fewer than 16 channels crashes oneDNN's channels-last backward
    assert channels_last_safe(ScanCNN(2)) and channels_last_safe(MultiTaskUNetModule())
    assert not channels_last_safe(MultiTaskUNetModule(channels=(4, 8, 16, 32, 64)))
    small = MultiTaskUNet(channels=(4, 8, 16, 32, 64), image_size=32, batch_size=8, max_epochs=1,
                          validation_fraction=None, random_state=0, device="cpu").fit(*data)
    assert not small.net_.channels_last_
    conv = next(m for m in small.module_.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert not conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(small.history_[-1, "train_loss"])


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_follows_the_hardware(monkeypatch, native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert bf16_supported("cpu") is native
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")
    assert resolve_precision("bf16", "cpu") == "bf16" and resolve_precision("fp32", "cpu") == "fp32"


# ----------------------------------------------------------------- schedules
def _batch_lrs(model):
    batches = [batch for epoch in model.history_ for batch in epoch["batches"]]
    return [batch["event_lr"] for batch in batches if "event_lr" in batch]


def test_cosine_schedule_warms_up_then_decays(data):
    lr = 0.01
    model = ImageClassifier(**COMMON, max_epochs=3, lr=lr, lr_schedule="cosine", warmup_epochs=1,
                            patience=None).fit(*data)
    lrs = np.array(_batch_lrs(model))
    per_epoch = len(model.history_[0]["batches"]) - 1  # minus the validation batch
    assert len(lrs) == 3 * per_epoch
    assert lrs[0] == pytest.approx(0.01 * lr)
    assert lrs[per_epoch] == pytest.approx(lr)  # warm-up over, cosine starts at the peak
    assert np.all(np.diff(lrs[:per_epoch + 1]) > 0) and np.all(np.diff(lrs[per_epoch:]) < 0)
    assert lrs[-1] < 0.2 * lr


def test_onecycle_peaks_at_lr(data):
    model = ImageClassifier(**COMMON, max_epochs=2, lr=0.01, lr_schedule="onecycle", warmup_epochs=0.5,
                            patience=None).fit(*data)
    lrs = np.array(_batch_lrs(model))
    assert lrs.max() == pytest.approx(0.01) and lrs[0] < 0.001 and lrs[-1] < 0.002
    assert int(np.argmax(lrs)) == round(0.5 * len(lrs) / 2)  # the peak ends half an epoch of warm-up


def test_without_schedule_the_lr_is_constant(data):
    model = ImageClassifier(**COMMON, max_epochs=1).fit(*data)
    assert _batch_lrs(model) == [] and model.net_.optimizer_.param_groups[0]["lr"] == model.lr


def test_a_scheduled_fit_resumes_exactly(data, tmp_path):
    X, y = data
    params = {**COMMON, "max_epochs": 3, "patience": None, "lr": 0.01, "lr_schedule": "cosine"}
    reference = ImageClassifier(**params, callbacks=[("record", Record())]).fit(X, y)
    interrupted = ImageClassifier(**params, checkpoint=tmp_path,
                                  callbacks=[("record", Record()), ("interrupt", Interrupt(epoch=2))])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(X, y)
    resumed = ImageClassifier(**params, checkpoint=tmp_path, callbacks=[("record", Record())]).fit(X, y)
    assert _batch_lrs(resumed) == pytest.approx(_batch_lrs(reference))
    assert _weights_equal(resumed, reference)


# ----------------------------------------------------------------- loss and early stopping
def test_label_smoothing_reaches_the_loss_and_is_refused_where_it_has_no_meaning(data):
    model = ImageClassifier(**COMMON, max_epochs=1, label_smoothing=0.1).fit(*data)
    assert model.net_.criterion_.label_smoothing == 0.1
    with pytest.raises(ValueError, match="label_smoothing=0.1 applies to single-label"):
        ImageClassifier(**COMMON, loss="focal", label_smoothing=0.1).fit(*data)


def test_auc_score_matches_scikit_learn():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 1, 0, 1, 0])
    logits = rng.normal(size=(6, 2))
    assert auc_score(logits, labels) == pytest.approx(roc_auc_score(labels, logits[:, 1] - logits[:, 0]))
    three = rng.normal(size=(6, 3))
    probs = np.exp(three) / np.exp(three).sum(1, keepdims=True)
    labels3 = np.array([0, 1, 2, 0, 1, 2])
    assert auc_score(three, labels3) == pytest.approx(roc_auc_score(labels3, probs, multi_class="ovr"))
    assert np.isnan(auc_score(logits, np.zeros(6, dtype=int)))


def test_early_stopping_on_valid_auc_keeps_the_best_auc_epoch(data):
    model = ImageClassifier(**COMMON, max_epochs=6, lr=0.01, monitor="valid_auc", patience=2,
                            validation_fraction=0.3).fit(*data)
    stopper = dict(model.net_.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_auc" and stopper.lower_is_better is False
    aucs = model.history_[:, "valid_auc"]
    assert stopper.best_epoch_ == int(np.argmax(aucs)) + 1  # first epoch with the highest AUC
    best = aucs[stopper.best_epoch_ - 1]
    assert model.n_epochs_ == 6 or all(a <= best for a in aucs[stopper.best_epoch_:])


# ----------------------------------------------------------------- augmentation
def test_recipe_flips_ct_but_never_xray():
    augmenters = recipe_augmenters()
    assert augmenters["ct"].hflip and not augmenters["xray"].hflip and augmenters[None] is augmenters["xray"]
    x = torch.zeros(1, 8, 8)
    x[..., :4] = 1.0  # left half bright
    flips = {"xray": ScanAugment(degrees=0, translate=0, scale=(1, 1)),
             "ct": ScanAugment(degrees=0, translate=0, scale=(1, 1), hflip=True)}
    torch.manual_seed(0)
    outs = {m: [a(x.clone()) for _ in range(20)] for m, a in flips.items()}
    assert all(torch.equal(o, x) for o in outs["xray"])
    assert any(torch.equal(o, x.flip(-1)) for o in outs["ct"]) and any(torch.equal(o, x) for o in outs["ct"])


def test_brightness_shifts_and_contrast_scales_around_the_mean():
    torch.manual_seed(0)
    x = torch.randn(3, 16, 16)
    bright = ScanAugment(degrees=0, translate=0, scale=(1, 1), brightness=0.5)(x)
    shift = bright - x
    assert torch.allclose(shift, shift.flatten()[0].expand_as(shift), atol=1e-6)
    assert 0 < abs(float(shift.flatten()[0])) <= 0.5
    contrast = ScanAugment(degrees=0, translate=0, scale=(1, 1), contrast=0.5)(x)
    mean = x.mean(dim=(-2, -1), keepdim=True)
    ratio = (contrast - mean) / (x - mean)
    factor = float(ratio.flatten()[0])
    assert torch.allclose(ratio, torch.full_like(ratio, factor), atol=1e-4) and 0.5 <= factor <= 1.5
    assert factor != pytest.approx(1.0)


def test_random_resized_crop_keeps_the_size_and_the_mask_aligned():
    torch.manual_seed(1)
    x = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 32, 32)
    augment = ScanAugment(degrees=0, translate=0, scale=(1, 1), crop_scale=(0.5, 0.6))
    out, mask = augment(x, (x > 511).float())
    assert out.shape == x.shape and mask.shape == x.shape
    assert not torch.equal(out, x)  # zoomed into a crop
    assert torch.equal(mask > 0, out > 511.5) or (mask > 0).float().mean() == pytest.approx(
        (out > 511).float().mean(), abs=0.05)


def test_dataset_applies_each_modality_its_augmentation(data):
    X, y = data
    calls = []
    tag = {"xray": lambda x: calls.append("xray") or x, "ct": lambda x: calls.append("ct") or x}
    dataset = RecipeDataset(X, ScanPreprocessor(32).fit(), y, augment=tag)
    for i in range(len(dataset)):
        dataset[i]
    assert calls == list(X["modality"])


# ----------------------------------------------------------------- memory cache
class _Counting:
    def __init__(self):
        self.inner, self.calls = ScanPreprocessor(16).fit(), 0

    def __call__(self, image, modality=None):
        self.calls += 1
        return self.inner(image, modality)


def test_memory_cache_decodes_once_within_its_bound(data):
    X, _ = data
    counting = _Counting()
    dataset = RecipeDataset(X, counting, cache_bytes=10 * 2**20)
    first = [dataset[i][0] for i in range(len(dataset))]
    first[0].mul_(0)  # an in-place change of a returned tensor must not reach the cache
    second = [dataset[i][0] for i in range(len(dataset))]
    assert counting.calls == len(X)
    assert all(torch.equal(a, b) for a, b in zip(first[1:], second[1:])) and second[0].abs().sum() > 0
    one_image = second[0].numel() * 4
    small = _Counting()
    bounded = RecipeDataset(X, small, cache_bytes=2 * one_image)
    for _ in range(2):
        for i in range(len(bounded)):
            bounded[i]
    assert small.calls == 2 * len(X) - 2 and bounded.preprocessor.nbytes_ == 2 * one_image
    assert isinstance(bounded.preprocessor, MemoryCache) and bounded.preprocessor.calls == small.calls


def test_cache_does_not_change_the_fit(data):
    params = {**COMMON, "max_epochs": 2, "augment": "recipe"}
    cached = ImageClassifier(**params).fit(*data)
    uncached = ImageClassifier(**params, image_cache_mb=0).fit(*data)
    assert _weights_equal(cached, uncached)


@pytest.mark.parametrize("name", ["drenet", "unet"])
def test_the_other_nets_train_with_the_recipe_in_bf16(name, data):
    from tests.nets.test_base import ESTIMATORS

    X, y = data
    model = ESTIMATORS[name](max_epochs=2, precision="bf16", augment="recipe", lr_schedule="cosine",
                             monitor="valid_auc", validation_fraction=0.3).fit(X, y)
    assert model.precision_ == "bf16" and len(_batch_lrs(model)) > 0
    assert dict(model.net_.callbacks_)["early_stopping"].monitor == "valid_auc"
    proba = model.predict_proba(X)
    assert proba.dtype == np.float64 and np.allclose(proba.sum(1), 1.0)
