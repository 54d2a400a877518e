"""What a driver image says about itself (its manifest label) and which references mc takes."""

from __future__ import annotations

import pytest
import yaml

from mc.drivers import images, manifest
from mc.errors import InvalidArgument


def test_the_label_is_the_manifest_without_the_defaults_of_sensitive_variables(tmp_path):
    path = tmp_path / "mc-driver.yaml"
    path.write_text("name: t\nenvironment:\n  - name: TOKEN\n    sensitive: true\n    default: s3cret-default\n"
                    "  - name: REGION\n    default: eu\n")
    text = images.label_text(path, "t")
    assert "s3cret-default" not in text
    parsed = manifest.parse(yaml.safe_load(text), "label")
    assert [(e.name, e.default) for e in parsed.environment] == [("TOKEN", None), ("REGION", "eu")]
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: t  # kept as written\n")
    assert images.label_text(plain, "t") == "name: t  # kept as written\n"
    assert images.label_text(tmp_path / "missing.yaml", "x") == "name: x\n"


@pytest.mark.parametrize("ref", ["registry.example.com/mc-goose:1.2", "127.0.0.1:5000/mc-base:1", "mc-goose",
                                 "r.example/a/b@sha256:" + "0" * 64])
def test_references(ref):
    assert images.check_reference(ref) == ref


@pytest.mark.parametrize("ref", ["Not A Reference", "-rm", "a/../b", "", "x" * 400])
def test_what_is_not_a_reference_is_one_error(ref):
    with pytest.raises(InvalidArgument, match="expected an image reference"):
        images.check_reference(ref)
