"""The object sets have no duplicate pictures, so no split can put a test image in training
(issue 8: 21 byte-identical clip-art pairs, 3 under conflicting labels, leaked into tests)."""

import hashlib

import pytest
import torch

from tlcourse import assets
from tlcourse.assets import deduplicate
from tlcourse.data import few_shot_split, load_dataset


def _digest(img: torch.Tensor) -> str:
    return hashlib.sha256(img.numpy().tobytes()).hexdigest()


def test_deduplicate_keeps_one_copy_and_drops_label_conflicts():
    files = [{"path": "a", "label": "bird", "pixel_sha256": "1"},
             {"path": "b", "label": "bird", "pixel_sha256": "1"},  # same label: keep one
             {"path": "c", "label": "bird", "pixel_sha256": "2"},
             {"path": "d", "label": "mammal", "pixel_sha256": "2"},  # conflict: drop both
             {"path": "e", "label": "fruit", "pixel_sha256": "3"}]
    kept, dropped = deduplicate(files)
    assert [f["path"] for f in kept] == ["a", "e"]
    assert {f["path"]: f["reason"] for f in dropped} == {
        "b": "duplicate of a", "c": "same picture labelled bird and mammal",
        "d": "same picture labelled bird and mammal"}


def test_manifest_is_duplicate_free():
    files = assets.objects_manifest()["files"]
    for key in ("sha256", "pixel_sha256"):
        seen = [f[key] for f in files]
        assert len(seen) == len(set(seen)), f"duplicate {key} in the object manifest"


@pytest.mark.parametrize("domain", ["photo", "clipart"])
def test_no_two_loaded_images_are_equal(domain):
    """Pixel-identical after loading means no split of the pool can leak a test image."""
    data = load_dataset(domain)
    digests = [_digest(x) for x in data.x]
    assert len(digests) == len(set(digests))


def test_no_photo_equals_a_clip_art_image():
    photos = {_digest(x) for x in load_dataset("photo").x}
    assert not photos & {_digest(x) for x in load_dataset("clipart").x}


@pytest.mark.parametrize("domain,k", [("clipart", 8), ("clipart", 1), ("photo", 10), ("photo", 12)])
def test_no_test_image_equals_a_training_image(domain, k):
    data = load_dataset(domain)
    for seed in range(5):
        train, test = few_shot_split(data, k, seed)
        assert not {_digest(x) for x in train.x} & {_digest(x) for x in test.x}


def test_every_profile_fits_the_object_sets():
    """Each experiment's label counts leave every class >= 5 test images (full profile too)."""
    from tlcourse.experiments import domain_shift, fine_tuning, forgetting, mistakes
    from tlcourse.experiments import scratch_vs_transfer as svt

    photo, clip = load_dataset("photo"), load_dataset("clipart")
    for p in ("quick", "full"):
        checks = [(photo, max(svt.PROFILES[p].labels_per_class)),
                  (photo, max(fine_tuning.PROFILES[p].labels_per_class)),
                  (photo, fine_tuning.PROFILES[p].sweep_labels),
                  (photo, forgetting.PROFILES_DRIFT[p].labels_per_class),
                  (photo, mistakes.PROFILES[p].labels_per_class),
                  (photo, max(mistakes.PROFILES[p].few_shot)),
                  (photo, domain_shift.PROFILES[p].source_per_class),
                  (clip, domain_shift.PROFILES[p].source_per_class),
                  (clip, max(domain_shift.PROFILES[p].ks))]
        for data, k in checks:
            few_shot_split(data, k, seed=0)  # raises, naming the class, if k is too large
